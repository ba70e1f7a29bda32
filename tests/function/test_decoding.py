"""decoding: every accepted image format and encoding in, pixels out; bad input refused clearly."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
import pytest
from PIL import Image

import decoding
from decoding import MAX_SIDE, decode_base64_image, decode_image
from input_errors import TooLarge, UndecodableInput, UnsupportedFormat
from preprocessing import to_mnist
from tests.support.drawing import canvas
from tests.support.images import encode

RGBA = canvas(7, width=120, height=120, stroke=9, mode="transparent-black")
RGB = canvas(7, width=120, height=120, stroke=9)
GREY = canvas(7, width=120, height=120, stroke=9, mode="white-on-black")
REFERENCE = to_mnist(GREY)


def same_digit(pixels: np.ndarray, tolerance: float = 1e-6) -> bool:
    return float(np.abs(to_mnist(pixels) - REFERENCE).max()) <= tolerance


# --- formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(("pixels", "image_format"), [
    (RGBA, "PNG"), (RGB, "PNG"), (GREY, "PNG"), (RGBA, "WEBP"), (RGB, "WEBP"), (RGB, "BMP"), (GREY, "BMP"),
], ids=["png-rgba", "png-rgb", "png-grey", "webp-rgba", "webp-rgb", "bmp-rgb", "bmp-grey"])
def test_lossless_formats_keep_every_pixel(pixels, image_format):
    options = {"lossless": True} if image_format == "WEBP" else {}
    decoded = decode_image(encode(pixels, image_format, **options))
    np.testing.assert_array_equal(decoded, pixels)


def test_jpeg_decodes_to_the_same_digit_within_its_noise():
    decoded = decode_image(encode(RGB, "JPEG", quality=80))
    assert decoded.shape == RGB.shape
    assert np.abs(to_mnist(decoded) - REFERENCE).mean() < 0.02


def test_gif_uses_the_first_frame():
    first, second = Image.fromarray(GREY).convert("P"), Image.fromarray(255 - GREY).convert("P")
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=[second], duration=100)
    assert same_digit(decode_image(buffer.getvalue()))


def test_palette_png_with_transparency_keeps_it():
    palette = Image.fromarray(RGBA).convert("P")  # Pillow keeps a transparent index
    decoded = decode_image(encode(np.asarray(palette.convert("RGBA")), "PNG"))
    assert decoded.shape[2] == 4
    assert same_digit(decoded, 0.05)


@pytest.mark.parametrize("mode", ["LA", "1", "I;16", "P"])
def test_other_modes_become_grey_rgb_or_rgba(mode):
    image = Image.fromarray(GREY)
    if mode == "LA":
        image = Image.merge("LA", [image, Image.new("L", image.size, 255)])
    elif mode == "I;16":
        image = Image.fromarray(GREY.astype(np.uint16) * 257)
    else:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    decoded = decode_image(buffer.getvalue())
    assert decoded.dtype == np.uint8 and decoded.ndim in (2, 3)
    assert same_digit(decoded, 0.35 if mode == "1" else 1e-6)


@pytest.mark.parametrize("mode", ["I;16", "P", "LA", "RGBA", "1"])
def test_big_pictures_in_any_mode_shrink_band_by_band_as_they_would_whole(mode, monkeypatch):
    grey = np.kron(GREY, np.ones((9, 9), dtype=np.uint8))  # 1080x1080: shrunk by 2
    if mode == "I;16":
        image = Image.fromarray(grey.astype(np.uint16) * 257 + 100)
        whole = np.rint(np.asarray(image.convert("I").reduce(2)) / 257).astype(np.uint8)
    else:
        image = Image.fromarray(grey).convert(mode)
        whole = image.convert({"P": "RGB", "1": "L"}.get(mode, "RGBA")).reduce(2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    monkeypatch.setattr(decoding, "BAND_PIXELS", 50_000)  # many bands, one of them partial
    np.testing.assert_array_equal(decode_image(buffer.getvalue()), np.asarray(whole))


def test_gif_frames_after_the_first_are_never_read():
    first = Image.fromarray(GREY).convert("P")
    frames = [Image.fromarray(np.roll(GREY, shift, axis=1)).convert("P") for shift in range(1, 200)]
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=frames, duration=20)
    data = buffer.getvalue()
    one_frame = io.BytesIO()
    first.save(one_frame, format="GIF")
    cut = data[:len(one_frame.getvalue()) + 200]  # the rest of the frames, cut off: never looked at
    np.testing.assert_array_equal(decode_image(cut), decode_image(data))
    assert same_digit(decode_image(data))


def test_exif_orientation_is_applied():
    upright = canvas(7, width=160, height=120, size=100, stroke=8)
    stored = np.rot90(upright, 1)  # what a phone stores, with "rotate 270 to view" in EXIF
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, format="PNG", exif=exif)
    np.testing.assert_array_equal(decode_image(buffer.getvalue()), upright)


def test_big_pictures_are_shrunk_before_preprocessing():
    big = np.kron(RGB, np.ones((20, 20, 1), dtype=np.uint8))  # 2400x2400
    decoded = decode_image(encode(big, "PNG"))
    assert max(decoded.shape[:2]) <= MAX_SIDE
    assert np.abs(to_mnist(decoded) - REFERENCE).max() < 0.1


# --- refusals ----------------------------------------------------------------------------


def test_decompression_bomb_is_refused_from_its_header():
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 100_000  # a small file...
    started = time.process_time()
    with pytest.raises(TooLarge, match="not decoded"):
        decode_image(buffer.getvalue())  # ...that would be 400 megapixels
    # decoding it would take seconds of CPU; reading the header takes none
    assert time.process_time() - started < 0.5


def test_pictures_just_over_the_pixel_limit_are_refused_with_their_size():
    from settings import settings

    side = int(settings.max_image_pixels ** 0.5) + 1
    buffer = io.BytesIO()
    Image.new("L", (side, side)).save(buffer, format="PNG")
    with pytest.raises(TooLarge, match=f"{side}x{side}"):
        decode_image(buffer.getvalue())


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30],
                         ids=["empty", "text", "header-only"])
def test_undecodable_bytes(data):
    with pytest.raises(UndecodableInput):
        decode_image(data)


def test_truncated_png():
    data = encode(RGB, "PNG")
    with pytest.raises(UndecodableInput, match=r"truncated or corrupt|not a readable image"):
        decode_image(data[: len(data) // 2])


def test_other_formats_are_not_read():
    buffer = io.BytesIO()
    Image.fromarray(RGB).save(buffer, format="TIFF")
    with pytest.raises((UndecodableInput, UnsupportedFormat), match="PNG, JPEG, WebP, BMP or GIF"):
        decode_image(buffer.getvalue())


# --- base64 and data URLs ------------------------------------------------------------


PNG = encode(GREY, "PNG")
B64 = base64.b64encode(PNG).decode()


@pytest.mark.parametrize("text", [
    f"data:image/png;base64,{B64}",
    f"DATA:IMAGE/PNG;BASE64,{B64}",
    f"data:image/jpg;base64,{B64}",
    f"data:;base64,{B64}",
    B64,
    B64.rstrip("="),
    "\n".join(B64[i:i + 76] for i in range(0, len(B64), 76)),
    base64.urlsafe_b64encode(PNG).decode(),
], ids=["data-url", "upper-case", "jpg-alias", "no-media-type", "bare", "no-padding", "wrapped", "url-safe"])
def test_base64_forms(text):
    assert decode_base64_image(text) == PNG


@pytest.mark.parametrize(("text", "error"), [
    ("data:image/png,plain-text", UndecodableInput),
    ("data:text/plain;base64,aGVsbG8=", UnsupportedFormat),
    ("not base64 at all!", UndecodableInput),
    ("", UndecodableInput),
    ("data:image/png;base64,", UndecodableInput),
])
def test_bad_base64(text, error):
    with pytest.raises(error):
        decode_base64_image(text)


def test_media_type_normalises_parameters_and_aliases():
    assert decoding.media_type("Image/JPG; charset=binary") == "image/jpeg"
    assert decoding.media_type(None) == ""
