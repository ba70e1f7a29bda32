"""The page's speed and weight, measured in headless Chromium against uvicorn on loopback.

  * in-browser mode, per TF.js backend: loading TF.js and the model, the first inference
    (the page runs it at load to compile the backend's kernels), the first recognition a
    person asks for, and warm recognitions (preprocessing + inference, p50/p90);
  * server mode: the round trip of a recognition (PNG encoding, POST /predict to uvicorn,
    reading the answer), first and warm;
  * the page's weight: what it fetches in each mode, and the files behind it.

    .venv/bin/python bench/web_page.py [--runs 30]

Headless Chromium here has no GPU: its WebGL is SwiftShader, software on the CPU, so the
webgl rows show a floor, not what a phone's GPU does. Timings come from the page itself
(performance.now() around each step), so they are what a person waits for.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import browser as support
from tests.support import servers

DIGIT = 3


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def recognitions(page, runs: int) -> list[float]:
    """Elapsed ms of `runs` recognitions of the drawing on the pad."""
    times = []
    for _ in range(runs):
        if support.recognise(page) != "done":
            raise RuntimeError(page.inner_text("#message"))
        times.append(float(page.get_attribute("#result", "data-elapsed-ms")))
    return times


def fetched_bytes(page) -> dict[str, int]:
    sizes: dict[str, int] = {}

    def keep(response):
        try:
            sizes[response.url] = len(response.body())
        except Exception:  # redirects and aborted requests have no body
            pass

    page.on("response", keep)
    return sizes


def browser_mode(browser, url: str, backend: str | None, runs: int) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        sizes = fetched_bytes(page)
        page.goto(url + ("&backend=" + backend if backend else ""))
        support.wait_until_ready(page)
        page.wait_for_selector("#model-status[data-state='ready']", timeout=support.ANSWER_TIMEOUT_MS)
        status = page.locator("#model-status")
        page.uncheck("#live")
        support.draw_digit(page, DIGIT)
        first, *warm = recognitions(page, runs + 1)
        return {
            "backend": page.evaluate("tf.getBackend()"),
            "load": float(status.get_attribute("data-load-ms")),
            "warm_up": float(status.get_attribute("data-warm-up-ms")),
            "first": first,
            "warm": warm,
            "bytes": sum(sizes.values()),
        }
    finally:
        context.close()


def server_mode(browser, url: str, runs: int) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        sizes = fetched_bytes(page)
        uploads = []
        page.on("request", lambda request: uploads.append(len(request.post_data_buffer or b""))
                if request.url.endswith("/predict") else None)
        page.goto(url)
        support.wait_until_ready(page)
        page.uncheck("#live")
        support.draw_digit(page, DIGIT)
        first, *warm = recognitions(page, runs + 1)
        return {"first": first, "warm": warm, "bytes": sum(sizes.values()), "upload": max(uploads)}
    finally:
        context.close()


def file_sizes(web_dir: Path) -> list[tuple[str, int, int]]:
    rows = []
    groups = {
        "page (index.html, css/, js/)": [web_dir / "index.html", *sorted((web_dir / "css").glob("*")),
                                         *sorted((web_dir / "js").glob("*.js"))],
        "vendor/jquery.min.js": [web_dir / "vendor/jquery.min.js"],
        "vendor/tf.min.js": [web_dir / "vendor/tf.min.js"],
        "model/model.json + weights + card.json": [web_dir / "model/model.json", web_dir / "model/card.json",
                                                   *sorted((web_dir / "model").glob("*.bin"))],
        "model/model.js (from disk)": [web_dir / "model/model.js"],
    }
    for name, paths in groups.items():
        data = b"".join(path.read_bytes() for path in paths)
        rows.append((name, len(data), len(gzip.compress(data, 6))))
    return rows


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).rjust(w) if i else str(c).ljust(w)
                                           for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def ms(value: float) -> str:
    return f"{value:,.1f}"


def kib(value: int) -> str:
    return f"{value / 1024:,.0f} KiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="warm recognitions per row (default 30)")
    args = parser.parse_args()
    reason = support.chromium_missing_reason()
    if reason:
        raise SystemExit(reason)
    from playwright.sync_api import sync_playwright

    web_dir = servers.WEB_DIR
    with servers.api_server(web_dir) as url, sync_playwright() as playwright:
        browser = support.launch_chromium(playwright)
        version = browser.version
        browser_rows = [
            ("served", browser_mode(browser, f"{url}/?mode=browser", backend, args.runs))
            for backend in ("webgl", "cpu")
        ]
        browser_rows.append(("from disk", browser_mode(browser, f"{(web_dir / 'index.html').as_uri()}?mode=browser",
                                                       None, args.runs)))
        server = server_mode(browser, f"{url}/?mode=server", args.runs)
        browser.close()

    print(f"Headless Chromium {version}, {args.runs} warm runs per row, a drawn {DIGIT} on the pad.\n")
    print("In-browser recognition (ms)")
    print(table(
        ["page", "backend", "TF.js + model load", "first inference (at load)", "first recognition",
         "warm p50", "warm p90"],
        [[where, row["backend"], ms(row["load"]), ms(row["warm_up"]), ms(row["first"]),
          ms(statistics.median(row["warm"])), ms(percentile(row["warm"], 0.9))] for where, row in browser_rows]))
    print("\nServer mode: recognition round trip to uvicorn on loopback (ms)")
    print(table(["first", "warm p50", "warm p90", "request body"],
                [[ms(server["first"]), ms(statistics.median(server["warm"])), ms(percentile(server["warm"], 0.9)),
                  f"{server['upload']:,} bytes"]]))
    print("\nWhat the page fetched (measured in Chromium)")
    print(table(["session", "bytes"], [
        ["server mode (page + jQuery)", kib(server["bytes"])],
        ["browser mode, served (adds TF.js + model.json)", kib(browser_rows[1][1]["bytes"])],
        ["browser mode, from disk (adds TF.js + model.js)", kib(browser_rows[2][1]["bytes"])],
    ]))
    print("\nFiles behind it")
    print(table(["files", "bytes", "gzip -6"], [[name, kib(raw), kib(packed)] for name, raw, packed in file_sizes(web_dir)]))


if __name__ == "__main__":
    main()
