"""Turning any picture of a digit into what the model expects, the way MNIST was made.

`to_mnist(pixels)` is a pure function of a NumPy array: no I/O, no Pillow, so the page's
JavaScript version (web/) can follow it step by step and both are held to the same test
vectors in tests/vectors/.

Steps:
1. alpha is composited onto a background opposite to the ink (white, unless the visible
   strokes are light, as on a transparent canvas drawn in white);
2. greyscale with ITU-R 601 luma (what Pillow's "L" uses);
3. polarity: a light border means dark ink on light paper, which is inverted so the digit
   is white on black as in MNIST;
4. the ink's bounding box, ignoring faint noise below INK_THRESHOLD, is cropped and the
   ink stretched so its brightest pixel is 1;
5. the longer side is scaled to BOX pixels, aspect kept, with an antialiasing triangle
   filter (Pillow's bilinear resampling);
6. the result is placed in SIZE x SIZE so its centre of mass falls on pixel (14, 14).
"""

from __future__ import annotations

import math

import numpy as np

SIZE = 28
BOX = 20
INK_THRESHOLD = 0.2  # ink below this (0-1) is noise: JPEG ringing, paper texture, faint smudges
LUMA = np.array([0.299, 0.587, 0.114])


class BlankImageError(ValueError):
    """The picture holds no digit (blank canvas, or only faint noise)."""


def to_mnist(pixels: np.ndarray) -> np.ndarray:
    """Any H x W (grey), H x W x 3 (RGB) or H x W x 4 (RGBA) uint8 picture of one digit ->
    float32 (28, 28) in [0, 1], white digit on black, MNIST-style.

    Raises BlankImageError when no ink is found, ValueError for arrays of another shape.
    """
    ink = ink_map(pixels)
    rows = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=1))
    columns = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=0))
    if rows.size == 0:
        raise BlankImageError("no digit found: the image is blank or holds only faint marks")
    crop = ink[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
    crop = crop / crop.max()

    height, width = crop.shape
    scale = BOX / max(height, width)
    new_height = max(1, math.floor(height * scale + 0.5))
    new_width = max(1, math.floor(width * scale + 0.5))
    box = resize(crop, new_height, new_width)

    total = box.sum()
    centre_row = (box.sum(axis=1) @ np.arange(new_height)) / total
    centre_column = (box.sum(axis=0) @ np.arange(new_width)) / total
    top = _clamp(math.floor(SIZE / 2 - centre_row + 0.5), 0, SIZE - new_height)
    left = _clamp(math.floor(SIZE / 2 - centre_column + 0.5), 0, SIZE - new_width)
    digit = np.zeros((SIZE, SIZE), dtype=np.float64)
    digit[top:top + new_height, left:left + new_width] = box
    return np.clip(digit, 0.0, 1.0).astype(np.float32)


def ink_map(pixels: np.ndarray) -> np.ndarray:
    """Steps 1-3: float64 (H, W) in [0, 1] where 1 is full ink, background 0."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (3, 4)):
        raise ValueError(f"expected an H x W, H x W x 3 or H x W x 4 image, got shape {pixels.shape}")
    if min(pixels.shape[:2]) < 1:
        raise ValueError(f"the image is empty ({pixels.shape[1]}x{pixels.shape[0]})")
    values = pixels.astype(np.float64) / 255.0

    if values.ndim == 2:
        grey = values
    else:
        grey = values[:, :, :3] @ LUMA
        if values.shape[2] == 4:
            alpha = values[:, :, 3]
            coverage = alpha.sum()
            strokes_are_light = coverage > 0 and (grey * alpha).sum() / coverage > 0.5
            background = 0.0 if strokes_are_light else 1.0
            grey = grey * alpha + background * (1.0 - alpha)

    border = np.concatenate([grey[0, :], grey[-1, :], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if np.median(border) > 0.5 else grey


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Separable triangle-filter resampling, widened when shrinking so it antialiases."""
    return _weights(image.shape[0], height) @ image @ _weights(image.shape[1], width).T


def _weights(source: int, target: int) -> np.ndarray:
    """(target, source) matrix of Pillow-style bilinear weights, each row summing to 1."""
    scale = source / target
    support = max(scale, 1.0)
    weights = np.zeros((target, source))
    for i in range(target):
        centre = (i + 0.5) * scale
        low = max(math.floor(centre - support + 0.5), 0)
        high = min(math.floor(centre + support + 0.5), source)
        taps = np.arange(low, high)
        row = np.maximum(0.0, 1.0 - np.abs((taps - centre + 0.5) / support))
        weights[i, low:high] = row / row.sum()
    return weights


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))
