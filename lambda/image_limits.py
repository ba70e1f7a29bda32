"""What a picture may cost to decode, decided from what is cheap to read before decoding it.

A decoder's cost is not the file's size: a few hundred bytes of WebP can unpack to hundreds
of megabytes, a progressive JPEG is held whole as coefficients however much it is shrunk,
and some of Pillow's readers walk a file's structure in pure Python. So before any pixel is
decoded, each picture is checked on what its header declares and on a count of its parts:

* every format: each side and the pixels in all within settings.max_image_side and
  max_image_pixels, and the memory its decoder will hold, estimated from the declared size
  and pixel format, within max_decode_bytes (measured for each format: see decode_bytes);
* WebP: the canvas size from the RIFF header, read here before Pillow opens it, because
  opening a WebP already sets up the decoder for the whole canvas;
* JPEG: at most settings.max_jpeg_scans scans (each scan is a pass over the whole picture);
* PNG: at most settings.max_png_chunks chunks (Pillow reads each in Python);
* GIF: at most settings.max_gif_blocks data blocks before the first frame (Pillow joins a comment's
  blocks one by one, in time that grows with the square of their number);
* BMP: no run-length compression (Pillow decodes it in Python, a pixel at a time).

Every check reads the bytes once, in C or with a bounded loop. Nothing here knows about HTTP.
"""

from __future__ import annotations

import math
import struct

from PIL import Image

from input_errors import InvalidInput, TooLarge, UndecodableInput, UnsupportedFormat
from settings import settings

# Bytes Pillow holds per pixel for each of its modes (RGB takes four, as RGBA does).
PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
WEBP_BYTES_PER_PIXEL = 16  # libwebp's canvas and previous frame, the frame being decoded, Pillow's copy
JPEG_COEFFICIENT_BYTES = 64 * 2  # a progressive JPEG holds every 8x8 block of every component as int16


def sniff(data: bytes) -> str | None:
    """The format the first bytes declare, as Pillow names it; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data.startswith(b"BM"):
        return "BMP"
    return None


def check_structure(kind: str | None, data: bytes) -> None:
    """Refuse a file whose parts would make its decoder slow or large, before Pillow opens it."""
    if kind == "WEBP":
        width, height, animated = webp_canvas(data)
        why = f"WebP is decoded whole, at about {WEBP_BYTES_PER_PIXEL} bytes a pixel"
        check_size("WebP", width, height, width * height * WEBP_BYTES_PER_PIXEL,
                   why + (", and this one is animated" if animated else ""))
    elif kind == "JPEG":
        scans = data.count(b"\xff\xda")  # SOS: 0xFF in entropy-coded data is always followed by 0x00
        if scans > settings.max_jpeg_scans:
            raise InvalidInput(f"the JPEG holds {scans:,} scans, more than any encoder writes (at most "
                               f"{settings.max_jpeg_scans} are accepted); save it again as a baseline JPEG or a PNG")
    elif kind == "PNG":
        _check_png_chunks(data)
    elif kind == "GIF":
        _check_gif_blocks(data)
    elif kind == "BMP":
        _check_bmp_compression(data)


def check_size(what: str, width: int, height: int, decode_bytes: int, why: str) -> None:
    """Each side, the pixel count and the decoder's memory within the limits, or TooLarge saying which."""
    side, pixels, memory = settings.max_image_side, settings.max_image_pixels, settings.max_decode_bytes
    if width < 1 or height < 1:
        raise UndecodableInput(f"the {what} image is empty ({width}x{height})")
    if max(width, height) > side:
        raise TooLarge(f"the {what} image is {width}x{height}; each side may be at most {side:,} pixels "
                       f"(and {pixels:,} pixels in all); it was not decoded")
    if width * height > pixels:
        raise TooLarge(f"the {what} image is {width}x{height} = {width * height:,} pixels; the limit is "
                       f"{pixels:,} ({math.isqrt(pixels)}x{math.isqrt(pixels)}); it was not decoded")
    if decode_bytes > memory:
        most = memory * width * height // decode_bytes
        raise TooLarge(f"the {what} image is {width}x{height}; decoding it would take about "
                       f"{decode_bytes / 2**20:,.0f} MB ({why}), over the limit of {memory // 2**20} MB; "
                       f"send at most {most / 1e6:.1f} megapixels of it ({_example(most, width, height)}), "
                       "or a baseline JPEG or PNG")


