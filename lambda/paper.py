"""Photos of paper: the light and the paper taken out, the ink left in.

`ink_levels(pixels)` gives what preprocessing.ink_levels gives (an Ink: levels / span, in a
window of the picture), so segmentation.find and preprocessing.digit_image work on it
unchanged. A drawing, a clean scan or an MNIST digit goes straight to
preprocessing.ink_levels and comes back bit for bit the same; only a photo is normalised.

Every decision is taken on exact integers, or on one division of two exact integers, as
preprocessing.py explains, so the page's JavaScript (web/js/paper.js) finds the same ink,
held to the same vectors (tests/vectors/photos/).

1. which case: a picture with any transparency, one under MIN_SIDE or over MAX_SIDE pixels
   a side, one whose border is flat (at least FLAT_SHARE of it at exactly the level of its
   median, as a canvas's or a clean scan's is: a photo's noise and light make it vary), or
   one whose lighter quarter is dark (light ink on dark paper) is no photo of a sheet: it
   goes to preprocessing.ink_levels. A photo's grey levels G are step 1's there (a grey
   byte, or 299 R + 587 G + 114 B; opaque RGBA as RGB);
2. the paper's brightness B: the mean of each block (the picture in at most
   BACKGROUND_SIDE blocks a side), then a closing (the largest mean within a radius of
   1/CLOSING of the picture's longer side, then the smallest of those), which fills in the
   strokes, narrower than that, and keeps the light's gradients, shadows and the table
   around the sheet. Each pixel's B is the least of the four blocks around it, so an edge
   between light and dark stays as sharp as the picture's;
3. ink, the light divided out: L = LEVELS x max(B - G, 0) / B, the share of the light the
   ink takes, whatever the light;
4. the table: blocks darker than TABLE_SHARE / TABLE_DIVISOR of a wider closing (radius
   1/TABLE_CLOSING of the longer side, which fills a strip of table along the picture's
   edge) whose 8-connected pieces touch the picture's edge, and the blocks next to them (the
   sheet's edge), hold no ink;
5. printed lines: the pixels of at least LINE_INK are projected onto lines of every slope up
   to MAX_TILT (coarse steps of COARSE rows over the picture's width, then each row around
   the best): the slope whose projection is sharpest (the largest sum of squared counts) is
   the lines'. A line of that projection holding at least LINE_SHARE of the picture's width
   more than the lines LINE_GAP away on either side is printed (a run of them, a thick
   line; the writing, however wide, is as strong LINE_GAP away), and each of its pixels
   takes the least of the ink just above and just below it, so a stroke that crosses it
   keeps its ink and paper does not. Then the same for the columns;
6. the threshold T: Otsu's, on the histogram of L over the pixels of at least NOISE (the
   paper's unevenness, the camera's and JPEG's noise are below it), kept within
   [LEAST_THRESHOLD, MOST_THRESHOLD]; the paper's floor is F = T / 2. The Ink's levels are
   min(L - F, span) where L > F, 0 elsewhere, out of the span that puts
   preprocessing.INK_THRESHOLD at T: what is under T is never strong ink, and what lies
   between F and T is the strokes' antialiased rim;
7. what is left of the table and the lines: strong ink in 8-connected pieces that touch the
   picture's edge, or smaller than 1/SPECK of its longer side squared, is taken out; the
   Ink's window is the box of what remains (BlankImageError when nothing does).

Cost: a photo is at most MAX_SIDE pixels a side (the function decodes no larger, and the
page sends no larger), so every step is bounded: steps 1, 3, 6 and 7 touch each pixel a
few times, steps 2 and 4 work on at most BACKGROUND_SIDE x BACKGROUND_SIDE blocks, and step
5 projects the pixels of some ink about 2 MAX_TILT x width / COARSE + 2 COARSE times each way.
"""

from __future__ import annotations

import numpy as np

import preprocessing
import segmentation
from input_errors import BlankImageError
from preprocessing import INK_THRESHOLD, LUMA_WEIGHTS, Ink

