"""`make serve` (scripts/serve.py) as a person at a terminal meets it: a taken port named with
the variable that picks another, and one readable line per request."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import httpx
import pytest

from tests.support import PROJECT_ROOT
from tests.support.servers import free_port, wait_until_healthy

SERVE = [sys.executable, "scripts/serve.py"]
LINE = re.compile(r"^\d\d:\d\d:\d\d (GET|POST) (/\S*) (\d{3}) \d+\.\d ms(: .+)?$")


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    environment = {key: value for key, value in os.environ.items() if key != "DIGITS_LOG_FORMAT"}
    return subprocess.Popen([*SERVE, *args], cwd=PROJECT_ROOT, env={**environment, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_taken_port_is_named_with_the_variable_that_picks_another():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        completed = subprocess.run([*SERVE, "--port", str(port)], cwd=PROJECT_ROOT, capture_output=True,
                                   text=True, timeout=60)
    assert completed.returncode == 1
    assert completed.stderr.strip() == (
        f"error: 127.0.0.1:{port} is already in use by another program; pick another port: "
        f"make serve PORT={port + 1} (or HOST=... for another address)")
    assert "Traceback" not in completed.stderr and completed.stdout == ""


@pytest.mark.parametrize("port", ["0x50", "70000", "²"])
def test_a_port_that_is_not_one_is_refused(port):
    completed = subprocess.run([*SERVE, "--port", port], cwd=PROJECT_ROOT, capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 2
    assert f"{port!r} is not a port: expected a whole number from 1 to 65535" in completed.stderr


def test_each_request_is_one_readable_line(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve("--port", str(port))
    try:
        wait_until_healthy(url, process)
        number = (PROJECT_ROOT / "docs" / "number.png").read_bytes()
        digit = (PROJECT_ROOT / "docs" / "digit.png").read_bytes()
        assert httpx.post(f"{url}/predict", files={"file": ("n.png", number, "image/png")}).status_code == 200
        assert httpx.post(f"{url}/predict", content=digit, headers={"content-type": "image/png"}).status_code == 200
        assert httpx.post(f"{url}/predict", content=b"not a picture",
                          headers={"content-type": "image/png"}).status_code == 400
        assert httpx.get(f"{url}/").status_code == 200
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    lines = out.splitlines()
    assert lines[0] == f"The API and the page: {url}/  (the API's documentation at /docs; Ctrl+C stops)"
    requests = lines[1:]
    assert all(LINE.match(line) for line in requests), out
    assert not any(line.lstrip().startswith("{") for line in out.splitlines() + err.splitlines())  # no JSON, no EMF
    assert not any('"GET ' in line or '"POST ' in line for line in err.splitlines())  # no access line
    answers = [line for line in requests if " /predict " in line]
    assert len(answers) == 3  # one line per request, no duplicate
    assert re.search(r" 200 \d+\.\d ms: 2024 \(least sure digit \d+\.\d%, (not )?sure\)$", answers[0])
    assert re.search(r" 200 \d+\.\d ms: 3 \(\d+\.\d%, sure\)$", answers[1])
    assert LINE.match(answers[2]).group(3) == "400" and "not a readable image" in answers[2]
    assert [LINE.match(line).group(2, 3) for line in requests if " / " in line] == [("/", "200")]


def test_the_log_format_must_be_one_the_function_writes():
    completed = subprocess.run([*SERVE, "--port", str(free_port())], cwd=PROJECT_ROOT, capture_output=True,
                               text=True, timeout=60, env={**os.environ, "DIGITS_LOG_FORMAT": "yaml"})
    assert completed.returncode == 1
    assert "DIGITS_LOG_FORMAT='yaml'" in completed.stderr and "'json' or 'line'" in completed.stderr
