"""The function under hostile pictures: what the worst accepted pictures cost, against the
page's own 280x280 canvas, each measured in a fresh process.

    .venv/bin/python bench/function_hostile.py [--repeats 5] [--baseline REV] [--no-handler]

For every picture, a new Python process loads the function's modules and the model, answers
20 normal canvases (so every lazy start-up cost is paid), and then:

* time: the CPU time (every thread of the process) of the picture's decoding +
  preprocessing + one model call, the median of --repeats (fewer when a picture takes
  seconds), and its ratio to the normal canvas's, the median of 30 calls made by the same
  process just before. CPU time, not wall time: on a machine shared with other jobs,
  waiting for a core would otherwise swamp what is measured;
* peak memory over idle: the process's peak resident set during those calls (VmHWM, its
  mark reset to the current size just before, /proc/self/clear_refs) minus its resident
  set just before them (VmRSS), so it counts everything the picture made the process hold:
  Pillow's decoded image, NumPy's arrays, the model's buffers;
* the same for the whole request through `app.handler` (an API Gateway event carrying
  the picture as a raw body, base64-encoded as API Gateway sends it), unless --no-handler.

--baseline REV measures the function's decoding.py and preprocessing.py as they were at
git revision REV (loaded from a temporary folder, the rest of the function as it is now) in
the same run, for a before/after table; by default the last revision before the
preprocessing was made bounded. Pass --baseline '' to skip it.

Goal: no accepted picture costs more than 100 MB over the idle process or 20x the normal
canvas's time.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for tests.support

from tests.support.drawing import canvas, crossed_hairlines, enlarged

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_DIR = PROJECT_ROOT / "lambda"

BASELINE = "47d7398"  # the last revision before preprocessing worked at a bounded size
MEMORY_GOAL_MB = 100
TIME_GOAL_RATIO = 20


# --- the pictures ----------------------------------------------------------------------------


def encode(image: Image.Image, image_format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def normal_canvas() -> bytes:
    """What the page sends: its 280x280 RGBA canvas as a PNG (events/predict-data-url.json)."""
    event = json.loads((PROJECT_ROOT / "events" / "predict-data-url.json").read_text())
    return base64.b64decode(json.loads(event["body"])["image"].split(",", 1)[1])


def largest_grey() -> bytes:
    """The most pixels accepted, with paper texture so that it compresses badly: about 3.2 MB."""
    picture = 255 - enlarged(8, 4096)
    texture = np.random.default_rng(0).random(picture.shape) < 0.3
    picture[texture] = np.clip(picture[texture].astype(int) - 3, 0, 255)
    return encode(Image.fromarray(picture))


def largest_rgba() -> bytes:
    """A 4096x4096 transparent canvas drawn in black, as a drawing app saves it."""
    return encode(Image.fromarray(enlarged(3, 4096, mode="transparent-black"), "RGBA"))


def hairlines() -> bytes:
    """Two 1-pixel diagonals on a 1024x1024 white canvas (the most decoding hands on unshrunk)."""
    return encode(Image.fromarray(crossed_hairlines(1024, channels=3)), optimize=True)


def sixteen_bit() -> bytes:
    """A 4096x4096 16-bit grey PNG."""
    return encode(Image.fromarray(enlarged(5, 4096).astype(np.uint16) * 257))


def palette() -> bytes:
    """A 4096x4096 palette PNG with a transparent entry (converted to RGBA)."""
    image = Image.fromarray(enlarged(2, 4096)).convert("P")
    return encode(image, transparency=0)


def grey_alpha() -> bytes:
    """A 4096x4096 grey + alpha PNG (Pillow holds it in 4 bytes a pixel)."""
    alpha = Image.fromarray(enlarged(9, 4096))
    return encode(Image.merge("LA", [Image.new("L", alpha.size, 0), alpha]))


def many_frames() -> bytes:
    """A 1000-frame 512x512 GIF: only the first frame may be read."""
    first = Image.fromarray(255 - canvas(4, width=512, height=512, stroke=30)[:, :, 0])
    frames = []
    for index in range(999):
        frame = first.copy()
        frame.putpixel((index % 512, index // 512), 128)
        frames.append(frame)
    return encode(first, "GIF", save_all=True, append_images=frames, duration=20, loop=0)


CASES = {
    "normal canvas, 280x280 RGBA PNG": normal_canvas,
    "largest accepted, 4096x4096 grey PNG": largest_grey,
    "4096x4096 RGBA PNG": largest_rgba,
    "two 1-pixel diagonals, 1024x1024 PNG": hairlines,
    "16-bit grey 4096x4096 PNG": sixteen_bit,
    "palette + transparency 4096x4096 PNG": palette,
    "grey + alpha 4096x4096 PNG": grey_alpha,
    "1000-frame GIF, 512x512": many_frames,
}


# --- one measurement, in a fresh process -------------------------------------------------------

CHILD = r"""
import base64, gc, json, os, re, statistics, sys, time
sys.path[:0] = [os.environ["BENCH_MODULES"], os.environ["BENCH_LAMBDA"]]
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

