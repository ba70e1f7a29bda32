"""Servers the tests start: the API (and the page) under uvicorn on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import PROJECT_ROOT

# The function serves the page from DIGITS_WEB_DIR and its model from DIGITS_MODEL_DIR when
# set (a staging copy, say); the tests open the same page from disk.
WEB_DIR = Path(os.environ.get("DIGITS_WEB_DIR") or PROJECT_ROOT / "web")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def api_server(web_dir: Path = WEB_DIR, startup_timeout: float = 120.0, model_dir: Path | None = None,
               settings: dict[str, str] | None = None):
    """uvicorn serving the API and the page on a free loopback port (the model from
    model_dir, else as the tests' environment says; `settings`, extra environment variables);
    yields its URL."""
    port = free_port()
    env = {**os.environ, "DIGITS_WEB_DIR": str(web_dir), **(settings or {})}
    if model_dir is not None:
        env["DIGITS_MODEL_DIR"] = str(model_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", "lambda", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, startup_timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until `url`/health answers 200; RuntimeError, with what the server wrote on stderr, if the
    process exits first or the time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{process.stderr.read()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}/health did not answer within {timeout:.0f} s")
        time.sleep(0.2)
