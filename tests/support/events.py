"""Calling the function as Lambda does: API Gateway HTTP API events (shaped as events/ keeps
them) and the context object Lambda passes, for tests and benchmarks that go through
`app.handler` without SAM."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from tests.support import EVENTS_DIR

TEMPLATE = json.loads((EVENTS_DIR / "predict-png.json").read_text())


@dataclass
class LambdaContext:
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    function_name: str = "DigitsFunction"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:DigitsFunction"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def post_event(path: str, body: bytes, headers: dict[str, str]) -> dict:
    """A POST of `body` to `path`, base64-encoded as API Gateway hands binary bodies to Lambda."""
    context = {**TEMPLATE["requestContext"], "http": {**TEMPLATE["requestContext"]["http"], "path": path}}
    headers = {**TEMPLATE["headers"], "content-length": str(len(body)), **headers}
    return {**TEMPLATE, "rawPath": path, "headers": headers, "requestContext": context,
            "body": base64.b64encode(body).decode(), "isBase64Encoded": True}


def body_of(response: dict) -> dict:
    text = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else response["body"]
    return json.loads(text)


def call_handler(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """app.handler's status and JSON answer for a POST."""
    import app

    response = app.handler(post_event(path, body, headers), LambdaContext())
    return response["statusCode"], body_of(response)
