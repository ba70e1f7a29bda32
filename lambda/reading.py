"""What a request's body holds, read within the limits: the bytes, JSON, a multipart form,
and the numbers in `pixels`, each refused with a sentence in the API's words.

Nothing here knows about routes; every refusal is an `InputError` (input_errors.py) that
errors.py maps to its status. Every scan of a body here is linear in its length.
"""

from __future__ import annotations

import json
import math
import re
from typing import NamedTuple

import numpy as np
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from input_errors import InvalidInput, TooLarge, UndecodableInput, megabytes
from settings import settings

# What the depth count keeps of a JSON text: quotes and brackets.
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'"[]{}')
_DEPTH_CHUNK = 1 << 17  # bytes counted at a time: memory stays a few MB, and each step brief
# An escaped UTF-16 surrogate (half of an emoji, say): JSON allows it, Python keeps a lone one
# as a character no text can be encoded with.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def whole_number(text: str | None) -> int | None:
    """A header's whole number in ASCII digits, else None (str.isdigit also takes "²", which int refuses)."""
    return int(text) if text is not None and ASCII_DIGITS.fullmatch(text.strip()) else None


def check_body_size(size: int) -> None:
    if size > settings.max_body_bytes:
        raise too_large(size)


def too_large(size: int) -> TooLarge:
    limit = settings.max_body_bytes
    return TooLarge(f"the request body is {size:,} bytes ({megabytes(size)}); the limit is {limit:,} bytes "
                    f"({megabytes(limit)}): send a smaller picture")


async def read_body(request: Request) -> bytes:
    """The whole body, refused with 413 as soon as it is known to exceed the limit.

    The body limits (body_limits.py) bound how long each read may wait and how many bytes all
    requests hold at once; here the chunks are kept and joined once.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        size = whole_number(declared)
        if size is None:
            raise UndecodableInput(f"Content-Length {declared[:30]!r} is not a whole number of bytes")
        check_body_size(size)
    chunks, received = [], 0
    async for chunk in request.stream():
        received += len(chunk)
        check_body_size(received)
        chunks.append(chunk)
    return b"".join(chunks)


class Structure(NamedTuple):
    depth: int  # how deeply arrays and objects nest
    open_string: bool  # the text ends inside a string: it cannot be JSON


def json_structure(body: bytes) -> Structure:
    """How deeply arrays and objects nest in a JSON text (strings skipped), and whether it
    ends inside a string, without parsing it.

    Linear in the body, and in NumPy a chunk at a time, so memory stays a few MB and the
    GIL is free between and during the steps (`/health` is answered meanwhile). A pattern
    that matched strings one by one either backtracked (12 s for 64 KB of escaped quotes) or,
    as re.sub, held about 84 bytes per string (170 MB for 4 MB of quotes); deleting escapes
    with bytes.replace held the GIL for 15 ms on 4 MB of them.
    """
    if b"\\" not in body:  # no escapes (a data URL, numbers): only quotes and brackets matter
        return _brackets_outside_strings(body.translate(None, _NOT_STRUCTURE), escapes=False)
    return _brackets_outside_strings(body, escapes=True)


def _brackets_outside_strings(text: bytes, escapes: bool) -> Structure:
    depth = deepest = 0
    in_string = escaping = False  # escaping: the chunk before ended in an odd run of backslashes
    last_plain = -1  # where the last byte that is not a backslash was
    for start in range(0, len(text), _DEPTH_CHUNK):
        codes = np.frombuffer(text, dtype=np.uint8, count=min(_DEPTH_CHUNK, len(text) - start), offset=start)
        quotes = codes == ord('"')
        if escapes:
            # A byte is escaped when an odd run of backslashes ends just before it.
            positions = np.arange(start, start + len(codes))
            backslashes = codes == ord("\\")
            plain = np.maximum(np.maximum.accumulate(np.where(backslashes, -1, positions)), last_plain)
            odd_run = ((positions - plain) & 1).astype(bool)  # the run of backslashes ending here
            quotes[0] &= not escaping
            quotes[1:] &= ~odd_run[:-1]
            escaping, last_plain = bool(odd_run[-1]), int(plain[-1])
        # after each byte, whether a string is open: the parity of the quotes so far
        inside = np.bitwise_xor.accumulate(quotes) ^ in_string
        opens = (codes == ord("[")) | (codes == ord("{"))
        closes = (codes == ord("]")) | (codes == ord("}"))
        steps = np.where(inside, 0, opens.astype(np.int32) - closes)
        levels = np.cumsum(steps, dtype=np.int64) + depth
        deepest = max(deepest, int(levels.max()))
        depth, in_string = int(levels[-1]), bool(inside[-1])
    return Structure(deepest, in_string)


def _number_too_long(text: str) -> None:
    if len(text) > settings.max_number_chars:
        shown = text if len(text) <= 20 else f"{text[:12]}...({len(text)} characters)"
        raise UndecodableInput(f"the JSON holds a number too large to be a pixel or a probability: {shown} "
                               f"(at most {settings.max_number_chars} characters)")


def _integer(text: str) -> int:
    _number_too_long(text)
    return int(text)


def _real(text: str) -> float:
    _number_too_long(text)
    value = float(text)
    if not math.isfinite(value):
        raise UndecodableInput(f"the JSON holds {text}, which is too large for a number (it overflows to infinity)")
    return value


def _constant(name: str):
    raise UndecodableInput(f"the body is not valid JSON: {name} is not a number JSON allows")


def parse_json(body: bytes) -> object:
    """A JSON document no deeper than the requests need and with no oversized numbers."""
    depth, open_string = json_structure(body)
    if open_string:  # refused here, so the parser does not hold the GIL scanning it (15 ms for 4 MB)
        raise UndecodableInput("the body is not valid JSON: a string is not closed before the end of the body")
    if depth > settings.max_json_depth:
        raise UndecodableInput(f"the JSON nests arrays and objects {depth:,} levels deep; requests need at most "
                               f"{settings.max_json_depth}")
    try:
        text = body.decode("utf-8-sig")  # a byte-order mark is allowed, and dropped
    except UnicodeDecodeError as error:
        raise UndecodableInput(f"the body is not valid JSON: byte {error.start:,} is not UTF-8, as JSON must "
                               "be") from None
    try:
        document = json.loads(text, parse_int=_integer, parse_float=_real, parse_constant=_constant)
    except UndecodableInput:
        raise
    except (ValueError, RecursionError) as error:
        raise UndecodableInput(f"the body is not valid JSON: {error}") from None
    if _ESCAPED_SURROGATE.search(body):  # rare: only then is the whole document checked
        _refuse_lone_surrogates(document)
    return document


def _refuse_lone_surrogates(document: object) -> None:
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise UndecodableInput("the JSON holds a string with a lone UTF-16 surrogate (an escape such as \\ud800 "
                               "without its pair), which is not text; send valid Unicode") from None


async def form_file(headers: Headers, body: bytes) -> bytes:
    """The file in the multipart form field `file`."""
    async def chunks():
        yield body

    parser = MultiPartParser(headers, chunks(), max_files=1, max_fields=settings.max_form_fields)
    # The body is in memory already: the file stays there too instead of spilling to /tmp
    # past 1 MB (in the container a 16 MiB tmpfs, which a few uploads at once would fill).
    parser.spool_max_size = settings.max_body_bytes
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise UndecodableInput(f"the multipart form cannot be read: {error.message}") from None
    upload = form.get("file")
    if not form:
        raise UndecodableInput("the multipart form holds no fields; is the boundary in Content-Type right?")
    if upload is None:
        raise InvalidInput(f"the multipart form has no field `file`; fields sent: {', '.join(form.keys())}"
                           " (curl -F 'file=@digit.png' ...)")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("the form field `file` must be a file upload, not text (curl -F 'file=@digit.png' ...)")
    return await upload.read()


# --- numbers in JSON -----------------------------------------------------------------------


def describe(value: object) -> str:
    """A JSON value as a person would name it in a sentence."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return f"the string {json.dumps(value[:20] + ('...' if len(value) > 20 else ''))}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return json.dumps(value)


