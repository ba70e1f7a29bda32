"""Hostile pictures: the files a security review found to be small to send and expensive to
decode, rebuilt here as bytes so tests and benchmarks can send them without shipping files.

Every picture is within the function's pixel limit (4096 x 4096 = 16,777,216 pixels), so a
check of declared dimensions alone lets them through; what each costs comes from how
Pillow 12.2 decodes it: a full canvas per WebP, a row pointer per PNG row, every DCT
coefficient of a progressive JPEG held at once and decoded once per scan, BMP run-length
data decoded in Python. Each builder is deterministic (fixed seeds) and the slow ones are
built once per process (functools.cache; the bytes are immutable, so sharing is safe).

PICTURES names them all, with the page's own canvas first for comparison.
"""

from __future__ import annotations

import functools
import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from tests.support.drawing import canvas, crossed_hairlines, enlarged
from tests.support.images import encode

SEED = 0
PIXEL_LIMIT = 4096 * 4096  # settings.max_image_pixels: every picture here is just within it


SIGNATURES = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"),
              (b"BM", "image/bmp"))


def media_type(picture: bytes) -> str:
    """The Content-Type a client would send with `picture`, from its first bytes."""
    if picture[:4] == b"RIFF" and picture[8:12] == b"WEBP":
        return "image/webp"
    return next(kind for signature, kind in SIGNATURES if picture.startswith(signature))


