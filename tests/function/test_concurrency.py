"""Under uvicorn, decoding, preprocessing and the model run in worker threads, so the event
loop keeps answering: /health stays fast while heavy pictures are being recognised.

No wall-clock thresholds: /health's latency under load is compared with what a heavy request
itself takes, measured in the same test (with the work on the event loop, /health would wait
for whole heavy requests to finish).
"""

from __future__ import annotations

import io
import statistics
import threading
import time

import httpx
import pytest
from PIL import Image

from tests.support.drawing import canvas
from tests.support.servers import api_server

HEAVY_CLIENTS = 4


@pytest.fixture(scope="module")
def heavy_png() -> bytes:
    """A 4000x4000 RGB drawing: 16 megapixels to decode (the limit is 4096x4096), 0.3 MB sent."""
    drawing = Image.fromarray(canvas(8, width=400, height=400, stroke=16, mode="black-on-white"))
    buffer = io.BytesIO()
    drawing.resize((4000, 4000), Image.BILINEAR).save(buffer, format="PNG")
    return buffer.getvalue()


def timed_get(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    assert client.get(url).status_code == 200
    return time.perf_counter() - started


def test_health_stays_fast_while_heavy_requests_run(heavy_png):
    with api_server() as url, httpx.Client(timeout=120) as client:
        heavy_times: list[float] = []
        started = time.perf_counter()
        response = client.post(f"{url}/predict", content=heavy_png, headers={"Content-Type": "image/png"})
        heavy_times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        idle = statistics.median(timed_get(client, f"{url}/health") for _ in range(20))

        errors: list[str] = []

        def hammer():
            with httpx.Client(timeout=120) as own:
                for _ in range(3):
                    begun = time.perf_counter()
                    answer = own.post(f"{url}/predict", content=heavy_png, headers={"Content-Type": "image/png"})
                    heavy_times.append(time.perf_counter() - begun)
                    if answer.status_code != 200:
                        errors.append(answer.text)

        workers = [threading.Thread(target=hammer) for _ in range(HEAVY_CLIENTS)]
        for worker in workers:
            worker.start()
        time.sleep(0.05)
        under_load = []
        while any(worker.is_alive() for worker in workers) and len(under_load) < 200:
            under_load.append(timed_get(client, f"{url}/health"))
            time.sleep(0.01)
        for worker in workers:
            worker.join()

    assert not errors
    heavy = statistics.median(heavy_times)
    print(f"heavy request median {heavy * 1000:.0f} ms; /health idle {idle * 1000:.1f} ms, under load median "
          f"{statistics.median(under_load) * 1000:.1f} ms, max {max(under_load) * 1000:.1f} ms "
          f"({len(under_load)} samples)")
    assert len(under_load) >= 5
    # On the event loop, /health would wait for whole heavy requests (several at once): its
    # median would be near `heavy`. Off the loop it waits for the GIL now and then at most.
    assert statistics.median(under_load) < max(heavy / 4, 20 * idle)
    assert max(under_load) < heavy * HEAVY_CLIENTS / 2
