"""What clients send, turned into pixels: image files, data URLs, base64, pixel arrays.

Nothing here knows about HTTP. Every way a request can be wrong raises an `InputError`
subclass whose message a person can act on; errors.py maps each class to its status.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import math
import re
import warnings
from struct import error as struct_error

import numpy as np
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    JpegImagePlugin,
    MpoImagePlugin,
    PngImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

import image_limits
from input_errors import TooLarge, UndecodableInput, UnsupportedFormat
from settings import settings

# Only the readers for the accepted formats, imported at start-up so the first request does not pay;
# importing a plugin registers it with Image.open. MPO is how Pillow names a phone's JPEG that
# carries a second picture (a depth or gain map): the first picture is an ordinary JPEG.
READERS = (BmpImagePlugin, GifImagePlugin, JpegImagePlugin, MpoImagePlugin, PngImagePlugin, WebPImagePlugin)
# A PNG's text chunks are kept in memory as they are decompressed: 64 MB by Pillow's default.
PngImagePlugin.MAX_TEXT_CHUNK = PngImagePlugin.MAX_TEXT_MEMORY = 256 * 1024

# Larger pictures are shrunk by a whole factor before preprocessing so memory stays small;
# the 28x28 result cannot tell the difference.
MAX_SIDE = 1024

IMAGE_TYPES = {  # media type -> Pillow format
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
    "image/gif": "GIF",
}
FORMATS = [*IMAGE_TYPES.values(), "MPO"]  # what Image.open may return
ORIENTATION = 0x0112  # the EXIF tag
MEDIA_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/x-ms-bmp": "image/bmp", "image/x-png": "image/png"}
SUPPORTED = "PNG, JPEG, WebP, BMP or GIF"
UNREADABLE = f"the data is not a readable image; send {SUPPORTED}"


def media_type(content_type: str | None) -> str:
    """'Image/PNG; charset=x' -> 'image/png' (aliases resolved); '' when absent."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return MEDIA_TYPE_ALIASES.get(kind, kind)


def decode_image(data: bytes) -> np.ndarray:
    """PNG, JPEG, WebP, BMP or GIF (first frame) bytes -> uint8 H x W, H x W x 3 or H x W x 4."""
    return decode_picture(data)[0]


def decode_picture(data: bytes) -> tuple[np.ndarray, tuple[int, int]]:
    """The pixels (upright, shrunk by a whole factor to at most MAX_SIDE a side) and the size
    of the picture as sent, upright: (width, height), what boxes are given in.

    What decoding will cost is decided from the header (image_limits) before any pixel is
    decoded, so a small file that would expand to gigabytes, or take minutes, is refused cheaply.
    """
    if not data:
        raise UndecodableInput("the image is empty (0 bytes)")
    image_limits.check_structure(image_limits.sniff(data), data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(IMAGE_TYPES.values()))  # MPO opens as JPEG
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = settings.max_image_pixels
        raise TooLarge(f"the image has more pixels than the limit of {limit:,} ({_side(limit)}x{_side(limit)}); "
                       "it was not decoded") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct_error):
        raise UndecodableInput(UNREADABLE) from None

    if image.format not in FORMATS:
        raise UnsupportedFormat(f"{image.format} images are not supported; send {SUPPORTED}")
    what = "JPEG" if image.format == "MPO" else image.format
    full_size = image.size
    try:
        if what == "JPEG":
            # Lets the decoder skip detail a 28x28 result cannot use.
            image.draft(image.mode, (MAX_SIDE, MAX_SIDE))
    except (OSError, ValueError):
        raise UndecodableInput("the JPEG image is truncated or corrupt") from None
    memory, why = image_limits.decode_bytes(image, full_size)
    image_limits.check_size(what, *full_size, memory, why)

    try:
        orientation = image.getexif().get(ORIENTATION, 1)  # photos taken sideways
        image.load()  # a GIF's or MPO's first frame only: the others are never read
        pixels = _shrunk_8_bit(image, math.ceil(max(image.size) / MAX_SIDE))
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError, struct_error):
        raise UndecodableInput(f"the {what} image is truncated or corrupt") from None
    if orientation in TRANSPOSE:  # on the shrunk pixels, so it never copies a full-size picture
        pixels = np.asarray(Image.fromarray(pixels).transpose(TRANSPOSE[orientation]))
    width, height = full_size
    return pixels, ((height, width) if orientation in SIDEWAYS else (width, height))


