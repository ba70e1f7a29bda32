"""Pictures as files: encoding pixels, and the damage a photo or a scan does."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode(pixels: np.ndarray, image_format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def jpeg_round_trip(pixels: np.ndarray, quality: int) -> np.ndarray:
    """The pixels after saving as JPEG at `quality` and reading back, as RGB."""
    return np.asarray(Image.open(io.BytesIO(encode(pixels, "JPEG", quality=quality))).convert("RGB"))
