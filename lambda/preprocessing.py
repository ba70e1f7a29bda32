"""Turning any picture of a digit into what the model expects, the way MNIST was made.

`to_mnist(pixels)` is a pure function of a NumPy array: no I/O, no Pillow, so the page's
JavaScript version (web/) can follow it step by step, and both are held to the same test
vectors in tests/vectors/.

Every decision is taken on exact integers, or on one division of two exact integers (which
IEEE arithmetic rounds the same way in any language), so a port that sums or multiplies in
another order still makes the same decisions and gives the same pixels.

Steps:
1. grey, in integers: a grey picture's level G is its byte (out of FULL = 255); RGB uses
   ITU-R 601 luma, G = 299 R + 587 G + 114 B (out of 255,000); RGBA is composited onto a
   background opposite to the ink, G = luma x A + background x 255,000 x (255 - A) (out of
   65,025,000), the background black (0) when the visible pixels are light on average
   (2 x sum(luma x A) > 255,000 x sum(A): a transparent canvas drawn in white), else white;
2. polarity and paper: the median of the border's levels is the paper, P twice it (the sum
   of the two middle border levels). A light paper (P > FULL) means dark ink: the ink
   level is max(P - 2G, 0) out of P; otherwise max(2G - P, 0) out of 2 FULL - P. White
   digits on black (MNIST itself) pass through unchanged;
3. the ink's bounding box: rows and columns holding ink of at least INK_THRESHOLD (so faint
   noise, JPEG ringing and paper texture do not widen it), then grown by one pixel on each
   side whose next row or column holds any ink (the antialiased rim, which MNIST digits keep
   inside their 20-pixel box); the crop's ink is divided by its largest level, so its
   brightest pixel is 1;
4. a crop longer than WORK_SIDE pixels is pooled by the smallest whole factor that brings
   it within WORK_SIDE: by the maximum of each block when its strokes are thin (step 5
   would thicken them), so a hairline stays a line, otherwise by the mean (an area
   average). Past this step the cost no longer grows with the picture;
5. strokes that would end up thinner than MIN_STROKE pixels (a fine pen on a big canvas,
   which shrinking would turn into a faint hairline MNIST never shows) are thickened: the
   stroke width is estimated as 2 x area / outline length of the ink at HALF_INK or more,
   and the crop, padded by r pixels, gets a (2r+1)-square maximum filter, r chosen to bring
   the width to MIN_STROKE; MNIST's own digits are never thin enough for r to reach 1;
6. the longer side is scaled to BOX pixels, aspect kept, with a triangle filter widened
   when shrinking so it antialiases (Pillow's bilinear resampling, reproduced exactly);
7. the result is placed in SIZE x SIZE at the whole-pixel offset that brings its centre of
   mass nearest to pixel (14, 14) (rounding halves up), kept inside the frame.

Time and memory: steps 1-3 touch each pixel a few times, in integers of at most 4 bytes,
and compute levels only inside the rectangle where the picture differs from its paper;
from step 4 on, the work is bounded by WORK_SIDE whatever the picture.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from input_errors import BlankImageError

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
LUMA_FULL = 255 * sum(LUMA_WEIGHTS)
FULL = {1: 255, 3: LUMA_FULL, 4: LUMA_FULL * 255}  # the level of white, by channels
# The page's canvas is 280x280, so its drawings are never pooled; a crop of a bigger picture
# is pooled to at most this many pixels before thickening, which bounds the filter's cost.
WORK_SIDE = 280
BLACK_MASK = np.frombuffer(bytes([255, 255, 255, 0]), dtype=np.uint32)[0]  # R, G and B of an RGBA pixel as 32 bits


class Ink(NamedTuple):
    """Steps 1-2: ink = levels / span in [0, 1], known inside a window of the picture.

    Every pixel outside the window has no ink at all, so it never changes the result.
    """

    levels: np.ndarray  # int32 (window height, window width)
    span: int
    top: int  # where the window sits in the picture
    left: int


def to_mnist(pixels: np.ndarray) -> np.ndarray:
    """Any H x W (grey), H x W x 1, H x W x 3 (RGB) or H x W x 4 (RGBA) uint8 picture of
    one digit -> float32 (28, 28) in [0, 1], white digit on black, MNIST-style.

    Raises BlankImageError when no ink is found, ValueError for arrays of another shape.
    """
    return digit_image(ink_levels(pixels))


def digit_image(ink: Ink) -> np.ndarray:
    """Steps 3-7 on ink already found: its box, pooling, thickening, scaling and centring.
    segmentation.py calls it with the ink of one digit of a number."""
    top, bottom, left, right = ink_box(ink)
    crop = ink.levels[top:bottom + 1, left:right + 1]
    brightest = int(crop.max())

    radius = thickening_radius(crop, brightest)
    factor = math.ceil(max(crop.shape) / WORK_SIDE)
    denominator = brightest
    if factor > 1:
        crop = pool(crop, factor, "max" if radius >= 1 else "mean")
        if radius >= 1:
            radius = thickening_radius(crop, brightest)
        else:
            denominator = brightest * factor * factor
    if radius >= 1:
        crop = dilate(crop, radius)
    return placed(crop / denominator)


def placed(crop: np.ndarray) -> np.ndarray:
    """Steps 6-7: scale the crop's longer side to BOX and centre it by mass in SIZE x SIZE."""
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
    digit = np.zeros((SIZE, SIZE), dtype=np.float32)
    digit[offset_top:offset_top + new_height, offset_left:offset_left + new_width] = np.clip(box, 0.0, 1.0)
    return digit