# EXIF orientation -> the transposition that shows the picture upright
TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}
SIDEWAYS = {5, 6, 7, 8}  # orientations that swap width and height
BAND_PIXELS = 1 << 20  # pixels converted at a time: a band of rows of at most 4 MB in RGBA


def _shrunk_8_bit(image: Image.Image, factor: int) -> np.ndarray:
    """Grey, RGB or RGBA uint8 pixels, keeping transparency wherever the file has it,
    averaged over factor x factor blocks (Pillow's reduce) when factor > 1.

    Other modes (16-bit grey, palette, grey with alpha, 1-bit) are converted a band of rows
    at a time, each band shrunk before the next, so no full-size copy is ever made; so is
    RGBA, which Pillow premultiplies by alpha, in a full-size copy, to shrink it.
    """
    mode = _8_bit_mode(image)
    if image.mode == mode and (factor == 1 or mode != "RGBA"):
        return np.asarray(image.reduce(factor) if factor > 1 else image)
    width, height = image.size
    band = factor * max(1, BAND_PIXELS // (width * factor))  # whole blocks of rows
    channels = len(mode)
    shrunk = np.empty((-(-height // factor), -(-width // factor), channels), dtype=np.uint8)
    levels = _grey_levels(image)
    for top in range(0, height, band):
        piece = image.crop((0, top, width, min(top + band, height)))
        if levels:  # 16- and 32-bit grey: shrunk as 32-bit integers, then brought to 8 bits
            piece = piece.convert("I") if piece.mode != "I" else piece
            piece = levels(piece.reduce(factor) if factor > 1 else piece)
        else:
            piece = piece.convert(mode) if piece.mode != mode else piece
            piece = np.asarray(piece.reduce(factor) if factor > 1 else piece)
        shrunk[top // factor:top // factor + piece.shape[0]] = piece.reshape(piece.shape[0], -1, channels)
    return shrunk[:, :, 0] if channels == 1 else shrunk


def _8_bit_mode(image: Image.Image) -> str:
    if image.mode in ("L", "RGB", "RGBA"):
        return image.mode
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return "L"
    if image.mode in ("LA", "La", "PA", "RGBa") or "transparency" in image.info:
        return "RGBA"
    if image.mode in ("1", "P") and image.palette is None:
        return "L"
    return "RGB"


def _grey_levels(image: Image.Image):
    """For 16- and 32-bit grey, a function from a band (as "I") to its 8-bit levels; else None.

    16-bit levels are scaled by 257 (65535 -> 255); 32-bit ones too when any exceeds 255.
    """
    if image.mode.startswith("I;16"):
        table = _sixteen_bit_table()
        return lambda piece: table[np.asarray(piece)]
    if image.mode == "I":
        scale = 257.0 if image.getextrema()[1] > 255 else 1.0
        return lambda piece: np.clip(np.rint(np.asarray(piece) / scale), 0, 255).astype(np.uint8)
    return None


@functools.cache
def _sixteen_bit_table() -> np.ndarray:
    """8-bit level of each 16-bit one, built on first use so cold starts do not pay for it."""
    return np.rint(np.arange(65536) / 257).astype(np.uint8)


def _side(pixels: int) -> int:
    return math.isqrt(pixels)


_DATA_URL = re.compile(r"^data:(?P<header>[^,]*),(?P<data>.*)$", re.DOTALL | re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def decode_base64_image(text: str) -> bytes:
    """A data URL (`data:image/png;base64,...`) or bare base64 -> the image file's bytes."""
    match = _DATA_URL.match(text.strip())
    if match:
        parameters = [part.strip().lower() for part in match["header"].split(";")]
        kind = MEDIA_TYPE_ALIASES.get(parameters[0], parameters[0])
        if "base64" not in parameters[1:]:
            raise UndecodableInput("the data URL is not base64-encoded; expected data:image/png;base64,...")
        if kind and kind not in IMAGE_TYPES:
            raise UnsupportedFormat(f"the data URL holds {kind}; send {', '.join(IMAGE_TYPES)}")
        text = match["data"]
    compact = _WHITESPACE.sub("", text)
    if not compact:
        raise UndecodableInput("the image is empty (no base64 data)")
    if "-" in compact or "_" in compact:
        compact = compact.translate(str.maketrans("-_", "+/"))
    compact = compact.rstrip("=")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise UndecodableInput("the image is not valid base64 (nor a base64 data URL)") from None
