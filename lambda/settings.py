"""Every setting of the function, read from the environment once, at import.

Everything else imports `settings` from here: no other module reads os.environ. Defaults are
what `make serve`, `sam local` and the deployed stack need; template.yaml sets the rest.

| variable | default | what |
|---|---|---|
| DIGITS_MODEL_DIR | lambda/model | the folder holding digits.tflite and card.json |
| DIGITS_WEB_DIR | web/ beside lambda/ | the page served at / (only when it holds index.html) |
| ALLOWED_ORIGINS | (none) | extra CORS origins, comma-separated (`*` for any); `null` and localhost always |
| LOG_LEVEL (or POWERTOOLS_LOG_LEVEL) | INFO | the request log's level |
| POWERTOOLS_SERVICE_NAME | digits | `service` in every log line and metric |
| POWERTOOLS_METRICS_NAMESPACE | DigitsClassifier | the CloudWatch metrics namespace |
| DIGITS_MAX_BODY_BYTES | 4194304 (4 MiB) | the largest request body |
| DIGITS_MAX_BATCH | 256 | the most model inputs in one request |
| DIGITS_CPU_WORKERS | number of CPUs | requests decoded and classified at once, in threads beside the event loop |
| DIGITS_MAX_BODIES_BYTES | 33554432 (32 MiB) | body bytes all requests hold at once (beyond: 503, Retry-After) |
| DIGITS_BODY_TIMEOUT_SECONDS | 10 | the longest wait for the next part of a request body (beyond: 408) |
| DIGITS_BODY_DEADLINE_SECONDS | 60 | the longest a whole request body may take to arrive (beyond: 408) |

The last three apply where the function is a server (uvicorn, the container); on Lambda, API
Gateway has received the whole body before the function runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

LAMBDA_DIR = Path(__file__).resolve().parent


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot use."""


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 18) or not low <= int(text) <= high:
        raise SettingsError(f"{name}={text!r}: expected a whole number from {low} to {high}")
    return int(text)


def _origins(text: str) -> tuple[str, ...]:
    return tuple(origin.strip() for origin in text.split(",") if origin.strip())


@dataclass(frozen=True)
class Settings:
    model_dir: Path
    web_dir: Path
    # The page opened from disk sends `Origin: null`; a local dev server, localhost with a port.
    allowed_origins: tuple[str, ...]
    local_origins: str = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
    log_level: str = "INFO"
    service: str = "digits"
    metrics_namespace: str = "DigitsClassifier"
    # API Gateway hands binary bodies to Lambda in base64 (4/3 larger) and Lambda takes at most
    # 6 MB per invocation, so 4 MiB is about the largest body that reaches the function at all.
    max_body_bytes: int = 4 * 1024 * 1024
    max_batch: int = 256
    # The deepest JSON any request needs is {"instances": [[[[n]]]]}: 5 levels.
    max_json_depth: int = 8
    # Digits in one JSON number: a grey level or a probability never needs more, and Python
    # would otherwise build (and float() refuse) integers of any length.
    max_number_chars: int = 32
    cpu_workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Eight bodies of the largest size: under a stall of many clients, memory stays bounded
    # and /health is answered; the container's ConfigMap sizes it to the pod's memory limit.
    max_bodies_bytes: int = 8 * 4 * 1024 * 1024
    # nginx's client_body_timeout is 60 s between reads; a phone sends a 4 MiB body in a few seconds.
    body_timeout_seconds: int = 10
    body_deadline_seconds: int = 60

    @classmethod
    def from_environment(cls) -> Settings:
        environ = os.environ
        origins = ("null", *_origins(environ.get("ALLOWED_ORIGINS", "")))
        return cls(
            model_dir=Path(environ.get("DIGITS_MODEL_DIR") or LAMBDA_DIR / "model"),
            web_dir=Path(environ.get("DIGITS_WEB_DIR") or LAMBDA_DIR.parent / "web"),
            allowed_origins=tuple(dict.fromkeys(origins)),
            log_level=(environ.get("LOG_LEVEL") or environ.get("POWERTOOLS_LOG_LEVEL") or "INFO").upper(),
            service=environ.get("POWERTOOLS_SERVICE_NAME") or "digits",
            metrics_namespace=environ.get("POWERTOOLS_METRICS_NAMESPACE") or "DigitsClassifier",
            max_body_bytes=_whole_number("DIGITS_MAX_BODY_BYTES", cls.max_body_bytes, 1024, 64 * 1024 * 1024),
            max_batch=_whole_number("DIGITS_MAX_BATCH", cls.max_batch, 1, 4096),
            cpu_workers=_whole_number("DIGITS_CPU_WORKERS", os.cpu_count() or 1, 1, 64),
            max_bodies_bytes=_whole_number("DIGITS_MAX_BODIES_BYTES", cls.max_bodies_bytes, 1024, 1024**3),
            body_timeout_seconds=_whole_number("DIGITS_BODY_TIMEOUT_SECONDS", cls.body_timeout_seconds, 1, 600),
            body_deadline_seconds=_whole_number("DIGITS_BODY_DEADLINE_SECONDS", cls.body_deadline_seconds, 1, 3600),
        )


settings = Settings.from_environment()
