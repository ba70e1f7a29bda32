"""Write events/*.json: API Gateway HTTP API (payload 2.0) events for each request form.

Each starts from `sam local generate-event apigateway http-api-proxy` (the shape API
Gateway sends) and gets the route, headers and body of one request, so tests can call
`app.handler` exactly as Lambda does, and `sam local invoke -e events/X.json` works too.

    .venv/bin/python -m scripts.make_events   # or: make events
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support import EVENTS_DIR, PROJECT_ROOT
from tests.support.drawing import canvas
from tests.support.images import encode

SAM = Path(sys.executable).with_name("sam")
BOUNDARY = "----digit-upload-7MA4YWxkTrZu0gW"


def multipart(field: str, filename: str, content_type: str, data: bytes) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def generated(method: str, path: str) -> dict:
    """The event SAM generates for this method and path."""
    completed = subprocess.run(
        [str(SAM), "local", "generate-event", "apigateway", "http-api-proxy", "--method", method, "--path",
         path.lstrip("/")], capture_output=True, text=True, check=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
    return json.loads(completed.stdout)


def event(name: str, method: str, path: str, content_type: str | None, body: bytes | None) -> dict:
    sample = generated(method, path)
    sample["routeKey"] = sample["requestContext"]["routeKey"] = "ANY /{proxy+}"
    sample["rawPath"] = sample["requestContext"]["http"]["path"] = path
    sample["rawQueryString"] = ""
    sample.pop("queryStringParameters", None)
    sample.pop("cookies", None)
    sample.pop("stageVariables", None)
    sample["pathParameters"] = {"proxy": path.lstrip("/")}
    sample["requestContext"]["requestId"] = f"event-{name}"
    sample["requestContext"]["http"]["userAgent"] = "curl/8.5.0"
    sample["requestContext"].pop("authentication", None)
    sample["requestContext"].pop("authorizer", None)
    headers = {"accept": "*/*", "host": sample["requestContext"]["domainName"], "user-agent": "curl/8.5.0"}
    if content_type:
        headers["content-type"] = content_type
    if body is None:
        sample.pop("body", None)
        sample["isBase64Encoded"] = False
    else:
        headers["content-length"] = str(len(body))
        # HTTP APIs pass text bodies as they are and everything else in base64.
        if content_type == "application/json":
            sample["body"], sample["isBase64Encoded"] = body.decode(), False
        else:
            sample["body"], sample["isBase64Encoded"] = base64.b64encode(body).decode(), True
    sample["headers"] = headers
    return sample


def events() -> dict[str, dict]:
    seven = encode(canvas(7, mode="transparent-black"))
    three = encode(canvas(3, width=200, height=200, stroke=13))
    four = canvas(4, width=28, height=28, size=20, stroke=2.5, mode="white-on-black")
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, format="PNG")
    return {
        "predict-multipart": event("predict-multipart", "POST", "/predict", f"multipart/form-data; boundary={BOUNDARY}",
                                   multipart("file", "seven.png", "image/png", seven)),
        "predict-png": event("predict-png", "POST", "/predict", "image/png", three),
        "predict-data-url": event("predict-data-url", "POST", "/predict", "application/json", json.dumps(
            {"image": "data:image/png;base64," + base64.b64encode(seven).decode()}).encode()),
        "predict-pixels": event("predict-pixels", "POST", "/predict", "application/json",
                                json.dumps({"pixels": four.tolist()}).encode()),
        "serving-predict": event("serving-predict", "POST", "/v1/models/digits:predict", "application/json",
                                 json.dumps({"instances": [np.round(four / 255, 4).tolist()]}).encode()),
        "health": event("health", "GET", "/health", None, None),
        "model": event("model", "GET", "/model", None, None),
        "error-unsupported-type": event("error-unsupported-type", "POST", "/predict", "text/plain", b"seven"),
        "error-blank-canvas": event("error-blank-canvas", "POST", "/predict", "image/png",
                                    encode(np.zeros((280, 280, 4), dtype=np.uint8))),
        "error-decompression-bomb": event("error-decompression-bomb", "POST", "/predict", "image/png",
                                          bomb.getvalue()),
        "error-bad-base64": event("error-bad-base64", "POST", "/predict", "application/json",
                                  b'{"image": "data:image/png;base64,not base64 at all!"}'),
        "error-nested-json": event("error-nested-json", "POST", "/predict", "application/json",
                                   b'{"pixels": ' + b"[" * 1000 + b"]" * 1000 + b"}"),
    }


def main() -> None:
    EVENTS_DIR.mkdir(exist_ok=True)
    made = events()
    for name, sample in made.items():
        (EVENTS_DIR / f"{name}.json").write_text(json.dumps(sample, indent=2) + "\n")
    for stale in set(EVENTS_DIR.glob("*.json")) - {EVENTS_DIR / f"{name}.json" for name in made}:
        stale.unlink()
    print(f"wrote {len(made)} events to {EVENTS_DIR.relative_to(PROJECT_ROOT)}/")


if __name__ == "__main__":
    main()