def decode_bytes(image: Image.Image, full_size: tuple[int, int]) -> tuple[int, str]:
    """The memory Pillow will hold to decode `image` (opened, JPEG draft already applied), and why.

    full_size is the size the file declares; after a JPEG draft, image.size is the smaller
    size it will be decoded at.
    """
    width, height = image.size
    pixels = width * height * PIXEL_BYTES.get(image.mode, 4)
    if image.format in ("JPEG", "MPO") and image.info.get("progressive"):
        return pixels + _jpeg_coefficients(image, full_size), "a progressive JPEG is held whole while its scans arrive"
    return pixels, f"{PIXEL_BYTES.get(image.mode, 4)} bytes a pixel in {image.mode}"


def _jpeg_coefficients(image: Image.Image, full_size: tuple[int, int]) -> int:
    """A progressive JPEG's coefficient buffers: every 8x8 block of every component, full size."""
    layers = getattr(image, "layer", None) or [(0, 1, 1, 0)] * len(image.getbands())
    most_h = max(layer[1] for layer in layers)
    most_v = max(layer[2] for layer in layers)
    width, height = full_size
    return sum(math.ceil(width * h / most_h / 8) * math.ceil(height * v / most_v / 8) * JPEG_COEFFICIENT_BYTES
               for _, h, v, _ in layers)


def _example(pixels: int, width: int, height: int) -> str:
    scale = math.sqrt(pixels / (width * height))
    return f"{max(1, int(width * scale))}x{max(1, int(height * scale))}, say"


# --- each format's header ----------------------------------------------------------------------------


def webp_canvas(data: bytes) -> tuple[int, int, bool]:
    """(width, height, animated) from a WebP's first chunk: VP8X's canvas, or VP8L's or VP8's frame."""
    chunk, payload = data[12:16], data[20:50]
    if chunk == b"VP8X" and len(payload) >= 10:
        width = int.from_bytes(payload[4:7], "little") + 1
        height = int.from_bytes(payload[7:10], "little") + 1
        return width, height, bool(payload[0] & 0x02)
    if chunk == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        bits = int.from_bytes(payload[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, False
    if chunk == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", payload, 6)
        return width & 0x3FFF, height & 0x3FFF, False
    raise UndecodableInput("the WebP file's header is damaged (no VP8, VP8L or VP8X chunk first)")


def _check_png_chunks(data: bytes) -> None:
    position, chunks = 8, 0
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        chunks += 1
        if chunks > settings.max_png_chunks:
            raise InvalidInput(f"the PNG holds more than {settings.max_png_chunks:,} chunks, more than any encoder "
                               "writes; save it again")
        if kind == b"IEND":
            return
        position += 12 + length


def _check_gif_blocks(data: bytes) -> None:
    """Walk the blocks before the first frame: extensions, each a list of data blocks."""
    flags = data[10] if len(data) > 10 else 0
    position = 13 + (3 << ((flags & 0x07) + 1) if flags & 0x80 else 0)
    blocks = 0
    while position < len(data) and data[position] == 0x21:  # an extension; 0x2C starts the first frame
        position += 2
        while position < len(data) and data[position]:
            blocks += 1
            if blocks > settings.max_gif_blocks:
                raise InvalidInput(f"the GIF holds more than {settings.max_gif_blocks:,} blocks of comments or other "
                                   "extensions before its first frame; save it again without them")
            position += 1 + data[position]
        position += 1


BMP_RUN_LENGTH = {1: "RLE8", 2: "RLE4"}


def _check_bmp_compression(data: bytes) -> None:
    if len(data) >= 34 and struct.unpack_from("<I", data, 14)[0] >= 40:  # BITMAPINFOHEADER or later
        compression = struct.unpack_from("<I", data, 30)[0]
        if compression in BMP_RUN_LENGTH:
            raise UnsupportedFormat(f"run-length-encoded BMPs ({BMP_RUN_LENGTH[compression]}) are not accepted; "
                                    "send an uncompressed BMP, or a PNG")
