"""One JSON line per request on stdout: what CloudWatch keeps and Logs Insights can query.

    {"request_id": "...", "method": "POST", "path": "/predict", "status": 200,
     "latency_ms": 3.1, "digit": 7, "confidence": 0.998, "model_version": "..."}

The request id is Lambda's own (so a line can be found from the invocation) or, outside
Lambda, the caller's X-Request-Id or a new one; responses carry it in X-Request-Id.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

logger = logging.getLogger("digits.requests")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_REPORTED = ("digit", "confidence", "instances", "model_version", "error")


class _StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at the time (the Lambda runtime and pytest swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # a log line must never fail a request
            self.handleError(record)


if not logger.handlers:
    logger.addHandler(_StdoutHandler())
    logger.setLevel(logging.INFO)
    # Lambda's runtime puts its own handler on the root logger, which would prefix the JSON.
    logger.propagate = False


def _request_id(scope: dict) -> str:
    context = scope.get("aws.context")
    if getattr(context, "aws_request_id", None):
        return str(context.aws_request_id)
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _SAFE_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestLog:
    """ASGI middleware: times each HTTP request and logs its outcome as one JSON line.

    Routes add what they learned (digit, confidence, error) to `request.state`.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            line = {
                "request_id": request_id,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            line.update({key: state[key] for key in _REPORTED if key in state})
            logger.info(json.dumps(line))