def _is_number(value: object) -> bool:
    return type(value) in (int, float)  # not bool, which JSON keeps apart


def square_of_numbers(value: object, name: str, size: int, highest: float, numbers_are: str) -> np.ndarray:
    """`size` rows of `size` numbers from 0 to `highest` -> float64 (size, size).

    `numbers_are` names the numbers in the messages ("grey levels from 0 (black) to 255 (white)").
    """
    expected = f"{size} rows of {size} {numbers_are}"
    if not isinstance(value, list):
        raise InvalidInput(f"{name} must be {expected}; got {describe(value)}")
    if len(value) != size:
        raise InvalidInput(f"{name} has {len(value)} rows; expected {expected}")
    flat: list[object] = []
    for row_index, row in enumerate(value):
        if not isinstance(row, list):
            raise InvalidInput(f"{name}[{row_index}] is {describe(row)}, not a row; expected {expected}")
        if len(row) != size:
            raise InvalidInput(f"{name}[{row_index}] has {len(row)} numbers; expected {expected}")
        flat.extend(row)
    for index, item in enumerate(flat):
        if _is_number(item):
            continue
        where = f"{name}[{index // size}][{index % size}]"
        raise InvalidInput(f"{where} is {describe(item)}; expected {numbers_are}")
    numbers = np.asarray(flat, dtype=np.float64)
    outside = np.flatnonzero((numbers < 0) | (numbers > highest))
    if outside.size:
        index = int(outside[0])
        raise InvalidInput(f"{name}[{index // size}][{index % size}] is {flat[index]}; expected {numbers_are}")
    return numbers.reshape(size, size)


def pixels(value: object, size: int) -> np.ndarray:
    """`{"pixels": ...}`: size x size grey levels 0-255, white digit on black -> uint8 (size, size)."""
    levels = square_of_numbers(value, "pixels", size, 255, "grey levels from 0 (black) to 255 (white)")
    return np.rint(levels).astype(np.uint8)
