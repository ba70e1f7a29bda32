"""The page's speed and weight in headless Chromium, every TF.js backend side by side, with
the page as it was before (the full tf.min.js bundle, float32 model, main thread) measured
in the same run as the baseline.

  * recognition in browser mode: from the press of Recognise to the answer painted on
    screen (two animation frames after the page shows it), the first one after the model
    is ready and warm ones (p50/p90); and how long TF.js and the model take to get ready;
  * bytes transferred in one browser-mode session (a fresh browser context: the page, its
    libraries, the model, the service worker's copies), counted by the server as they leave
    it, as the function serves them today and with gzip;
  * the files behind it.

    .venv/bin/python bench/web_page.py [--runs 30] [--skip-before]

The page is served by the function's own app (lambda/app.py) in this process, wrapped in a
byte counter and, for the gzip column, Starlette's GZipMiddleware. Headless Chromium here
has no GPU: its WebGL is SwiftShader, software on the CPU, so the webgl rows are a floor,
not what a phone's GPU does.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import logging
import statistics
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path

from tests.support import PROJECT_ROOT, servers
from tests.support import browser as support

DIGIT = 3
# The page before browser mode moved to WebAssembly: its web/ and the full TF.js bundle.
BEFORE_COMMIT = "47d7398"
BEFORE_BUNDLE = PROJECT_ROOT / "node_modules/@tensorflow/tfjs/dist/tf.min.js"

# One press of Recognise, timed in the page: from the click to the answer in the page
# (`shown`) and to the frame that paints it (`screen`); and the inference alone, as the
# classifier measured it (in the worker, where it runs there).
TIME_ONE_RECOGNITION = """async () => {
  const result = document.querySelector('#result');
  const before = Number(result.dataset.answers || 0);
  let shown = null;
  const answered = new Promise((resolve, reject) => {
    const observer = new MutationObserver(() => {
      if (result.dataset.state === 'error') {
        observer.disconnect();
        reject(new Error(document.querySelector('#message').textContent));
      } else if (Number(result.dataset.answers || 0) > before) {
        shown = performance.now();
        observer.disconnect();
        resolve();
      }
    });
    observer.observe(result, { attributes: true });
  });
  const started = performance.now();
  document.querySelector('#recognise').click();
  await answered;
  // The next frame's callbacks run just before it is painted with the answer.
  await new Promise((resolve) => requestAnimationFrame(resolve));
  return {
    screen: performance.now() - started,
    shown: shown - started,
    inference: Number(result.dataset.inferenceMs) || null,
  };
}"""


class ByteCounter:
    """ASGI middleware: counts the body bytes every response sends (after compression)."""

    def __init__(self, app):
        self.app, self.sent, self.paths = app, 0, []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def counting_send(message):
            if message["type"] == "http.response.body":
                self.sent += len(message.get("body", b""))
            await send(message)

        self.paths.append(scope["path"])
        return await self.app(scope, receive, counting_send)

    def reset(self):
        self.sent, self.paths = 0, []


@contextlib.contextmanager
def serve(web_dir: Path, *, compress: bool, plain: bool = False):
    """The function's app serving `web_dir` on a free port, in a thread; yields (url, counter).
    `plain`: only Starlette's StaticFiles (as the function served the page before its
    security headers, whose policy the old full TF.js bundle does not meet)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.staticfiles import StaticFiles

    if plain:
        application = Starlette()
        application.mount("/", StaticFiles(directory=web_dir, html=True))
    else:
        import app as function_app

        application = function_app.create_app(web_dir)
    counter = ByteCounter(GZipMiddleware(application, minimum_size=500) if compress else application)
    port = servers.free_port()
    server = uvicorn.Server(uvicorn.Config(counter, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", counter
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def before_web_dir(scratch: Path) -> Path | None:
    """web/ as it was at BEFORE_COMMIT, with the full TF.js bundle it loaded."""
    archive = subprocess.run(["git", "archive", BEFORE_COMMIT, "web"], cwd=PROJECT_ROOT, capture_output=True)
    if archive.returncode != 0 or not BEFORE_BUNDLE.is_file():
        return None
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(scratch, filter="data")
    vendor = scratch / "web/vendor"
    vendor.mkdir(exist_ok=True)
    (vendor / "tf.min.js").write_bytes(BEFORE_BUNDLE.read_bytes())
    (vendor / "jquery.min.js").write_bytes((PROJECT_ROOT / "web/vendor/jquery.min.js").read_bytes())
    return scratch / "web"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def browser_session(browser, url: str, counter: ByteCounter | None, runs: int, *, service_workers="allow") -> dict:
    """A fresh visit in browser mode: wait for the model, draw, then time `runs` + 1 presses."""
    context = browser.new_context(viewport=support.LAPTOP, service_workers=service_workers)
    try:
        page = context.new_page()
        if counter:
            counter.reset()
        started = time.perf_counter()
        page.goto(url)
        support.wait_until_ready(page)
        page.wait_for_selector("#model-status[data-state='ready']", timeout=support.ANSWER_TIMEOUT_MS)
        ready_s = time.perf_counter() - started
        status = page.locator("#model-status")
        page.uncheck("#live")
        support.draw_digit(page, DIGIT)
        timings = [page.evaluate(TIME_ONE_RECOGNITION) for _ in range(runs + 1)]
        times = [timing["screen"] for timing in timings]
        if page.inner_text("#output") != str(DIGIT):
            raise RuntimeError(f"{url}: the page read a {page.inner_text('#output')}, not a {DIGIT}")
        # Let the service worker finish its copies before counting the bytes.
        if service_workers == "allow" and page.evaluate("'serviceWorker' in navigator && isSecureContext"):
            page.evaluate("Promise.race([navigator.serviceWorker.ready, new Promise(r => setTimeout(r, 30000))])")
        backend = status.get_attribute("data-backend") or page.evaluate("window.tf && tf.getBackend()")
        return {
            "backend": backend,
            "where": status.get_attribute("data-where") or "page",
            "load": float(status.get_attribute("data-load-ms")) + float(status.get_attribute("data-warm-up-ms")),
            "ready": ready_s * 1000,
            "first": times[0],
            "warm": times[1:],
            "shown": [timing["shown"] for timing in timings[1:]],
            "inference": [timing["inference"] for timing in timings[1:] if timing["inference"] is not None],
            "bytes": counter.sent if counter else None,
        }
    finally:
        context.close()


def file_sizes(web_dir: Path) -> list[tuple[str, int, int]]:
    vendor = web_dir / "vendor"
    groups = {
        "page (index.html, css/, js/, sw.js, manifest, icons)": [
            web_dir / "index.html", web_dir / "sw.js", web_dir / "manifest.webmanifest",
            *sorted((web_dir / "css").glob("*")), *sorted((web_dir / "js").glob("*.js")),
            *sorted((web_dir / "icons").glob("*"))],
        "jQuery": [vendor / "jquery.min.js"],
        "TF.js core + converter": [vendor / "tf-core.es2017.min.js", vendor / "tf-converter.es2017.min.js"],
        "WebAssembly backend (JS + SIMD .wasm)": [vendor / "tf-backend-wasm.es2017.min.js",
                                                  vendor / "tfjs-backend-wasm-simd.wasm"],
        "WebGL backend (fallback)": [vendor / "tf-backend-webgl.es2017.min.js"],
        "CPU backend (fallback)": [vendor / "tf-backend-cpu.es2017.min.js"],
        "model (model.json + weights + card.json)": [web_dir / "model/model.json", web_dir / "model/card.json",
                                                     *sorted((web_dir / "model").glob("*.bin"))],
        "model/model.js (from disk)": [web_dir / "model/model.js"],
    }
    rows = []
    for name, paths in groups.items():
        data = b"".join(path.read_bytes() for path in paths if path.is_file())
        rows.append((name, len(data), len(gzip.compress(data, 6))))
    return rows


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        return "| " + " | ".join(str(c).rjust(w) if i else str(c).ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def ms(value: float) -> str:
    return f"{value:,.1f}"


def kib(value: int | None) -> str:
    return "-" if value is None else f"{value / 1024:,.0f} KiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="warm recognitions per row (default 30)")
    parser.add_argument("--skip-before", action="store_true", help="do not measure the page as it was before")
    args = parser.parse_args()
    reason = support.chromium_missing_reason()
    if reason:
        raise SystemExit(reason)
    from playwright.sync_api import sync_playwright

    web_dir = servers.WEB_DIR
    rows = []  # (page, row)
    # The function logs every request as a JSON line; the tables are what this prints.
    logging.disable(logging.CRITICAL)
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch, \
            contextlib.redirect_stdout(io.StringIO()):
        browser = support.launch_chromium(playwright)
        version = browser.version
        with serve(web_dir, compress=True) as (url, counter):
            for backend in ("wasm", "webgl", "cpu"):
                rows.append(("served, gzip", browser_session(browser, f"{url}/?mode=browser&backend={backend}",
                                                             counter, args.runs)))
        with serve(web_dir, compress=False) as (url, counter):
            rows.append(("served, as today", browser_session(browser, f"{url}/?mode=browser", counter, args.runs)))
        rows.append(("from disk", browser_session(browser, f"{(web_dir / 'index.html').as_uri()}?mode=browser",
                                                  None, args.runs)))
        old_dir = None if args.skip_before else before_web_dir(Path(scratch))
        if old_dir:
            with serve(old_dir, compress=False, plain=True) as (url, counter):
                for backend in ("cpu", "webgl"):
                    rows.append((f"before ({BEFORE_COMMIT}), as served then",
                                 browser_session(browser, f"{url}/?mode=browser&backend={backend}", counter,
                                                 args.runs)))
            with serve(old_dir, compress=True, plain=True) as (url, counter):
                rows.append((f"before ({BEFORE_COMMIT}), gzip",
                             browser_session(browser, f"{url}/?mode=browser&backend=cpu", counter, args.runs)))
        browser.close()

    print(f"Headless Chromium {version}, {args.runs} warm runs per row, a drawn {DIGIT} on the pad.\n")
    print("Browser mode: press of Recognise to the answer on screen (ms), the answer in the page and the")
    print("inference alone (warm p50); bytes of one fresh visit, counted by the server")
    print(table(
        ["page", "backend", "runs in", "ready after (load + warm-up)", "first", "warm p50", "warm p90",
         "in page p50", "inference p50", "transferred"],
        [[where, row["backend"], row["where"], f"{ms(row['ready'])} ({ms(row['load'])})", ms(row["first"]),
          ms(statistics.median(row["warm"])), ms(percentile(row["warm"], 0.9)), ms(statistics.median(row["shown"])),
          ms(statistics.median(row["inference"])) if row["inference"] else "-", kib(row["bytes"])]
         for where, row in rows]))
    served = {row["backend"]: row for where, row in rows if where == "served, gzip"}
    if {"wasm", "cpu"} <= served.keys():
        for what, key in (("on screen", "warm"), ("inference", "inference")):
            wasm, cpu = statistics.median(served["wasm"][key]), statistics.median(served["cpu"][key])
            print(f"\nWebAssembly / CPU backend, warm p50 {what}, same page: {wasm / cpu:.2f}x (goal: at most 0.2x)",
                  end="")
        print()
    print("\nFiles behind it")
    print(table(["files", "bytes", "gzip -6"],
                [[name, kib(raw), kib(packed)] for name, raw, packed in file_sizes(web_dir)]))


if __name__ == "__main__":
    main()
