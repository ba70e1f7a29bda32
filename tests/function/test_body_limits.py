"""Request bodies under uvicorn: a client that stops sending gets 408 and gives its bytes back,
and no more body bytes are held at once than the budget (beyond it: 503 with Retry-After),
while /health keeps answering. Run against a real server with small limits, over raw sockets,
as a hostile client would send them."""

from __future__ import annotations

import contextlib
import socket
import time

import httpx
import pytest

from tests.support.servers import api_server

TIMEOUT_SECONDS = 1
DEADLINE_SECONDS = 3
BUDGET_BYTES = 1024 * 1024


@pytest.fixture(scope="module")
def server_url():
    settings = {"DIGITS_BODY_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
                "DIGITS_BODY_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
                "DIGITS_MAX_BODIES_BYTES": str(BUDGET_BYTES)}
    with api_server(settings=settings) as url:
        yield url


@contextlib.contextmanager
def partial_request(url: str, declared: int, sent: int, path: str = "/predict", content_type: str = "image/png"):
    """A connection that declares `declared` body bytes, sends `sent` of them and pauses."""
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=30)
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {declared}\r\n\r\n").encode()
    connection.sendall(head + b"\x00" * sent)
    try:
        yield connection
    finally:
        connection.close()


def read_response(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def test_a_stalled_body_gets_408_saying_what_arrived(server_url):
    with partial_request(server_url, declared=200_000, sent=50_000) as connection:
        status, headers, body = read_response(connection)
    assert status == 408, body
    assert b"stopped arriving" in body and b"50,000 of the 200,000 declared" in body
    assert headers["content-type"] == "application/json"


def test_a_body_trickling_past_the_deadline_gets_408(server_url):
    with partial_request(server_url, declared=1000, sent=1) as connection:
        started = time.monotonic()
        with contextlib.suppress(OSError):
            while time.monotonic() - started < DEADLINE_SECONDS + 10:
                connection.sendall(b"\x00")  # a byte well within each read timeout, never the whole body
                time.sleep(TIMEOUT_SECONDS / 4)
        status, _, body = read_response(connection)
    assert status == 408, body
    assert f"did not arrive within {DEADLINE_SECONDS} s".encode() in body


def test_bodies_beyond_the_budget_get_503_with_retry_after_and_health_answers(server_url):
    with partial_request(server_url, declared=BUDGET_BYTES - 1000, sent=10) as holder:
        time.sleep(0.3)  # the holder's reservation is made when the app starts reading its body
        refused = httpx.post(f"{server_url}/predict", content=b"\x00" * 5000, headers={"Content-Type": "image/png"},
                             timeout=30)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert "as many request bodies as it can hold" in refused.json()["detail"]
        serving = httpx.post(f"{server_url}/v2/models/digits/infer", content=b"{" * 5000,
                             headers={"Content-Type": "application/json"}, timeout=30)
        assert serving.status_code == 503 and serving.json()["error"]  # in the protocol's shape
        assert httpx.get(f"{server_url}/health", timeout=30).status_code == 200
        status, _, _ = read_response(holder)  # the holder's body times out, and its bytes are given back
        assert status == 408
    answered = httpx.post(f"{server_url}/predict", content=b"\x00" * 5000, headers={"Content-Type": "image/png"},
                          timeout=30)
    assert answered.status_code == 400, answered.text  # read in full and refused as no image: the budget is free


def test_many_stalled_clients_leave_health_answering(server_url):
    """Twenty clients hold what the budget allows and more ask: /health is answered throughout."""
    share = BUDGET_BYTES // 10
    with contextlib.ExitStack() as stack:
        connections = [stack.enter_context(partial_request(server_url, declared=share, sent=share // 2))
                       for _ in range(20)]
        time.sleep(0.3)
        for _ in range(5):
            assert httpx.get(f"{server_url}/health", timeout=30).status_code == 200
        statuses = sorted(read_response(connection)[0] for connection in connections)
    assert set(statuses) == {408, 503}
    assert statuses.count(408) <= 10  # no more bodies held than the budget covers
