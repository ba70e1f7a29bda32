"""The one place that turns what went wrong into an HTTP status and a body: `{"detail": ...}`
for the API, `{"error": ...}` under the model-serving protocols' paths (/v1/models, /v2)."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from input_errors import (
    BodyTimeout,
    Busy,
    InputError,
    InvalidInput,
    ProtocolError,
    TooLarge,
    UndecodableInput,
    UnknownModel,
    UnsupportedFormat,
)
from schemas import ErrorMessage
from serving import PROTOCOL_PATHS

# Every refusal of every route, the model-serving protocols' included: the one table of statuses.
STATUS_CODES: dict[type[Exception], int] = {
    ProtocolError: 400,
    UnknownModel: 404,
    UnsupportedFormat: 415,
    UndecodableInput: 400,
    TooLarge: 413,
    InvalidInput: 422,
    BodyTimeout: 408,
    Busy: 503,
}
UNEXPECTED = 500


def is_protocol_path(path: str) -> bool:
    """Whether errors on this path answer in the serving protocols' shape, routing's 404 and 405 included."""
    return path == "/v2" or path.startswith(PROTOCOL_PATHS)


def error_body(path: str, detail: str) -> dict[str, str]:
    return {"error": detail} if is_protocol_path(path) else {"detail": detail}

def responses(*statuses: int, examples: dict[int, Exception] | None = None) -> dict:
    """OpenAPI `responses` for the error statuses a route can answer; `examples`, a refusal of
    each status made by the code that refuses, so /docs shows what the function really says."""
    documented = {}
    for status in statuses:
        documented[status] = {"model": ErrorMessage}
        if examples and status in examples:
            assert status_of(examples[status]) == status, (status, examples[status])
            example = {"detail": str(examples[status])}
            documented[status]["content"] = {"application/json": {"example": example}}
    return documented


def status_of(error: Exception) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_CODES:
            return STATUS_CODES[kind]
    return 422


def describe_validation(errors: list[dict]) -> str:
    """pydantic's error list -> one readable line: 'pixels.3: List should have at least 28 items'."""
    parts = []
    for error in errors[:3]:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = error.get("msg", "invalid value")
        parts.append(f"{location}: {message}" if location else message)
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def error_response(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    request.state.error = detail
    return JSONResponse(error_body(request.url.path, detail), status_code=status, headers=headers)


async def _input_error(request: Request, error: Exception) -> JSONResponse:
    return error_response(request, status_of(error), str(error), getattr(error, "headers", None))


async def _validation_error(request: Request, error: RequestValidationError | ValidationError) -> JSONResponse:
    return error_response(request, 422, describe_validation(list(error.errors())))


async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    """Routing's own 404 and 405: in the serving protocols' shape under their paths."""
    path = request.url.path
    if is_protocol_path(path):
        detail = {404: f"{path} is not a route of this server (see /docs for the /v1 and /v2 routes)",
                  405: f"{request.method} is not allowed on {path}"}.get(error.status_code, str(error.detail))
        request.state.error = detail
        return JSONResponse({"error": detail}, status_code=error.status_code, headers=error.headers)
    return await http_exception_handler(request, error)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ValidationError, _validation_error)


class Unexpected:
    """ASGI middleware, inside CORS: whatever still raises becomes a JSON 500 the page can read.

    Nothing a client sends should get here; if something does, the client gets
    `{"detail": ...}` (`{"error": ...}` under the protocols' paths) with its request id (and
    CORS and the other headers, from the middleware around this one), the connection stays
    up, and the request's one log line names the error instead of a traceback.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:  # the last line of defence, by design
            state = scope.setdefault("state", {})
            state["error"] = f"unexpected {type(error).__name__}: {str(error)[:300]}"
            if started:  # too late for another answer; the log line still says what happened
                return
            request_id = state.get("request_id", "")
            detail = (f"the function failed on this request (request id {request_id}); it has been logged, "
                      "please try again or report the id")
            body = json.dumps(error_body(scope.get("path", ""), detail)).encode()
            await send({"type": "http.response.start", "status": UNEXPECTED,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