def _saved(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def normal_canvas() -> bytes:
    """What the page sends, for comparison: its 280x280 RGBA canvas with a 7 drawn in black, as a PNG."""
    return encode(canvas(7, mode="transparent-black"))


# --- WebP ----------------------------------------------------------------------------------------


@functools.cache
def tiny_lossless_webp() -> bytes:
    """A 16383x1024 lossless WebP of under 1 KB: white with 20 black dots.

    16383 is WebP's largest side. A flat lossless picture compresses to almost nothing,
    yet libwebp decodes it into a full 4-byte-a-pixel canvas (64 MB) and Pillow copies
    that into an RGB image of the same size. The dots (seeded) keep it from being
    trivially flat, as the review's 724-byte file was.
    Measured (Pillow 12.2, open + load): 256 MB over idle, 0.14 s of CPU."""
    width, height = 16383, 1024
    picture = np.full((height, width), 255, dtype=np.uint8)
    rng = np.random.default_rng(SEED)
    picture[rng.integers(0, height, 20), rng.integers(0, width, 20)] = 0
    return _saved(Image.fromarray(picture), "WEBP", lossless=True)


@functools.cache
def large_webp() -> bytes:
    """A 4096x4096 lossy WebP of a big 8 on black, about 47 KB.

    The most pixels accepted, in a format that has no grey mode: libwebp decodes it to
    RGB at full size and Pillow holds it in 4 bytes a pixel (64 MB) before anything can
    shrink it.
    Measured (Pillow 12.2, open + load): 256 MB over idle, 0.15 s of CPU."""
    return _saved(Image.fromarray(enlarged(8, 4096)), "WEBP", quality=80)


@functools.cache
def animated_webp(frames: int = 4) -> bytes:
    """An animated lossless WebP of `frames` 4096x4096 frames, about 7 KB: the page's 280x280
    digit in the middle of a white canvas, and a black dot that moves along the top edge
    from frame to frame.

    Only the first frame is stored whole and the others as the few pixels that changed,
    so the file is small, but libwebp's animation decoder (which Pillow uses for every
    WebP) keeps the whole canvas and the previous one in RGBA, 64 MB each, and Pillow
    copies the frame into an image of its own; reading a later frame means decoding
    every frame before it. Slow to build (libwebp compares whole frames: about half a
    second each), hence the cache.
    Measured (Pillow 12.2, open + load of the first frame): 256 MB over idle, 0.15 s of CPU."""
    side = 4096
    first = Image.new("L", (side, side), 255)
    first.paste(Image.fromarray(255 - canvas(3, mode="white-on-black")), ((side - 280) // 2, (side - 280) // 2))
    pictures = []
    for index in range(frames):
        picture = first.copy()
        picture.putpixel((16 * index, 0), 0)
        pictures.append(picture.convert("RGB"))
    # method=4: Pillow's default for animations (0) stores each frame some 30 KB larger
    return _saved(pictures[0], "WEBP", save_all=True, append_images=pictures[1:], lossless=True, method=4,
                  duration=100, loop=0)


# --- PNG -----------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


PNG_COLOUR_TYPES = {"L": 0, "RGB": 2, "RGBA": 6}  # mode -> PNG colour type, 8 bits a channel


@functools.cache
def tall_png(width: int, height: int, mode: str) -> bytes:
    """A `width` x `height` PNG in `mode` ("L", "RGB" or "RGBA"), every byte of every pixel 0
    (black; transparent in RGBA), written by hand: Pillow would need the whole picture in
    memory to save it.

    Zeros compress about 1000:1 (other levels repeat less evenly in RGBA's 5-byte rows), so
    1 x 16,777,216 pixels take 32 KB in grey, 65 KB in RGB and 81 KB in RGBA. Decoding one
    costs a call of the PNG filter per row (16 million of them), and Pillow keeps a pointer
    per row (8 bytes, 128 MB) next to the rows themselves.
    Measured at 1 x 16,777,216 (Pillow 12.2, open + load): 144 MB over idle and 0.4 s of CPU
    in grey, 192 MB and 0.4 s in RGB or RGBA."""
    channels = len(mode)
    row = bytes(1 + width * channels)  # filter type 0 (None), then the pixels
    rows_at_once = max(1, (1 << 20) // len(row))  # about 1 MB of raw rows per call to the compressor
    compressor = zlib.compressobj(9)
    compressed = []
    for start in range(0, height, rows_at_once):
        compressed.append(compressor.compress(row * min(rows_at_once, height - start)))
    compressed.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, PNG_COLOUR_TYPES[mode], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", b"".join(compressed))
            + _png_chunk(b"IEND", b""))


# --- JPEG ----------------------------------------------------------------------------------------


@functools.cache
def progressive_jpeg(mode: str = "RGB") -> bytes:
    """A 4096x4096 progressive JPEG of a big 4 (black on white) in `mode` ("RGB", saved 4:4:4,
    i.e. subsampling=0, or "CMYK"), with the scans libjpeg writes by default (10 for RGB,
    18 for CMYK): about 220 KB in RGB, 400 KB in CMYK, mostly the DC scans, which code
    every block even when the picture is flat.

    A progressive decoder must keep every DCT coefficient of the picture until the last
    scan: 2 bytes x 16 million pixels x 3 or 4 full-size components = 96 or 128 MB, on
    top of the decoded picture; shrinking while decoding (draft) saves only the output.
    Measured (Pillow 12.2, open + load): 193 MB over idle and 0.25 s of CPU in CMYK,
    161 MB and 0.17 s in RGB."""
    picture = Image.fromarray(255 - enlarged(4, 4096)).convert(mode)
    options = {"subsampling": 0} if mode == "RGB" else {}
    return _saved(picture, "JPEG", progressive=True, **options)


STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7: no length follows
SOS, EOI = 0xDA, 0xD9


def _jpeg_segments(data: bytes) -> list[bytes]:
    """A JPEG split into SOI, each marker segment (a scan with its entropy-coded data) and EOI,
    in one pass: entropy data ends at the first FF not followed by 00 (a stuffed byte) or a
    restart marker."""
    segments, position = [data[:2]], 2
    while position < len(data):
        if data[position] != 0xFF:
            raise ValueError(f"no marker at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker == EOI or marker in STANDALONE_MARKERS:
            end = position + 2
        else:
            end = position + 2 + int.from_bytes(data[position + 2:position + 4], "big")
        if marker == SOS:
            end = data.find(b"\xff", end)
            while end != -1 and (data[end + 1] == 0x00 or data[end + 1] in STANDALONE_MARKERS):
                end = data.find(b"\xff", end + 2)
            end = len(data) if end == -1 else end
        segments.append(data[position:end])
        position = end
        if marker == EOI:
            break
    return segments


def _is_ac_scan(segment: bytes) -> bool:
    if segment[1] != SOS:
        return False
    components = segment[4]
    spectral_start = segment[5 + 2 * components]  # Ss, after Ns and a (Cs, Td/Ta) pair per component
    return spectral_start > 0


@functools.cache
def _flat_progressive_grey() -> bytes:
    return _saved(Image.new("L", (4096, 4096), 128), "JPEG", progressive=True, quality=90)


@functools.cache
def repeated_scan_jpeg(target_bytes: int = 430_000) -> bytes:
    """A 4096x4096 grey progressive JPEG whose first AC scan is repeated until the file is
    about `target_bytes` long (the review: 430 KB -> 16.5 s of CPU, 1 MB -> 37 s).

    The picture is flat, so the scan is a header and a few bytes of end-of-band runs, yet
    libjpeg walks all 262,144 blocks of the picture for each copy: thousands of full passes
    for a few hundred KB. Repeating a first AC scan only rewrites the same coefficients,
    which libjpeg accepts with a warning Pillow does not raise. The copies go just before
    the original, after the Huffman tables it uses.
    Measured (Pillow 12.2, open + load, 430 KB, 11,039 scans): 49 MB over idle, 10 s of CPU."""
    segments = _jpeg_segments(_flat_progressive_grey())
    first_ac = next(index for index, segment in enumerate(segments) if _is_ac_scan(segment))
    scan = segments[first_ac]
    plain = b"".join(segments)
    copies = max(0, (target_bytes - len(plain)) // len(scan))
    return b"".join(segments[:first_ac]) + scan * copies + b"".join(segments[first_ac:])


# --- BMP -----------------------------------------------------------------------------------------


BI_RLE8 = 1  # BITMAPINFOHEADER compression: 8-bit run-length encoding


@functools.cache
def rle8_bmp(width: int = 4096, height: int = 4096) -> bytes:
    """A `width` x `height` 8-bit BMP compressed with RLE8, each row one black pixel and an
    end-of-line escape (4 bytes a row): about 17 KB at 4096x4096.

    Pillow decodes run-length BMPs in Python, and pads each row ended early one byte and
    one loop turn at a time: 16 million turns of a Python loop for 4096 rows.
    Measured (Pillow 12.2, open + load): 48 MB over idle, 1.5 s of CPU."""
    palette = b"".join(bytes((level, level, level, 0)) for level in range(256))  # grey ramp, as BGRX
    pixels = (b"\x01\x00" + b"\x00\x00") * height + b"\x00\x01"  # run of 1 pixel, end of line; end of bitmap
    offset = 14 + 40 + len(palette)
    file_header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    info_header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, BI_RLE8, len(pixels), 2835, 2835, 256, 0)
    return file_header + info_header + palette + pixels


# --- GIF and PNG built of many small parts -------------------------------------------------------


def _small_gif() -> bytes:
    return _saved(Image.fromarray(255 - canvas(1, width=64, height=64, stroke=6)[:, :, 0]), "GIF")


def _gif_blocks_before_first_frame(data: bytes) -> int:
    flags = data[10]
    return 13 + (3 << ((flags & 0x07) + 1) if flags & 0x80 else 0)


@functools.cache
def gif_with_long_comment(blocks: int = 16_000, block_size: int = 255) -> bytes:
    """A 64x64 GIF with a comment of `blocks` data blocks before its frame: about 4 MB at the
    default, or 2 MB of 1-byte blocks with block_size=1.

    Pillow joins a comment's blocks by adding each to what it has read (a copy of the whole
    comment so far every time): time that grows with the square of the number of blocks.
    Measured (Pillow 12.2, through the function before its structure check): 7.2 s of CPU for
    16,000 blocks of 255 bytes, 23 s for a million 1-byte blocks."""
    small = _small_gif()
    start = _gif_blocks_before_first_frame(small)
    comment = b"\x21\xfe" + (bytes([block_size]) + b"c" * block_size) * blocks + b"\x00"
    return small[:start] + comment + small[start:]


@functools.cache
def png_with_many_chunks(chunks: int = 300_000) -> bytes:
    """A 28x28 PNG with `chunks` empty private chunks before its pixels: 3.6 MB at the default.

    Pillow reads each chunk in a turn of a Python loop.
    Measured (Pillow 12.2, through the function before its structure check): 0.6 s of CPU."""
    header = struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + bytes(28) for _ in range(28)))
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"abCd", b"") * chunks
            + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b""))