BACKGROUND_SIDE = 256  # blocks a side, at most
CLOSING = 20  # the closing's radius is 1/20 of the picture's longer side: strokes are narrower
LEVELS = 1024  # L's full scale: all the light taken
NOISE = 41  # out of LEVELS (4 %): below this, the paper's unevenness and noise
LINE_INK = 61  # out of LEVELS (6 %): what a printed line's pixels hold at least
LINE_SHARE = 2 / 5  # of the picture's width (or height): a line is at least this long
LINE_GAP = 5  # rows: a line is thinner than this, and the next line further away
MAX_TILT = (1, 20)  # the lines' slope, at most one row per 20 columns (2.9 degrees) either way
COARSE = 4  # rows over the picture's width: the first search's steps of slope
LEAST_THRESHOLD = 154  # out of LEVELS (15 %)
MOST_THRESHOLD = 461  # out of LEVELS (45 %)
TABLE_CLOSING = 8  # 1/8 of the longer side: the table around the sheet is at most twice as wide
TABLE_SHARE, TABLE_DIVISOR = 3, 4  # a block darker than 3/4 of the paper around it is not paper
SPECK = 150  # a piece of strong ink smaller than 1/150 of the longer side square is a speck
FLAT_SHARE = 3 / 4  # of the border at exactly its median's level: a flat paper (a drawing: 84 % at least)
MIN_SIDE = 64  # pixels: a smaller picture is no photo of a sheet
MAX_SIDE = 1024  # pixels: the function decodes no larger (decoding.MAX_SIDE), nor does the page send


def ink_levels(pixels: np.ndarray) -> Ink:
    """The ink of a picture: normalised for the light and the paper when it is a photo."""
    grey = photo_grey(pixels)
    if grey is None:
        return preprocessing.ink_levels(pixels)
    return ink_of(grey)


