"""client.py against a real `uvicorn app:app --app-dir lambda` on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from tests.support import PROJECT_ROOT
from tests.support.drawing import canvas
from tests.support.images import encode


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", "lambda", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if server.poll() is not None:
                pytest.fail(f"uvicorn exited: {server.stderr.read()}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=1) as response:
                    if json.load(response)["status"] == "ok":
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not answer /health within 30 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_client(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "client.py", *arguments], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "DIGITS_API_URL": "http://127.0.0.1:9"})


def test_client_prints_digit_and_confidence(server_url, tmp_path):
    picture = tmp_path / "five.png"
    picture.write_bytes(encode(canvas(5, mode="transparent-black")))
    completed = run_client(str(picture), "--url", server_url)
    assert completed.returncode == 0, completed.stderr
    digit, rest = completed.stdout.split(" ", 1)
    assert digit == "5" and "% confident" in rest


def test_client_sample_draws_the_digit_and_shows_its_label(server_url):
    completed = run_client("--sample", "--url", server_url)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 28
    assert any("@" in line for line in lines)
    label = next(line for line in lines if "label:" in line).split("label:")[1].split()[0]
    answer = next(line for line in lines if "answer:" in line).split("answer:")[1].split()[0]
    assert label in "0123456789" and answer in "0123456789"
    assert ("right" in completed.stdout) == (label == answer)


def test_client_reports_the_apis_refusal_in_one_line(server_url, tmp_path):
    blank = tmp_path / "blank.png"
    blank.write_bytes(encode(np.full((280, 280, 3), 255, np.uint8)))
    completed = run_client(str(blank), "--url", server_url)
    assert completed.returncode == 1
    assert completed.stderr.strip().count("\n") == 0
    assert "422" in completed.stderr and "no digit found" in completed.stderr


def test_client_reports_an_unreadable_file(tmp_path):
    completed = run_client(str(tmp_path / "missing.png"))
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"error: cannot read {tmp_path / 'missing.png'}: No such file or directory"


def test_client_reports_a_server_that_is_down(tmp_path):
    picture = tmp_path / "five.png"
    picture.write_bytes(encode(canvas(5)))
    completed = run_client(str(picture), "--url", f"http://127.0.0.1:{free_port()}")
    assert completed.returncode == 1
    assert completed.stderr.strip().count("\n") == 0 and "cannot reach the API" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_client_needs_a_file_or_sample():
    completed = run_client()
    assert completed.returncode == 2 and "--sample" in completed.stderr