def status(key):
    return int(re.search(key + r":\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024

import decoding, preprocessing, classifier
model = classifier.load()
normal = open(os.environ["BENCH_NORMAL"], "rb").read()
picture = open(os.environ["BENCH_PICTURE"], "rb").read()

if os.environ["BENCH_PATH"] == "handler":
    import contextlib
    import app
    template = json.load(open(os.environ["BENCH_EVENT"]))

    def event(body):
        return {**template, "body": base64.b64encode(body).decode(), "isBase64Encoded": True,
                "headers": {**template["headers"], "content-length": str(len(body))}}

    class Context:  # what Lambda passes; the request log reads it
        aws_request_id, function_name, memory_limit_in_mb = "bench", "DigitsFunction", 1769
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:DigitsFunction"

        def get_remaining_time_in_millis(self):
            return 5000

    normal_event, picture_event = event(normal), event(picture)
    devnull = open(os.devnull, "w")
    log = os.dup(1)

    def answer(one):
        # The request log writes one line a call: kept (it is part of the cost), sent nowhere.
        os.dup2(devnull.fileno(), 1)
        try:
            with contextlib.redirect_stdout(devnull):
                response = app.handler(one, Context())
        finally:
            os.dup2(log, 1)
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])["digit"]
    normal, picture = normal_event, picture_event
else:
    def answer(data):
        return int(model.predict(preprocessing.to_mnist(decoding.decode_image(data))[None])[0].argmax())

for _ in range(20):
    answer(normal)
normal_times = []
for _ in range(30):  # the yardstick, measured in the same process just before
    started = time.process_time()
    answer(normal)
    normal_times.append(time.process_time() - started)
gc.collect()
idle = status("VmRSS")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak (VmHWM) starts again from the current size
times, walls, digit = [], [], None
while len(times) < int(os.environ["BENCH_REPEATS"]) and (sum(walls) < 3.0 or not times):
    started, started_cpu = time.perf_counter(), time.process_time()
    digit = answer(picture)
    times.append(time.process_time() - started_cpu)
    walls.append(time.perf_counter() - started)
print(json.dumps({"seconds": statistics.median(times), "wall_seconds": statistics.median(walls), "calls": len(times),
                  "peak_mb": status("VmHWM") - idle,
                  "idle_mb": idle, "digit": digit, "normal_seconds": statistics.median(normal_times)}))
"""


def measure(modules: Path, picture: Path, normal: Path, path: str, repeats: int) -> dict:
    env = {**os.environ, "BENCH_MODULES": str(modules), "BENCH_LAMBDA": str(LAMBDA_DIR),
           "BENCH_PICTURE": str(picture), "BENCH_NORMAL": str(normal), "BENCH_PATH": path,
           "BENCH_REPEATS": str(repeats), "BENCH_EVENT": str(PROJECT_ROOT / "events" / "predict-png.json"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, cwd=LAMBDA_DIR)
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1][:60]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def baseline_modules(revision: str, folder: Path) -> Path | None:
    """decoding.py and preprocessing.py as they were at `revision`, in `folder`; None if git cannot tell."""
    folder.mkdir()
    for name in ("decoding.py", "preprocessing.py"):
        shown = subprocess.run(["git", "show", f"{revision}:lambda/{name}"], cwd=PROJECT_ROOT, capture_output=True)
        if shown.returncode != 0:
            print(f"no baseline: git show {revision}:lambda/{name} failed", file=sys.stderr)
            return None
        (folder / name).write_bytes(shown.stdout)
    return folder


# --- the table -----------------------------------------------------------------------------------


def cells(result: dict) -> str:
    if "error" in result:
        return f"{result['error'][:27]:>28s}"
    ratio = result["seconds"] / result["normal_seconds"]
    return f"{result['peak_mb']:7.1f} MB {result['seconds'] * 1000:9.1f} ms {ratio:5.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' for none)")
    parser.add_argument("--no-handler", action="store_true", help="skip the whole-request column")
    arguments = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="function-hostile-"))
    pictures = {}
    for name, build in CASES.items():
        pictures[name] = scratch / f"{len(pictures)}.bin"
        pictures[name].write_bytes(build())
    normal = pictures[next(iter(CASES))]
    baseline = baseline_modules(arguments.baseline, scratch / "baseline") if arguments.baseline else None

    columns = [("now", LAMBDA_DIR, "function")]
    if not arguments.no_handler:
        columns.append(("now, app.handler", LAMBDA_DIR, "handler"))
    if baseline:
        columns.append((f"before ({arguments.baseline})", baseline, "function"))

    print(f"function under hostile pictures, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"each cell: peak memory over the idle process, median CPU time, CPU time / normal canvas's\n")
    print(f"{'picture':40s}{'bytes':>10s}" + "".join(f"{title:>30s}" for title, _, _ in columns))
    results: dict[str, list[dict]] = {}
    for name, picture in pictures.items():
        row = [measure(modules, picture, normal, path, arguments.repeats) for _, modules, path in columns]
        results[name] = row
        print(f"{name:40s}{picture.stat().st_size:>10,d}" + "".join(f"  {cells(result)}" for result in row), flush=True)

    measured = [row[0] for row in results.values() if "error" not in row[0]]
    worst_memory = max(result["peak_mb"] for result in measured)
    worst_ratio = max(result["seconds"] / result["normal_seconds"] for result in measured)
    print(f"\ngoal: every picture under {MEMORY_GOAL_MB} MB over idle -> "
          f"{'met' if worst_memory < MEMORY_GOAL_MB else 'NOT met'} (worst {worst_memory:.0f} MB); "
          f"under {TIME_GOAL_RATIO}x the normal canvas's time -> "
          f"{'met' if worst_ratio < TIME_GOAL_RATIO else 'NOT met'} (worst {worst_ratio:.1f}x)")
    for path in pictures.values():
        path.unlink()


if __name__ == "__main__":
    main()
