"""Turning any picture of a digit into what the model expects, the way MNIST was made.

`to_mnist(pixels)` is a pure function of a NumPy array: no I/O, no Pillow, so the page's
JavaScript version (web/) can follow it step by step, and both are held to the same test
vectors in tests/vectors/. Every step works in float64, as JavaScript numbers do.

Steps:
1. alpha is composited onto a background opposite to the ink: white, unless the visible
   pixels are light on average (sum of grey * alpha over sum of alpha above 0.5: a
   transparent canvas drawn in white), then black;
2. greyscale with ITU-R 601 luma: grey = (299 R + 587 G + 114 B) / 255000 (integers, then
   one division), composited as grey * alpha + background * (1 - alpha), alpha = A / 255;
3. polarity and paper: the median of the border pixels is the paper; a light paper means
   dark ink, so ink = (paper - grey) / paper, otherwise ink = (grey - paper) / (1 - paper),
   clipped to [0, 1]. White digits on black (MNIST itself) pass through unchanged;
4. the ink's bounding box: rows and columns holding ink of at least INK_THRESHOLD (so
   faint noise, JPEG ringing and paper texture do not widen it), then grown by one pixel
   on each side whose next row or column holds any ink (the antialiased rim, which MNIST
   digits keep inside their 20-pixel box); the crop is stretched so its brightest pixel is 1;
5. strokes that would end up thinner than MIN_STROKE pixels (a fine pen on a big canvas,
   which shrinking would turn into a faint hairline MNIST never shows) are thickened: the
   stroke width is estimated as 2 x area / outline length of the ink at HALF_INK or more, and
   the crop, padded by r pixels, gets a (2r+1)-square maximum filter, r chosen to bring the
   width to MIN_STROKE; MNIST's own digits are never thin enough for r to reach 1;
6. the longer side is scaled to BOX pixels, aspect kept, with a triangle filter widened
   when shrinking so it antialiases (Pillow's bilinear resampling, reproduced exactly);
7. the result is placed in SIZE x SIZE at the whole-pixel offset that brings its centre of
   mass nearest to pixel (14, 14) (rounding halves up), kept inside the frame.

Every threshold and rounding is tie-free (see INK_THRESHOLD, HALF_INK, TIE), so a port that
multiplies or sums in another order still makes the same decisions.
"""

from __future__ import annotations

import math

import numpy as np

SIZE = 28
BOX = 20
# Thresholds sit between two 8-bit levels (51/255 and 52/255; 0.5 and the next ratio of two
# levels) and roundings add TIE, so a last-digit difference in how another language sums or
# multiplies can never tip a decision the other way.
INK_THRESHOLD = 51.5 / 255  # ink below this (0-1) is not the digit: noise, ringing, texture
HALF_INK = 0.5 + 1 / 1024  # "at least half ink", for measuring strokes
TIE = 1e-9
MIN_STROKE = 1.5  # pixels, after scaling; MNIST's test digits measure 2.0 (median), 1.3 (5th percentile)
LUMA_WEIGHTS = (299, 587, 114)  # ITU-R 601 luma x 1000 (the weights of Pillow's "L")


class BlankImageError(ValueError):
    """The picture holds no digit (blank canvas, or only faint noise)."""


def to_mnist(pixels: np.ndarray) -> np.ndarray:
    """Any H x W (grey), H x W x 1, H x W x 3 (RGB) or H x W x 4 (RGBA) uint8 picture of
    one digit -> float32 (28, 28) in [0, 1], white digit on black, MNIST-style.

    Raises BlankImageError when no ink is found, ValueError for arrays of another shape.
    """
    ink = ink_map(pixels)
    top, bottom, left, right = ink_box(ink)
    crop = ink[top:bottom + 1, left:right + 1]
    crop = thicken(crop / crop.max())

    height, width = crop.shape
    scale = BOX / max(height, width)
    new_height = max(1, math.floor(height * scale + 0.5 + TIE))
    new_width = max(1, math.floor(width * scale + 0.5 + TIE))
    box = resize(crop, new_height, new_width)

    total = box.sum()
    centre_row = (box.sum(axis=1) @ np.arange(new_height)) / total
    centre_column = (box.sum(axis=0) @ np.arange(new_width)) / total
    offset_top = _clamp(math.floor(SIZE / 2 - centre_row + 0.5 + TIE), 0, SIZE - new_height)
    offset_left = _clamp(math.floor(SIZE / 2 - centre_column + 0.5 + TIE), 0, SIZE - new_width)
    digit = np.zeros((SIZE, SIZE), dtype=np.float64)
    digit[offset_top:offset_top + new_height, offset_left:offset_left + new_width] = box
    return np.clip(digit, 0.0, 1.0).astype(np.float32)


