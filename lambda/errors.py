"""The one place that turns what went wrong into an HTTP status and a `{"detail": ...}` body."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from decoding import InputError, InvalidInput, TooLarge, UndecodableInput, UnsupportedFormat
from preprocessing import BlankImageError
from schemas import ErrorMessage

STATUS_CODES: dict[type[Exception], int] = {
    UnsupportedFormat: 415,
    UndecodableInput: 400,
    TooLarge: 413,
    InvalidInput: 422,
    BlankImageError: 422,
}

def responses(*statuses: int) -> dict:
    """OpenAPI `responses` for the error statuses a route can answer."""
    return {status: {"model": ErrorMessage} for status in statuses}


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


def error_response(request: Request, status: int, detail: str) -> JSONResponse:
    request.state.error = detail
    return JSONResponse({"detail": detail}, status_code=status)


async def _input_error(request: Request, error: Exception) -> JSONResponse:
    return error_response(request, status_of(error), str(error))


async def _validation_error(request: Request, error: RequestValidationError | ValidationError) -> JSONResponse:
    return error_response(request, 422, describe_validation(list(error.errors())))


def install(app: FastAPI) -> None:
    for kind in (InputError, BlankImageError):
        app.add_exception_handler(kind, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ValidationError, _validation_error)
