"""Every way a request can be refused because of what the client sent, as exceptions free of HTTP.

Each class is one kind of refusal; errors.py maps each to its status code, for every route
and protocol, in one table. The messages are sentences a person can act on: what was wrong,
and what is accepted.
"""

from __future__ import annotations


class InputError(ValueError):
    """The request cannot be answered because of what the client sent."""

    # Extra response headers the refusal asks for (Retry-After, say).
    headers: dict[str, str] = {}  # noqa: RUF012 (read-only class default; instances set their own)


class UnsupportedFormat(InputError):
    """A content type or image format the function does not read."""


class UndecodableInput(InputError):
    """Bytes, base64, text or JSON that cannot be decoded."""


class TooLarge(InputError):
    """A body or an image over the stated limits."""


class InvalidInput(InputError):
    """Well-formed input with the wrong shape or values."""


class BlankImageError(InvalidInput):
    """The picture holds no digit (blank canvas, or only faint marks)."""

    def __init__(self, message: str = "no digit found: the image is blank or holds only faint marks"):
        super().__init__(message)


class TooManyDigits(InvalidInput):
    """A picture holding more digits, or separate marks, than one number may have."""

    def __init__(self, found: int, most: int, what: str = "digits"):
        super().__init__(f"the picture holds {found} separate {what}; at most {most} digits are read at a time: "
                         f"send a number of up to {most} digits, or ask for one digit (?read=digit)")


class ProtocolError(InputError):
    """A model-serving request (/v1, /v2) its protocol refuses: a field missing or of the wrong type."""


class UnknownModel(InputError):
    """A model, version or signature that is not served here."""


class BodyTimeout(InputError):
    """The client stopped sending its body before the end it declared."""


class Busy(InputError):
    """The server holds as many request bodies as it may at once: try again shortly."""

    def __init__(self, message: str, retry_after_seconds: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_seconds)}


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
