"""Requests per second of `uvicorn app:app --app-dir lambda` on loopback, with wrk: LiteRT
(what ships) against the same app serving the SavedModel with TensorFlow, in one run.

    .venv/bin/python bench/function_throughput.py [--seconds 10] [--connections 4]

One uvicorn process (one worker, as `make serve` runs it), 127.0.0.1 only, each load
bounded by --seconds. The body is a 280x280 canvas PNG sent raw (Content-Type image/png).
wrk comes from apt (`apt-get install wrk`); without it a small Python client is used and
the table says so.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAVED_MODEL_DIRS = [PROJECT_ROOT / "model" / "saved_model", Path("/tmp/quick/model/saved_model")]

SERVE_TENSORFLOW = r"""
import os
from bench.function_latency import use_saved_model
use_saved_model(os.environ["BENCH_SAVED_MODEL"])
import uvicorn
uvicorn.run("app:app", host="127.0.0.1", port=int(os.environ["BENCH_PORT"]), log_level="warning", access_log=False)
"""

WRK_POST = """
local file = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "image/png"
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(backend: str, saved_model: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "BENCH_PORT": str(port), "BENCH_SAVED_MODEL": saved_model, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if backend == "litert":
        command = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", "lambda", "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "warning", "--no-access-log"]
    else:
        command = [sys.executable, "-c", SERVE_TENSORFLOW]
    # The request log goes to /dev/null: it is written as in production, but not kept.
    server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"{backend} server exited: {server.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return server, url
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit(f"{backend} server did not start within 120 s")


def run_wrk(url: str, path: str, body: Path | None, seconds: int, connections: int, scratch: Path) -> dict:
    command = ["wrk", "--latency", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    env = dict(os.environ)
    if body is not None:
        script = scratch / "post.lua"
        script.write_text(WRK_POST)
        command += ["-s", str(script)]
        env["BENCH_BODY"] = str(body)
    output = subprocess.run([*command, url + path], capture_output=True, text=True, env=env,
                            timeout=seconds + 60).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    latency = {}
    for label, value, unit in re.findall(r"\s+(50|99)%\s+([\d.]+)(us|ms|s)\b", output):
        latency[label] = float(value) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {"rate": rate, "p50": latency.get("50"), "p99": latency.get("99"),
            "errors": int(errors[1]) if errors else 0}


def run_python_client(url: str, path: str, body: Path | None, seconds: int, connections: int) -> dict:
    """Keep-alive connections in threads; slower than wrk, so a floor rather than the rate."""
    host, port = url.removeprefix("http://").split(":")
    payload = body.read_bytes() if body is not None else None
    latencies, errors, stop = [], [0], time.monotonic() + seconds
    lock = threading.Lock()

    def worker():
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            if payload is None:
                connection.request("GET", path)
            else:
                connection.request("POST", path, body=payload, headers={"Content-Type": "image/png"})
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status >= 400:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    return {"rate": len(ordered) / seconds, "p50": statistics.median(ordered),
            "p99": ordered[int(0.99 * (len(ordered) - 1))], "errors": errors[0]}


def load_tool() -> str:
    """What generates the load: wrk where it is installed, else the Python client."""
    return "wrk" if shutil.which("wrk") else "a Python client (wrk not installed)"


def canvas_png(scratch: Path) -> Path:
    """The page's usual request body, a 7 on a transparent 280x280 canvas, as a file in scratch."""
    from tests.support.drawing import canvas
    from tests.support.images import encode

    body = scratch / "seven.png"
    body.write_bytes(encode(canvas(7, mode="transparent-black")))
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    arguments = parser.parse_args()
    saved_model = next((str(path) for path in SAVED_MODEL_DIRS if path.is_dir()), None)
    if saved_model is None:
        sys.exit("no SavedModel for the TensorFlow baseline: run `make train` first")

    scratch = Path(tempfile.mkdtemp(prefix="function-throughput-"))
    body = canvas_png(scratch)
    tool = load_tool()
    print(f"uvicorn, 1 worker, 127.0.0.1, {tool}, {arguments.connections} connections, {arguments.seconds} s each, "
          f"{os.cpu_count()} CPUs shared with the load tool, load average {os.getloadavg()[0]:.1f}\n")

    results = {}
    try:
        for backend in ("litert", "tensorflow"):
            server, url = start_server(backend, saved_model)
            try:
                for label, path, payload in (("GET /health", "/health", None),
                                             ("POST /predict (280x280 PNG)", "/predict", body)):
                    if tool == "wrk":
                        results[backend, label] = run_wrk(url, path, payload, arguments.seconds,
                                                          arguments.connections, scratch)
                    else:
                        results[backend, label] = run_python_client(url, path, payload, arguments.seconds,
                                                                    arguments.connections)
            finally:
                server.terminate()
                server.wait(timeout=30)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"{'':30s}{'LiteRT req/s':>14s}{'TF req/s':>11s}{'ratio':>8s}"
          f"{'LiteRT p50/p99 ms':>20s}{'TF p50/p99 ms':>16s}")
    for label in ("GET /health", "POST /predict (280x280 PNG)"):
        lite, tf = results["litert", label], results["tensorflow", label]
        print(f"{label:30s}{lite['rate']:14.0f}{tf['rate']:11.0f}{lite['rate'] / tf['rate']:7.1f}x"
              f"{lite['p50']:11.2f} /{lite['p99']:6.2f}{tf['p50']:9.2f} /{tf['p99']:6.2f}")
    failed = sum(result["errors"] for result in results.values())
    print(f"\nnon-2xx answers: {failed}")
    print(json.dumps({f"{backend} {label}": result for (backend, label), result in results.items()}))


if __name__ == "__main__":
    main()