def ink_map(pixels: np.ndarray) -> np.ndarray:
    """Steps 1-3: float64 (H, W) in [0, 1] where 1 is full ink and the paper is 0."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (3, 4)):
        raise ValueError(f"expected an H x W, H x W x 3 or H x W x 4 image, got shape {pixels.shape}")
    if min(pixels.shape[:2]) < 1:
        raise ValueError(f"the image is empty ({pixels.shape[1]}x{pixels.shape[0]})")

    # Luma in integers (exact, as 8-bit inputs allow) and one division: any language gets
    # the same float64 bits, and it costs fewer passes over a big canvas than float maths.
    if pixels.ndim == 2:
        grey = pixels / 255.0
    else:
        luma = pixels[:, :, 0] * np.int32(LUMA_WEIGHTS[0])
        luma += pixels[:, :, 1] * np.int32(LUMA_WEIGHTS[1])
        luma += pixels[:, :, 2] * np.int32(LUMA_WEIGHTS[2])
        grey = luma / (255.0 * sum(LUMA_WEIGHTS))
        if pixels.shape[2] == 4:
            alpha = pixels[:, :, 3] / 255.0
            coverage = alpha.sum()
            grey *= alpha
            visible_is_light = coverage > 0 and grey.sum() / coverage > 0.5
            if not visible_is_light:  # composite onto white; onto black adds nothing
                grey += 1.0 - alpha

    border = np.concatenate([grey[0, :], grey[-1, :], grey[:, 0], grey[:, -1]])
    paper = float(np.median(border))
    if paper > 0.5:
        ink = np.subtract(paper, grey, out=grey)
        ink /= paper
    elif paper > 0.0:
        ink = np.subtract(grey, paper, out=grey)
        ink /= 1.0 - paper
    else:
        ink = grey
    return np.clip(ink, 0.0, 1.0, out=ink)


def ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """Step 4: (top, bottom, left, right), inclusive, of the digit in an ink map."""
    strong = ink >= INK_THRESHOLD
    rows = np.flatnonzero(strong.any(axis=1))
    columns = np.flatnonzero(strong.any(axis=0))
    if rows.size == 0:
        raise BlankImageError("no digit found: the image is blank or holds only faint marks")
    top, bottom, left, right = int(rows[0]), int(rows[-1]), int(columns[0]), int(columns[-1])
    last_row, last_column = ink.shape[0] - 1, ink.shape[1] - 1
    # Each side looks only at the span of the thresholded box, so the order does not matter.
    grown_top = top - 1 if top > 0 and ink[top - 1, left:right + 1].max() > 0 else top
    grown_bottom = bottom + 1 if bottom < last_row and ink[bottom + 1, left:right + 1].max() > 0 else bottom
    grown_left = left - 1 if left > 0 and ink[top:bottom + 1, left - 1].max() > 0 else left
    grown_right = right + 1 if right < last_column and ink[top:bottom + 1, right + 1].max() > 0 else right
    return grown_top, grown_bottom, grown_left, grown_right


def stroke_width(crop: np.ndarray) -> float:
    """Mean stroke width in pixels of the ink at HALF_INK or more: 2 x area / outline length."""
    ink = crop >= HALF_INK
    outline = (np.count_nonzero(ink[1:, :] != ink[:-1, :]) + np.count_nonzero(ink[:, 1:] != ink[:, :-1])
               + np.count_nonzero(ink[0, :]) + np.count_nonzero(ink[-1, :])
               + np.count_nonzero(ink[:, 0]) + np.count_nonzero(ink[:, -1]))
    return 2.0 * np.count_nonzero(ink) / outline


def thicken(crop: np.ndarray) -> np.ndarray:
    """Step 5: widen strokes that scaling would make thinner than MIN_STROKE."""
    scale = BOX / max(crop.shape)
    radius = math.floor((MIN_STROKE / scale - stroke_width(crop)) / 2 + 0.5 + TIE)
    if radius < 1:
        return crop
    padded = np.pad(crop, radius)
    return _max_filter(_max_filter(padded, radius, axis=0), radius, axis=1)


def _max_filter(image: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Maximum over a window of 2 * radius + 1 pixels along one axis, edges padded with 0."""
    padded = np.pad(image, [(radius, radius) if a == axis else (0, 0) for a in range(2)])
    length = image.shape[axis]
    return np.max([np.take(padded, range(offset, offset + length), axis=axis)
                   for offset in range(2 * radius + 1)], axis=0)


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Separable triangle-filter resampling, widened when shrinking so it antialiases."""
    return _weights(image.shape[0], height) @ image @ _weights(image.shape[1], width).T


def _weights(source: int, target: int) -> np.ndarray:
    """(target, source) matrix of Pillow-style bilinear weights, each row summing to 1.

    Output pixel i is centred on source position c = (i + 0.5) * source / target; its taps
    are the source pixels j with floor(c - support + 0.5) <= j < floor(c + support + 0.5),
    weighted max(0, 1 - |j + 0.5 - c| / support), support = max(source / target, 1).
    """
    scale = source / target
    support = max(scale, 1.0)
    centres = (np.arange(target) + 0.5) * scale
    low = np.maximum(np.floor(centres - support + 0.5), 0)[:, None]
    high = np.minimum(np.floor(centres + support + 0.5), source)[:, None]
    taps = np.arange(source)[None, :]
    weights = np.maximum(0.0, 1.0 - np.abs((taps - centres[:, None] + 0.5) / support))
    weights[(taps < low) | (taps >= high)] = 0.0
    return weights / weights.sum(axis=1, keepdims=True)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))
