"""Every setting and limit of the function, each with its one default, read from the
environment once, at import (pydantic-settings).

Everything else imports `settings` from here: no other module reads os.environ or writes a
limit of its own. Defaults are what `make serve`, `sam local` and the deployed stack need;
template.yaml and the Kubernetes ConfigMap set the rest. Each field's environment variable
is its alias below; an empty variable means the default. A value the function cannot use
stops it at start-up with one line (SettingsError).

The body limits (max_bodies_bytes, body_*_seconds) apply where the function is a server
(uvicorn, the container); on Lambda, API Gateway has received the whole body before the
function runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LAMBDA_DIR = Path(__file__).resolve().parent
MiB = 1024 * 1024


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot use."""


def _whole(default: int, low: int, high: int, variable: str, description: str):
    return Field(default, ge=low, le=high, strict=False, validation_alias=variable, description=description)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, extra="ignore", populate_by_name=True)

    # --- where things are, and who may call ------------------------------------------------
    model_dir: Path = Field(LAMBDA_DIR / "model", validation_alias="DIGITS_MODEL_DIR",
                            description="the folder holding digits.tflite and card.json")
    web_dir: Path = Field(LAMBDA_DIR.parent / "web", validation_alias="DIGITS_WEB_DIR",
                          description="the page served at / (only when it holds index.html)")
    # The page opened from disk sends `Origin: null`, always allowed; `*` allows any.
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        ("null",), validation_alias="ALLOWED_ORIGINS", description="extra CORS origins, comma-separated")
    local_origins: str = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"  # a local dev server, any port

    # --- logs and metrics -------------------------------------------------------------------
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL", "POWERTOOLS_LOG_LEVEL"))
    service: str = Field("digits", validation_alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = Field("DigitsClassifier", validation_alias="POWERTOOLS_METRICS_NAMESPACE")
    # "json": one structured line and the metrics' EMF documents per request, for CloudWatch;
    # "line": one line a person can read, no metrics (`make serve` at a terminal).
    log_format: Literal["json", "line"] = Field("json", validation_alias="DIGITS_LOG_FORMAT",
                                                description="json (Lambda, the container) or line (a terminal)")

    # --- what one request may send ------------------------------------------------------------
    # API Gateway hands binary bodies to Lambda in base64 (4/3 larger) and Lambda takes at most
    # 6 MB per invocation, so 4 MiB is about the largest body that reaches the function at all.
    max_body_bytes: int = _whole(4 * MiB, 1024, 64 * MiB, "DIGITS_MAX_BODY_BYTES", "the largest request body")
    max_batch: int = _whole(256, 1, 4096, "DIGITS_MAX_BATCH", "the most model inputs in one request")
    # The deepest JSON any request needs is {"instances": [[[[n]]]]}: 5 levels.
    max_json_depth: int = _whole(8, 5, 64, "DIGITS_MAX_JSON_DEPTH", "the deepest nesting of a JSON body")
    # Digits in one JSON number: a grey level or a probability never needs more, and Python
    # would otherwise build (and float() refuse) integers of any length.
    max_number_chars: int = _whole(32, 8, 4000, "DIGITS_MAX_NUMBER_CHARS", "the longest number in a JSON body")
    # A multipart form carries the picture in `file`; a browser adds no more than a few fields.
    max_form_fields: int = _whole(10, 1, 1000, "DIGITS_MAX_FORM_FIELDS", "the most fields in a multipart form")

    # --- what one picture may cost to decode (image_limits.py) ---------------------------------
    # A long number written on one line still fits; a 1-pixel-wide strip of 16 million does not.
    max_image_side: int = _whole(8192, 256, 65535, "DIGITS_MAX_IMAGE_SIDE", "the longest side of a picture")
    max_image_pixels: int = _whole(4096 * 4096, 65536, 1 << 28, "DIGITS_MAX_IMAGE_PIXELS",
                                   "the most pixels of a picture (a 16-megapixel photo)")
    max_decode_bytes: int = _whole(64 * MiB, MiB, 1024 * MiB, "DIGITS_MAX_DECODE_BYTES",
                                   "the memory a picture's decoder may hold (a 4096x4096 RGBA picture)")
    # libjpeg writes 10 scans for a progressive colour JPEG, 18 for CMYK; mozjpeg about as many.
    max_jpeg_scans: int = _whole(64, 1, 4096, "DIGITS_MAX_JPEG_SCANS", "the most scans of a JPEG")
    # A 4 MB PNG in the 8 KB chunks encoders write is 512.
    max_png_chunks: int = _whole(20_000, 16, 1_000_000, "DIGITS_MAX_PNG_CHUNKS", "the most chunks of a PNG")
    # Extensions' data blocks before a GIF's first frame: a few in real files.
    max_gif_blocks: int = _whole(1024, 16, 1_000_000, "DIGITS_MAX_GIF_BLOCKS",
                                 "the most extension blocks before a GIF's first frame")

    # --- the server ---------------------------------------------------------------------------------
    cpu_workers: int = _whole(os.cpu_count() or 1, 1, 64, "DIGITS_CPU_WORKERS",
                              "requests decoded and classified at once, in threads beside the event loop")
    # Eight bodies of the largest size: under a stall of many clients, memory stays bounded
    # and /health is answered; the container's ConfigMap sizes it to the pod's memory limit.
    max_bodies_bytes: int = _whole(32 * MiB, 1024, 1024 * MiB, "DIGITS_MAX_BODIES_BYTES",
                                   "body bytes all requests hold at once (beyond: 503, Retry-After)")
    # nginx's client_body_timeout is 60 s between reads; a phone sends a 4 MiB body in a few seconds.
    body_timeout_seconds: int = _whole(10, 1, 600, "DIGITS_BODY_TIMEOUT_SECONDS",
                                       "the longest wait for the next part of a request body (beyond: 408)")
    body_deadline_seconds: int = _whole(60, 1, 3600, "DIGITS_BODY_DEADLINE_SECONDS",
                                        "the longest a whole request body may take to arrive (beyond: 408)")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            value = ("null", *(origin.strip() for origin in value.split(",") if origin.strip()))
        return tuple(dict.fromkeys(value)) if isinstance(value, tuple | list) else value

    @field_validator("log_level", mode="after")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("*", mode="before")
    @classmethod
    def _whole_numbers_in_ascii_digits(cls, value: object, info) -> object:
        """"²" is a digit to Python's str.isdigit and not to int(): only 0-9 make a whole number."""
        if isinstance(value, str) and cls.model_fields[info.field_name].annotation in (int, "int"):
            text = value.strip()
            if not (text.isascii() and text.isdigit() and len(text) <= 18):
                raise ValueError("not a whole number")
            return int(text)
        return value

    @classmethod
    def from_environment(cls) -> Settings:
        try:
            return cls()
        except ValidationError as error:
            raise SettingsError(_first_problem(error)) from None


def _first_problem(error: ValidationError) -> str:
    """'DIGITS_MAX_BATCH='lots': expected a whole number from 1 to 4096', from pydantic's first error."""
    problem = error.errors()[0]
    variable = str(problem["loc"][0]) if problem["loc"] else "a setting"
    field = next((name for name, info in Settings.model_fields.items()
                  if info.validation_alias == variable), None)
    shown = f"{variable}={os.environ.get(variable, problem.get('input'))!r}"  # as typed, before conversion
    if field is not None:
        limits = {type(meta).__name__: meta for meta in Settings.model_fields[field].metadata}
        if "Ge" in limits and "Le" in limits:
            return f"{shown}: expected a whole number from {limits['Ge'].ge} to {limits['Le'].le}"
    return f"{shown}: {problem['msg']}"


settings = Settings.from_environment()
