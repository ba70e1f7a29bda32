"""What each request leaves behind, with AWS Lambda Powertools: one structured log line
(Logger) and CloudWatch metrics in the embedded metric format (Metrics), both on stdout,
which Lambda sends to CloudWatch Logs; no AWS API is called. Under uvicorn the same lines
appear on the terminal.

    {"level": "INFO", "message": "POST /predict 200", "service": "digits", "request_id": "...",
     "correlation_id": "...", "cold_start": false, "method": "POST", "path": "/predict",
     "status": 200, "latency_ms": 3.1, "number": "7", "digit": 7, "confidence": 0.998,
     "uncertain": false, "model_version": "..."}

(`digit` only when one digit was read; `confidence` is the answer's top-level one, for a
number its least sure digit's; `uncertain`, whether the model was unsure of any digit.)

At a terminal (`make serve`, DIGITS_LOG_FORMAT=line) each request is one line a person can
read instead, and no metrics are written:

    12:04:31 POST /predict 200 3.1 ms: 2024 (least sure digit 93.1%, sure)

Metrics (namespace POWERTOOLS_METRICS_NAMESPACE, dimension `service`): `Requests` and
`Latency` for every request; `DigitsRead` (the digits in each number read); `Predictions`
by `digit` for answers of one digit; `Uncertain` for every answer with a digit the model is
not sure of; `Errors` by `status`; `ColdStart`.

The request id is Lambda's own (so a line can be found from the invocation) or, outside
Lambda, the caller's X-Request-Id or a new one; responses carry it in X-Request-Id. The
correlation id is API Gateway's request id where there is one, else the request id.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, Metrics, MetricUnit

from settings import settings

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REPORTED = ("number", "digit", "confidence", "uncertain", "instances", "model_version", "error")


class _CurrentStdout:
    """Writes to whatever sys.stdout is at the time (the Lambda runtime and pytest swap it)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


logger = Logger(service=settings.service, level=settings.log_level, stream=_CurrentStdout())
# Lambda's runtime puts its own handler on the root logger, which would write every line twice.
logging.getLogger(settings.service).propagate = False
metrics = Metrics(namespace=settings.metrics_namespace, service=settings.service)
# Metrics with a dimension of their own (digit, status), each flushed as its own EMF document.
# EphemeralMetrics keeps no state between flushes and costs a third less than single_metric.
_by_dimension = EphemeralMetrics(namespace=settings.metrics_namespace, service=settings.service)
_cold = True


def lambda_handler(adapter: Callable[[dict, object], dict]) -> Callable[[dict, object], dict]:
    """The Lambda entry point: Lambda's context (function, cold start) on every log line, then `adapter`."""
    return logger.inject_lambda_context(clear_state=True)(adapter)


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


def _correlation_id(scope: dict, request_id: str) -> str:
    event = scope.get("aws.event")
    if isinstance(event, dict):
        gateway_id = (event.get("requestContext") or {}).get("requestId")
        if gateway_id:
            return str(gateway_id)
    return request_id


def record(line: dict) -> None:
    """Write the request's log line and metrics. Synchronous, so concurrent requests never mix."""
    if settings.log_format == "line":
        print(readable(line), file=sys.stdout, flush=True)
        return
    status = line["status"]
    message = f"{line['method']} {line['path']} {status}"
    if status >= 500:
        logger.error(message, extra=line)
    elif status >= 400:
        logger.warning(message, extra=line)
    else:
        logger.info(message, extra=line)

    metrics.add_metadata("request_id", line["request_id"])
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=line["latency_ms"])
    if line["cold_start"]:
        metrics.add_metric(name="ColdStart", unit=MetricUnit.Count, value=1)
    if line.get("uncertain"):
        metrics.add_metric(name="Uncertain", unit=MetricUnit.Count, value=1)
    if "number" in line:
        metrics.add_metric(name="DigitsRead", unit=MetricUnit.Count, value=len(line["number"]))
    metrics.flush_metrics()
    if "digit" in line:
        _one_metric("Predictions", "digit", str(line["digit"]), line["request_id"])
    if status >= 400:
        _one_metric("Errors", "status", str(status), line["request_id"])


def readable(line: dict) -> str:
    """One request as a person reads it at a terminal:
    `12:04:31 POST /predict 200 3.1 ms: 2024 (least sure digit 93.1%, sure)`."""
    told = f"{time.strftime('%H:%M:%S')} {line['method']} {line['path']} {line['status']} {line['latency_ms']:.1f} ms"
    if "error" in line:
        return f"{told}: {line['error']}"
    if "number" in line:
        sure = "not sure" if line.get("uncertain") else "sure"
        whose = "" if len(line["number"]) == 1 else "least sure digit "
        return f"{told}: {line['number']} ({whose}{line['confidence']:.1%}, {sure})"
    if "instances" in line:
        return f"{told}: {line['instances']} model inputs"
    return told


def _one_metric(name: str, dimension: str, value: str, request_id: str) -> None:
    _by_dimension.add_dimension(name=dimension, value=value)
    _by_dimension.add_metadata("request_id", request_id)
    _by_dimension.add_metric(name=name, unit=MetricUnit.Count, value=1)
    _by_dimension.flush_metrics()


class RequestLog:
    """ASGI middleware: gives each HTTP request its id, times it, and records its outcome.

    Routes add what they learned (digit, confidence, error) to `request.state`.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        global _cold  # once per process, like Lambda's own cold start
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        cold, _cold = _cold, False
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
                "correlation_id": _correlation_id(scope, request_id),
                "cold_start": cold,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            line.update({key: state[key] for key in REPORTED if key in state})
            try:
                record(line)
            except Exception:  # a log line must never fail a request
                logger.exception("could not record the request")