# --- all of them, by name --------------------------------------------------------------------------

# What the function must refuse, each with the status it answers: 413 for what would cost too
# much memory, 415 for an encoding it does not read, 422 for a structure no encoder writes.
REFUSED: dict[str, tuple[Callable[[], bytes], int]] = {
    "lossless WebP 16383x1024, ~900 bytes": (tiny_lossless_webp, 413),
    "lossy WebP 4096x4096, ~47 KB": (large_webp, 413),
    "animated WebP, 4 frames of 4096x4096, ~7 KB": (animated_webp, 413),
    "PNG 1x16777216 grey, ~32 KB": (functools.partial(tall_png, 1, PIXEL_LIMIT, "L"), 413),
    "PNG 1x16777216 RGB, ~65 KB": (functools.partial(tall_png, 1, PIXEL_LIMIT, "RGB"), 413),
    "PNG 1x16777216 RGBA, ~81 KB": (functools.partial(tall_png, 1, PIXEL_LIMIT, "RGBA"), 413),
    "progressive JPEG 4096x4096 CMYK, ~400 KB": (functools.partial(progressive_jpeg, "CMYK"), 413),
    "progressive JPEG 4096x4096 RGB 4:4:4, ~220 KB": (functools.partial(progressive_jpeg, "RGB"), 413),
    "progressive JPEG, first AC scan repeated, ~430 KB": (repeated_scan_jpeg, 422),
    "progressive JPEG, first AC scan repeated, ~1 MB": (functools.partial(repeated_scan_jpeg, 1_000_000), 422),
    "RLE8 BMP 4096x4096, one pixel a row, ~17 KB": (rle8_bmp, 415),
    "GIF with a 4 MB comment in 255-byte blocks": (gif_with_long_comment, 422),
    "GIF with a 2 MB comment in 1-byte blocks": (functools.partial(gif_with_long_comment, 1_000_000, 1), 422),
    "PNG with 300,000 empty chunks, 3.6 MB": (png_with_many_chunks, 422),
}