# --- steps 1-2: grey levels, paper and ink -----------------------------------------------


def ink_levels(pixels: np.ndarray) -> Ink:
    """Steps 1-2 for a uint8 picture, computed only where it differs from its paper."""
    pixels = _checked(pixels)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    full = FULL[channels]

    corner = window = window_weighted = None
    background = 0
    if channels == 4:  # needs sums over the whole picture: the window around the corner's colour gives them
        corner = pixels[0, 0]
        window = _window(pixels, corner)
        if window is not None:
            window_weighted = _luma_times_alpha(_inside(pixels, window))
        background = _background(pixels, corner, window, window_weighted)

    border = np.concatenate([pixels[0, :], pixels[-1, :], pixels[:, 0], pixels[:, -1]])
    border_levels = _grey(border, channels, background)
    order = np.argsort(border_levels, kind="stable")
    count = len(order)
    paper_twice = int(border_levels[order[(count - 1) // 2]]) + int(border_levels[order[count // 2]])
    dark_ink = paper_twice > full
    # A border pixel with no ink (on the paper's side of the median) marks where the ink is not.
    paper_pixel = border[order[count // 2] if dark_ink else order[(count - 1) // 2]]
    if corner is None or not np.array_equal(paper_pixel, corner):
        window, window_weighted = _window(pixels, paper_pixel), None
    if window is None:
        raise BlankImageError

    top, _, left, _ = window
    doubled = _grey(_inside(pixels, window), channels, background, window_weighted)
    doubled *= 2
    if dark_ink:
        levels = np.subtract(paper_twice, doubled, out=doubled)
        span = paper_twice
    else:
        levels = np.subtract(doubled, paper_twice, out=doubled)
        span = 2 * full - paper_twice
    np.maximum(levels, 0, out=levels)
    return Ink(levels, span, top, left)


def _checked(pixels: np.ndarray) -> np.ndarray:
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (3, 4)):
        raise ValueError(f"expected an H x W, H x W x 3 or H x W x 4 image, got shape {pixels.shape}")
    if min(pixels.shape[:2]) < 1:
        raise ValueError(f"the image is empty ({pixels.shape[1]}x{pixels.shape[0]})")
    return pixels


def _window(pixels: np.ndarray, paper_pixel: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), inclusive, of the pixels unlike `paper_pixel`; None if none."""
    if pixels.ndim == 2:
        differs = pixels != paper_pixel
    elif pixels.shape[2] == 4:  # one 32-bit comparison per pixel
        words = np.ascontiguousarray(pixels).view(np.uint32)[:, :, 0]
        differs = words != np.ascontiguousarray(paper_pixel).view(np.uint32)[0]
    else:
        red, green, blue = (int(value) for value in paper_pixel)
        differs = pixels[:, :, 0] != red
        differs |= pixels[:, :, 1] != green
        differs |= pixels[:, :, 2] != blue
    rows = np.flatnonzero(differs.any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero(differs[rows[0]:rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(rows[-1]), int(columns[0]), int(columns[-1])


def _inside(pixels: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    top, bottom, left, right = window
    return pixels[top:bottom + 1, left:right + 1]


def _luma(pixels: np.ndarray) -> np.ndarray:
    """int32 299 R + 587 G + 114 B of (..., 3 or 4) uint8 pixels."""
    # A float32 product is exact here (every sum is a whole number below 2^24) and the
    # fastest NumPy has: one conversion, one small matrix product.
    weights = np.array(LUMA_WEIGHTS + (0,) * (pixels.shape[-1] - 3), dtype=np.float32)
    return (pixels.astype(np.float32) @ weights).astype(np.int32)


def _luma_times_alpha(pixels: np.ndarray) -> np.ndarray:
    """int32 luma x A of (..., 4) uint8 pixels: the grey level of RGBA on a black background."""
    if pixels.ndim == 3 and not np.any(pixels.view(np.uint32) & BLACK_MASK):
        # Black ink on a transparent canvas, as the page's canvas exports it: no luma to compute.
        return np.zeros(pixels.shape[:2], dtype=np.int32)
    return np.multiply(_luma(pixels), pixels[..., 3], dtype=np.int32)


def _background(pixels: np.ndarray, corner: np.ndarray, window: tuple[int, int, int, int] | None,
                window_weighted: np.ndarray | None) -> int:
    """Step 1's backdrop for RGBA: 0 (black) when the visible pixels are light on average, else 1.

    The sums are exact: the window's pixels, plus every other pixel, which equals `corner`.
    """
    outside = pixels.shape[0] * pixels.shape[1]
    weighted = coverage = 0
    if window is not None:
        alpha = _inside(pixels, window)[:, :, 3]
        weighted = int(window_weighted.sum(dtype=np.int64))
        coverage = int(alpha.sum(dtype=np.int64))
        outside -= alpha.size
    weighted += outside * int(_luma(corner)) * int(corner[3])
    coverage += outside * int(corner[3])
    return 0 if coverage > 0 and 2 * weighted > LUMA_FULL * coverage else 1


def _grey(pixels: np.ndarray, channels: int, background: int, weighted: np.ndarray | None = None) -> np.ndarray:
    """Step 1: int32 grey levels of uint8 pixels (grey, RGB or RGBA) out of FULL[channels];
    for RGBA, `weighted` may hold their luma x A already."""
    if channels == 1:
        return pixels.astype(np.int32)
    if channels == 3:
        return _luma(pixels)
    grey = _luma_times_alpha(pixels) if weighted is None else weighted  # which nothing else uses
    if background == 1:  # luma x A + 255,000 x (255 - A)
        grey += np.multiply(np.subtract(255, pixels[..., 3], dtype=np.int32), LUMA_FULL, dtype=np.int32)
    return grey


# --- step 3: the ink's box -----------------------------------------------------------------


def least_level(fraction: float, span: int) -> int:
    """The smallest whole level L with L / span >= fraction, as floating point divides it."""
    level = max(0, math.floor(fraction * span) - 1)
    while level / span < fraction:
        level += 1
    while level > 0 and (level - 1) / span >= fraction:
        level -= 1
    return level


def ink_box(ink: Ink) -> tuple[int, int, int, int]:
    """Step 3: (top, bottom, left, right), inclusive, of the digit in `ink.levels`."""
    levels = ink.levels
    strong = levels >= least_level(INK_THRESHOLD, ink.span)
    rows = np.flatnonzero(strong.any(axis=1))
    if rows.size == 0:
        raise BlankImageError
    columns = np.flatnonzero(strong[rows[0]:rows[-1] + 1].any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]), int(columns[0]), int(columns[-1])
    last_row, last_column = levels.shape[0] - 1, levels.shape[1] - 1
    # Each side looks only at the span of the thresholded box, so the order does not matter.
    # Beyond the window there is no ink, so the box never grows out of it.
    grown_top = top - 1 if top > 0 and levels[top - 1, left:right + 1].max() > 0 else top
    grown_bottom = bottom + 1 if bottom < last_row and levels[bottom + 1, left:right + 1].max() > 0 else bottom
    grown_left = left - 1 if left > 0 and levels[top:bottom + 1, left - 1].max() > 0 else left
    grown_right = right + 1 if right < last_column and levels[top:bottom + 1, right + 1].max() > 0 else right
    return grown_top, grown_bottom, grown_left, grown_right


# --- steps 4-5: pooling and thickening -------------------------------------------------------


def stroke_width(levels: np.ndarray, brightest: int) -> float:
    """Mean stroke width in pixels of the ink at HALF_INK or more of `brightest`:
    2 x area / outline length, the outline counting the edges where ink touches them."""
    ink = levels >= least_level(HALF_INK, brightest)
    outline = (np.count_nonzero(ink[1:, :] != ink[:-1, :]) + np.count_nonzero(ink[:, 1:] != ink[:, :-1])
               + np.count_nonzero(ink[0, :]) + np.count_nonzero(ink[-1, :])
               + np.count_nonzero(ink[:, 0]) + np.count_nonzero(ink[:, -1]))
    return 2.0 * np.count_nonzero(ink) / outline


def thickening_radius(levels: np.ndarray, brightest: int) -> int:
    """Step 5's r: how far to widen strokes so that, scaled to BOX, they are MIN_STROKE wide."""
    scale = BOX / max(levels.shape)
    return math.floor((MIN_STROKE / scale - stroke_width(levels, brightest)) / 2 + 0.5 + TIE)


def pool(levels: np.ndarray, factor: int, how: str) -> np.ndarray:
    """Step 4: the maximum ("max") or the sum ("mean", divided later) of each factor x factor
    block, the last row and column of blocks completed with paper (0)."""
    height, width = levels.shape
    padded = np.pad(levels, ((0, -height % factor), (0, -width % factor)))
    combine = np.maximum if how == "max" else np.add
    # Whole rows first (each a contiguous slice), then the columns of a factor-times smaller array.
    rows = padded[0::factor].astype(np.int64)  # sums of up to factor^2 levels need 64 bits
    for offset in range(1, factor):
        combine(rows, padded[offset::factor], out=rows)
    blocks = rows[:, 0::factor].copy()
    for offset in range(1, factor):
        combine(blocks, rows[:, offset::factor], out=blocks)
    return blocks


def dilate(image: np.ndarray, radius: int) -> np.ndarray:
    """Step 5's filter: pad by `radius` on each side, then take the maximum over every
    (2 radius + 1)-square window, beyond the edges counting as 0."""
    padded = np.pad(image, 2 * radius)
    return _running_max(_running_max(padded, 2 * radius + 1, axis=0), 2 * radius + 1, axis=1)


def _running_max(values: np.ndarray, window: int, axis: int) -> np.ndarray:
    """Maximum over each run of `window` values along `axis`: log2(window) passes, not window."""
    values = np.swapaxes(values, 0, axis)
    width = 1
    while width * 2 <= window:
        values = np.maximum(values[:-width], values[width:])  # runs of 2 x width
        width *= 2
    if width < window:
        values = np.maximum(values[:width - window], values[window - width:])
    return np.swapaxes(values, 0, axis)


# --- step 6: resampling ---------------------------------------------------------------------


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Separable triangle-filter resampling, widened when shrinking so it antialiases."""
    return _weights(image.shape[0], height) @ image @ _weights(image.shape[1], width).T


@functools.lru_cache(maxsize=256)  # a few sizes recur; each at most WORK_SIDE x BOX numbers
def _weights(source: int, target: int) -> np.ndarray:
    """(target, source) matrix of Pillow-style bilinear weights, each row summing to 1.

    Output pixel i is centred on source position c = (i + 0.5) * source / target; its taps
    are the source pixels j with floor(c - support + 0.5) <= j < floor(c + support + 0.5),
    weighted max(0, 1 - |j + 0.5 - c| / support), support = max(source / target, 1).
    """
    scale = source / target
    support = max(scale, 1.0)
    centres = (np.arange(target) + 0.5) * scale
    # Beyond those taps the triangle is already at or below 0, so max(0, ...) leaves them out.
    weights = np.abs(np.arange(0.5, source)[None, :] - centres[:, None])
    weights /= support
    np.subtract(1.0, weights, out=weights)
    np.maximum(weights, 0.0, out=weights)
    weights /= weights.sum(axis=1, keepdims=True)
    weights.flags.writeable = False  # shared by every call with these sizes
    return weights


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))