def photo_grey(pixels: np.ndarray) -> np.ndarray | None:
    """Step 1: int64 grey levels of a photo of dark ink on light paper; None for any other picture."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or min(pixels.shape[:2]) < MIN_SIDE \
            or max(pixels.shape[:2]) > MAX_SIDE:
        return None  # preprocessing.ink_levels says what is wrong, or reads the picture as it is
    if pixels.ndim == 3:
        channels = pixels.shape[2]
        if channels == 1:
            pixels = pixels[:, :, 0]
        elif channels == 4 and pixels[:, :, 3].min() == 255:
            pixels = pixels[:, :, :3]
        elif channels != 3:
            return None
    rgb = pixels.ndim == 3
    border = np.concatenate([pixels[0, :], pixels[-1, :], pixels[1:-1, 0], pixels[1:-1, -1]])
    levels = _grey(border, rgb)
    full = 255 * sum(LUMA_WEIGHTS) if rgb else 255
    ordered = np.sort(levels)
    count = len(ordered)
    if np.count_nonzero(levels == ordered[count // 2]) >= FLAT_SHARE * count:
        return None
    grey = _grey(pixels, rgb)
    # Paper fills most of a photo of a sheet, whatever lies around it and however the light
    # falls: its lighter quarter is light paper when the ink is dark.
    sample = np.sort(grey[::4, ::4], axis=None)
    if 2 * int(sample[3 * (len(sample) - 1) // 4]) <= full:
        return None
    return grey


def _grey(pixels: np.ndarray, rgb: bool) -> np.ndarray:
    """int64 grey levels: the byte, or 299 R + 587 G + 114 B."""
    if not rgb:
        return pixels.astype(np.int64)
    return pixels.astype(np.int64) @ np.array(LUMA_WEIGHTS, dtype=np.int64)


def ink_of(grey: np.ndarray) -> Ink:
    """Steps 2-7 on a photo's grey levels."""
    height, width = grey.shape
    block = -(-max(height, width) // BACKGROUND_SIDE)
    means = block_means(grey, block)
    light = ink_share(grey, spread(closing(means, max(height, width) // (CLOSING * block)), block, height, width))
    outside = beyond_the_sheet(means, closing(means, max(height, width) // (TABLE_CLOSING * block)))
    if outside.any():
        light[np.repeat(np.repeat(outside, block, axis=0), block, axis=1)[:height, :width]] = 0
    light = without_lines(light)
    threshold = ink_threshold(light)
    floor = threshold // 2
    span = _span(threshold - floor)
    levels = np.clip(light - floor, 0, span).astype(np.int32)
    levels = without_border_pieces(levels, span)
    rows = np.flatnonzero(levels.any(axis=1))
    if rows.size == 0:
        raise BlankImageError
    columns = np.flatnonzero(levels[rows[0]:rows[-1] + 1].any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]), int(columns[0]), int(columns[-1])
    return Ink(np.ascontiguousarray(levels[top:bottom + 1, left:right + 1]), span, top, left)


def _span(strong: int) -> int:
    """The span that puts preprocessing.INK_THRESHOLD at `strong` levels: the largest whose
    least strong level is `strong`."""
    span = int(strong / INK_THRESHOLD)
    while preprocessing.least_level(INK_THRESHOLD, span) > strong:
        span -= 1
    while preprocessing.least_level(INK_THRESHOLD, span + 1) <= strong:
        span += 1
    return span


# --- step 2: the paper's brightness ------------------------------------------------------------------


def block_means(grey: np.ndarray, block: int) -> np.ndarray:
    """The floor of the mean of each block x block block (the last ones as far as the picture goes)."""
    height, width = grey.shape
    rows = np.add.reduceat(grey, np.arange(0, height, block), axis=0)
    sums = np.add.reduceat(rows, np.arange(0, width, block), axis=1)
    heights = np.minimum(block, height - np.arange(0, height, block))
    widths = np.minimum(block, width - np.arange(0, width, block))
    return sums // (heights[:, None] * widths[None, :])


def closing(means: np.ndarray, radius: int) -> np.ndarray:
    """The largest value within `radius` blocks, then the smallest of those within `radius`:
    what is darker than its surroundings and narrower than 2 radius + 1 blocks is filled in."""
    radius = max(1, radius)
    return running(running(means, radius, np.maximum), radius, np.minimum)


def running(values: np.ndarray, radius: int, combine) -> np.ndarray:
    """`combine` (np.maximum or np.minimum) over each (2 radius + 1)-square window, the
    window cut off at the edges."""
    for axis in (0, 1):
        values = _running_1d(np.swapaxes(values, 0, axis), radius, combine)
        values = np.swapaxes(values, 0, axis)
    return values


def _running_1d(values: np.ndarray, radius: int, combine) -> np.ndarray:
    """Along axis 0: doubling windows, log2(window) passes."""
    extreme = np.iinfo(np.int64).min if combine is np.maximum else np.iinfo(np.int64).max
    padded = np.full((values.shape[0] + 2 * radius, *values.shape[1:]), extreme, dtype=np.int64)
    padded[radius:radius + values.shape[0]] = values
    window, width = 2 * radius + 1, 1
    result = padded
    while width * 2 <= window:
        result = combine(result[:-width], result[width:])
        width *= 2
    if width < window:
        result = combine(result[:width - window], result[window - width:])
    return result


def spread(blocks: np.ndarray, block: int, height: int, width: int) -> np.ndarray:
    """Each pixel's B: the least of the (up to) four blocks whose centres surround it, so the
    paper's edge against a darker table, or a shadow's, is as sharp as the picture's."""
    row_low, row_high = _taps(height, block, blocks.shape[0])
    column_low, column_high = _taps(width, block, blocks.shape[1])
    across = np.minimum(blocks[:, column_low], blocks[:, column_high])
    return np.minimum(across[row_low], across[row_high])


def _taps(length: int, block: int, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """For each pixel, the block whose centre is at or before it and the next (the same at the ends)."""
    low = np.floor_divide(2 * np.arange(length) + 1 - block, 2 * block)
    return np.clip(low, 0, blocks - 1), np.clip(low + 1, 0, blocks - 1)


# --- step 3: the ink, the light divided out ------------------------------------------------------------


def ink_share(grey: np.ndarray, background: np.ndarray) -> np.ndarray:
    """L = LEVELS x max(B - G, 0) / B, rounded down: int64."""
    taken = np.maximum(background - grey, 0)
    return (taken * LEVELS) // np.maximum(background, 1)


# --- step 4: the table --------------------------------------------------------------------------------


def beyond_the_sheet(means: np.ndarray, closed: np.ndarray) -> np.ndarray:
    """Blocks of the table around the sheet: those much darker than the paper the closing
    found there (TABLE_SHARE of it), in pieces that touch the picture's edge, and the blocks
    next to them (the sheet's edge). A stroke is as dark, but lies inside the sheet."""
    dark = means * TABLE_DIVISOR < closed * TABLE_SHARE
    found = segmentation.pieces(dark)
    height, width = dark.shape
    touching = (found.rows == 0) | (found.rows == height - 1) | (found.starts == 0) | (found.ends == width)
    outside = np.zeros_like(dark)
    if touching.any():
        _fill(outside, found, touching)
        outside = running(outside.view(np.uint8).astype(np.int64), 1, np.maximum) > 0
    return outside


def _fill(mask: np.ndarray, found: segmentation.Runs, touching: np.ndarray) -> None:
    """Sets in `mask` every cell of the pieces that hold a run marked in `touching`."""
    chosen_pieces = np.zeros(found.count, dtype=bool)
    chosen_pieces[found.piece[touching]] = True
    chosen = chosen_pieces[found.piece]
    rows, starts, ends = found.rows[chosen], found.starts[chosen], found.ends[chosen]
    lengths = ends - starts
    cells = np.repeat(np.arange(len(lengths)), lengths)
    columns = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    mask[rows[cells], columns] = True


# --- step 5: printed lines ------------------------------------------------------------------------------


def without_lines(light: np.ndarray) -> np.ndarray:
    """L with the printed lines' pixels filled from beside them: rows, then columns."""
    light = _without_rows(light)
    return np.ascontiguousarray(_without_rows(light.T).T)


def _without_rows(light: np.ndarray) -> np.ndarray:
    """Step 5 for lines across the picture (nearly along its rows)."""
    height, width = light.shape
    ys, xs = np.nonzero(light >= LINE_INK)
    if ys.size < LINE_SHARE * width:
        return light
    counts, drift, most = _sharpest_projection(ys, xs, width)
    # A line stands out of the rows LINE_GAP away on either side: the writing, however wide, does not.
    padded = np.pad(counts, LINE_GAP)
    lines = counts - np.maximum(padded[:-2 * LINE_GAP], padded[2 * LINE_GAP:]) >= LINE_SHARE * width
    if not lines.any():
        return light
    light = light.copy()
    columns = np.arange(width)
    shift = np.floor_divide(columns * drift, width)  # rows the lines fall (or rise) by, at each column
    starts = np.flatnonzero(lines & ~np.concatenate([[False], lines[:-1]]))
    ends = np.flatnonzero(lines & ~np.concatenate([lines[1:], [False]]))
    for start, end in zip(starts, ends, strict=True):
        top = start - most + shift  # the line's first row in each column
        bottom = end - most + shift  # its last
        above = light[np.clip(top - 1, 0, height - 1), columns]
        below = light[np.clip(bottom + 1, 0, height - 1), columns]
        fill = np.minimum(np.where(top - 1 >= 0, above, below), np.where(bottom + 1 < height, below, above))
        for row in range(end - start + 1):
            y = top + row
            inside = (y >= 0) & (y < height)
            light[y[inside], columns[inside]] = fill[inside]
    return light


def _sharpest_projection(ys: np.ndarray, xs: np.ndarray, width: int) -> tuple[np.ndarray, int, int]:
    """The counts of pixels on each line of the drift (rows fallen over the picture's width,
    at most `most` either way) whose lines hold them most sharply, the drift, and `most`:
    count i is the line through row i - most at column 0. Coarse drifts first, then the
    ones around the best; of equal ones, the smallest drift, then the lower."""
    most = width * MAX_TILT[0] // MAX_TILT[1]
    length = int(ys.max()) + 2 * most + 1

    def projection(drift: int) -> tuple[int, np.ndarray]:
        counts = np.bincount(ys - np.floor_divide(xs * drift, width) + most, minlength=length)
        return int(np.dot(counts, counts)), counts

    def best_of(drifts) -> int:
        return max(drifts, key=lambda drift: (projection(drift)[0], -abs(drift), -drift))

    coarse = best_of(range(-(most // COARSE) * COARSE, most + 1, COARSE))
    drift = best_of(range(max(-most, coarse - COARSE + 1), min(most, coarse + COARSE - 1) + 1))
    return projection(drift)[1], drift, most


# --- step 6: the threshold ---------------------------------------------------------------------------------


def ink_threshold(light: np.ndarray) -> int:
    """Otsu's threshold on the histogram of L over pixels of at least NOISE, within bounds."""
    histogram = np.bincount(np.minimum(light, LEVELS).ravel(), minlength=LEVELS + 1)[NOISE:]
    counts = np.cumsum(histogram)
    sums = np.cumsum(histogram * np.arange(NOISE, LEVELS + 1))
    total, whole = int(counts[-1]), int(sums[-1])
    if total == 0:
        return LEAST_THRESHOLD
    below, below_sum = counts[:-1], sums[:-1]
    above, above_sum = total - below, whole - below_sum
    difference = (above * below_sum - below * above_sum).astype(np.float64)
    usable = (below > 0) & (above > 0)
    between = np.where(usable, difference * difference / np.maximum(below * above, 1), -1.0)
    threshold = NOISE + 1 + int(np.argmax(between))  # the first level above the lower class
    return min(max(threshold, LEAST_THRESHOLD), MOST_THRESHOLD)


# --- step 7: what is left of the table and the lines ----------------------------------------------------


def without_border_pieces(levels: np.ndarray, span: int) -> np.ndarray:
    """Strong ink taken out where its piece touches the picture's edge (what is left of the
    table) or is a speck (less than SPECK of the longer side square: what is left of a line)."""
    strong = levels >= preprocessing.least_level(INK_THRESHOLD, span)
    found = segmentation.pieces(strong)
    if found.count == 0:
        return levels
    height, width = levels.shape
    touching = (found.rows == 0) | (found.rows == height - 1) | (found.starts == 0) | (found.ends == width)
    speck = max(height, width) // SPECK
    areas = np.bincount(found.piece, weights=found.ends - found.starts, minlength=found.count)
    unwanted = areas < speck * speck
    unwanted[found.piece[touching]] = True
    if unwanted.any():
        edge = np.zeros(levels.shape, dtype=bool)
        _fill(edge, found, unwanted[found.piece])
        levels[edge] = 0
    return levels