PICTURES: dict[str, Callable[[], bytes]] = {"normal canvas, 280x280 RGBA PNG": normal_canvas,
                                            **{name: build for name, (build, _) in REFUSED.items()}}


# --- the largest of what the function accepts ------------------------------------------------------


def _png(image: Image.Image, **options) -> bytes:
    return _saved(image, "PNG", **options)


@functools.cache
def textured_grey_png() -> bytes:
    """The most pixels accepted, 4096x4096 grey, with paper texture so that it compresses badly: 3.2 MB."""
    picture = 255 - enlarged(8, 4096)
    texture = np.random.default_rng(SEED).random(picture.shape) < 0.3
    picture[texture] = np.clip(picture[texture].astype(int) - 3, 0, 255)
    return _png(Image.fromarray(picture))


@functools.cache
def phone_photo(progressive: bool = False) -> bytes:
    """A 12-megapixel photo as a phone saves it (4032x3024 JPEG, 4:2:0, taken sideways: EXIF
    orientation 6), or as a web tool saves it again (progressive)."""
    picture = Image.fromarray(255 - enlarged(2, 4032)).resize((4032, 3024)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    return _saved(picture, "JPEG", quality=90, progressive=progressive, exif=exif)


@functools.cache
def most_scans_jpeg() -> bytes:
    """A 4096x4096 progressive JPEG of a digit with as many scans as the function accepts (64)."""
    digit = _saved(Image.fromarray(255 - enlarged(5, 4096)), "JPEG", progressive=True, quality=90)
    segments = _jpeg_segments(digit)
    first_ac = next(index for index, segment in enumerate(segments) if _is_ac_scan(segment))
    scans = sum(1 for segment in segments if segment[1] == SOS)
    return b"".join(segments[:first_ac]) + segments[first_ac] * (64 - scans) + b"".join(segments[first_ac:])


@functools.cache
def many_frames_gif() -> bytes:
    """A 1000-frame 512x512 GIF: only the first frame may be read."""
    first = Image.fromarray(255 - canvas(4, width=512, height=512, stroke=30)[:, :, 0])
    frames = []
    for index in range(999):
        frame = first.copy()
        frame.putpixel((index % 512, index // 512), 128)
        frames.append(frame)
    return _saved(first, "GIF", save_all=True, append_images=frames, duration=20, loop=0)


# The worst pictures the function answers: each must cost at most the budget (100 MB over the
# idle process, 1 s of CPU) and be read as a digit.
ACCEPTED: dict[str, Callable[[], bytes]] = {
    "4096x4096 grey PNG with paper texture, 3.2 MB": textured_grey_png,
    "4096x4096 RGBA PNG": lambda: _png(Image.fromarray(enlarged(3, 4096, mode="transparent-black"), "RGBA")),
    "16-bit grey 4096x4096 PNG": lambda: _png(Image.fromarray(enlarged(5, 4096).astype(np.uint16) * 257)),
    "palette + transparency 4096x4096 PNG": lambda: _png(Image.fromarray(enlarged(2, 4096)).convert("P"),
                                                          transparency=0),
    "grey + alpha 4096x4096 PNG": lambda: _png(Image.merge("LA", [Image.new("L", (4096, 4096), 0),
                                                                   Image.fromarray(enlarged(9, 4096))])),
    "two 1-pixel diagonals, 1024x1024 PNG": lambda: _png(Image.fromarray(crossed_hairlines(1024, channels=3)),
                                                         optimize=True),
    "phone photo, 4032x3024 JPEG, EXIF rotated": phone_photo,
    "phone photo saved progressive, 4032x3024": functools.partial(phone_photo, True),
    "progressive JPEG with 64 scans, 4096x4096": most_scans_jpeg,
    "lossy WebP 2048x2048": lambda: _saved(Image.fromarray(enlarged(6, 2048)), "WEBP", quality=80),
    "1000-frame GIF, 512x512": many_frames_gif,
    "24-bit BMP 1024x1024": lambda: _saved(Image.fromarray(255 - enlarged(7, 1024)).convert("RGB"), "BMP"),
}


# --- requests that are not pictures ----------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A hostile request: where it goes, what it carries, and the status the function must answer."""

    path: str
    body: bytes
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


V2_INFER = "/v2/models/digits/infer"
V1_PREDICT = "/v1/models/digits:predict"


def _v2(**changes) -> bytes:
    tensor = {"name": "image", "datatype": "FP32", "shape": [1, 28, 28, 1], "data": [0.0] * 784}
    document = {"inputs": [{**tensor, **changes.pop("input", {})}], **changes}
    return json.dumps(document).encode()


def _escaped_quotes(count: int) -> bytes:
    return b'{"p": "' + b'\\"' * count


def _v2_binary(header_length: str) -> Request:
    return Request(V2_INFER, _v2(), 400, headers={"Inference-Header-Content-Length": header_length})


REQUESTS: dict[str, Request] = {
    "64 KB JSON string of escaped quotes, /predict": Request("/predict", _escaped_quotes(32_000), 400),
    "64 KB JSON string of escaped quotes, /v1": Request(V1_PREDICT, _escaped_quotes(32_000), 400),
    "64 KB JSON string of escaped quotes, /v2": Request(V2_INFER, _escaped_quotes(32_000), 400),
    "4 MB JSON string of escaped quotes": Request("/predict", _escaped_quotes(2_000_000), 400),
    "4 MB of quotes (2 million empty strings)": Request("/predict", b'"' * 4_000_000, 400),
    "4 MB JSON, 2 million numbers in one instance": Request(V1_PREDICT, b'{"instances": [['
                                                            + b",".join([b"0"] * 2_000_000) + b"]]}", 400),
    "data URL with a lone surrogate": Request("/predict", b'{"image": "data:\\ud800;base64,AAAA"}', 400),
    "v2: outputs 5": Request(V2_INFER, _v2(outputs=5), 400),
    "v2: outputs true": Request(V2_INFER, _v2(outputs=True), 400),
    "v2: parameters \"x\"": Request(V2_INFER, _v2(parameters="x"), 400),
    "v2: parameters [1]": Request(V2_INFER, _v2(parameters=[1]), 400),
    "v2: input parameters \"x\"": Request(V2_INFER, _v2(input={"parameters": "x"}), 400),
    "v2: input parameters [1]": Request(V2_INFER, _v2(input={"parameters": [1]}), 400),
    "v2: output parameters \"binary_data\"": Request(
        V2_INFER, _v2(outputs=[{"name": "probabilities", "parameters": "binary_data"}]), 400),
    "v2: id with a lone surrogate": Request(V2_INFER, _v2(id="\ud800"), 400),
    "v2: header length of 5,000 digits": _v2_binary("9" * 5000),
    "v2: header length \u00b2": _v2_binary("\u00b2"),
    "v2: header length \u00b9\u00b2": _v2_binary("\u00b9\u00b2"),
}
