"""Numbers written with MNIST's own digits: what the number-reading tests and
bench/function_numbers.py read, and the pairs of touching training digits that training
shows the network as non-digits (outliers.touching_pairs).

    number = written_number(rng, digits, images, labels, kind="close")
    number.picture  # uint8 grey, dark ink on white paper
    number.text     # "2024"
    number.spans    # [left, right) of each placed digit, in the picture's columns
    number.alone    # each digit as placed, on a picture of its own

Each digit is an MNIST digit cropped to its ink, scaled to its own height (HEIGHTS of the
line's) and thickened as all digits of the number are (a maximum filter of 0, 1 or 2
pixels), set at its own height on the line (up to DROP of the line below the top). The gap
between two digits' ink, as a fraction of the line's height:

* "apart": APART (a clear space),
* "close": CLOSE (a few percent: a hurried hand),
* "touching": TOUCHING, negative: the next digit starts inside the previous one's columns,
  by up to a tenth of the height, so their strokes touch or cross (ink is combined by maximum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

LINE = 112  # the line's height in pixels, the page's pad scale
HEIGHTS = (0.7, 1.0)
DROP = 0.25
APART = (0.25, 0.6)
CLOSE = (0.02, 0.06)
TOUCHING = (-0.10, 0.0)
GAPS = {"apart": APART, "close": CLOSE, "touching": TOUCHING}
MARGIN = 24
THICKENING = (0, 1, 2)


@dataclass(frozen=True)
class WrittenNumber:
    picture: np.ndarray
    text: str
    spans: list[tuple[int, int]]  # [left, right) of each digit's ink, left to right
    kind: str
    alone: list[np.ndarray]  # each digit as placed, on its own picture (dark on light)


def _crop(digit: np.ndarray) -> np.ndarray:
    rows, columns = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    return digit[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]


def _scaled(digit: np.ndarray, height: int) -> np.ndarray:
    crop = _crop(digit)
    width = max(1, round(crop.shape[1] * height / crop.shape[0]))
    return np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.BILINEAR))


def _thickened(picture: np.ndarray, radius: int) -> np.ndarray:
    if radius == 0:
        return picture
    padded = np.pad(picture, radius)
    out = picture.copy()
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            np.maximum(out, padded[dy:dy + picture.shape[0], dx:dx + picture.shape[1]], out=out)
    return out


def written_number(rng: np.random.Generator, digits: list[int] | np.ndarray, images: np.ndarray,
                   labels: np.ndarray, kind: str) -> WrittenNumber:
    """`digits`: indices into `images` (MNIST's, white on black) of the digits, left to right."""
    low, high = GAPS[kind]
    radius = int(rng.choice(THICKENING))
    scaled = [_thickened(np.pad(_scaled(images[index], round(LINE * rng.uniform(*HEIGHTS))), radius), radius)
              for index in digits]
    drops = [round(LINE * rng.uniform(0, DROP)) for _ in scaled]
    gaps = [round(LINE * rng.uniform(low, high)) for _ in scaled[1:]]
    if kind == "close":
        gaps = [max(gap, 2) for gap in gaps]
    height = LINE + round(LINE * DROP) + 2 * MARGIN
    width = sum(digit.shape[1] for digit in scaled) + sum(gaps) + 2 * MARGIN
    line = np.zeros((height, width), dtype=np.uint8)
    spans = []
    left = MARGIN
    for index, (digit, drop) in enumerate(zip(scaled, drops, strict=True)):
        top = MARGIN + drop
        area = line[top:top + digit.shape[0], left:left + digit.shape[1]]
        np.maximum(area, digit, out=area)
        spans.append((left, left + digit.shape[1]))
        left += digit.shape[1] + (gaps[index] if index < len(gaps) else 0)
    alone = [255 - np.pad(digit, MARGIN) for digit in scaled]
    return WrittenNumber(255 - line, "".join(str(int(labels[index])) for index in digits), spans, kind, alone)


def single_digit(rng: np.random.Generator, index: int, images: np.ndarray) -> np.ndarray:
    """One MNIST digit written at the line's scale, as a number of one digit is."""
    digit = _scaled(images[index], round(LINE * rng.uniform(*HEIGHTS)))
    picture = np.zeros((digit.shape[0] + 2 * MARGIN, digit.shape[1] + 2 * MARGIN), dtype=np.uint8)
    picture[MARGIN:-MARGIN, MARGIN:-MARGIN] = digit
    return 255 - _thickened(picture, int(rng.choice(THICKENING)))
