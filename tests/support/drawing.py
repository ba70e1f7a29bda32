"""Digits drawn the way people draw them on a canvas: round-capped strokes along a path.

Each digit is a few strokes in a unit square (x right, y down), rendered at any size,
place and stroke width with antialiased edges, so tests and the shared test vectors can
make the hard cases (tiny, huge, off-centre, thin, thick, either polarity, transparent
canvas) without shipping image files. The browser tests draw the same strokes on the
page's pad with the mouse (tests/support/browser.py): one table of digits for both.
"""

from __future__ import annotations

import itertools

import numpy as np


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 40):
    angles = np.radians(np.linspace(start, end, steps))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles), strict=True))


# digit -> strokes, each a list of (x, y) points; angles in degrees, 0 = right, 90 = down
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(0.5, 0.5, 0.28, 0.45, 0, 360, 60)],
    1: [[(0.56, 0.05), (0.46, 0.95)]],
    2: [[*_arc(0.5, 0.3, 0.27, 0.25, 195, 380), (0.2, 0.95), (0.84, 0.95)]],
    3: [_arc(0.5, 0.27, 0.24, 0.22, 205, 450) + _arc(0.5, 0.72, 0.27, 0.23, -90, 155)],
    4: [[(0.66, 0.95), (0.66, 0.05), (0.16, 0.66), (0.86, 0.66)]],
    5: [[(0.8, 0.05), (0.34, 0.05), (0.3, 0.45), *_arc(0.5, 0.68, 0.28, 0.27, 225, 515)]],
    6: [[(0.72, 0.05), (0.36, 0.45), *_arc(0.53, 0.7, 0.25, 0.25, 190, 550)]],
    7: [[(0.16, 0.06), (0.84, 0.06), (0.4, 0.95)]],
    8: [_arc(0.5, 0.26, 0.21, 0.21, 90, 450), _arc(0.5, 0.71, 0.26, 0.24, -90, 270)],
    9: [_arc(0.47, 0.29, 0.25, 0.24, 0, 360), [(0.72, 0.29), (0.64, 0.95)]],
}


def strokes(digit: int, *, width: float = 1.0, height: float = 1.0, size: float | None = None,
            left: float | None = None, top: float | None = None, aspect: float = 0.75,
            slant: float = 0.0) -> list[np.ndarray]:
    """`digit`'s strokes placed on a `width` x `height` picture (the unit square by default),
    each an (n, 2) array of (x, y) points: in a box `size` tall (and `aspect` times as wide)
    whose top-left corner is (left, top), its top leaning `slant` x `size` / 2 right of its
    middle (and its bottom as far left). Without `size`, `left` or `top` the digit is 70 % of
    the height, centred."""
    size = 0.7 * height if size is None else size
    left = (width - size * aspect) / 2 if left is None else left
    top = (height - size) / 2 if top is None else top
    placed = []
    for stroke_points in STROKES[digit]:
        unit = np.array(stroke_points)
        unit[:, 0] += slant * (0.5 - unit[:, 1]) / aspect
        placed.append(unit * [size * aspect, size] + [left, top])
    return placed


def coverage(width: int, height: int, digit: int, *, left: float | None = None, top: float | None = None,
             size: float | None = None, stroke: float, aspect: float = 0.75, slant: float = 0.0) -> np.ndarray:
    """float64 (height, width) ink coverage in [0, 1] of `digit` drawn with a pen `stroke`
    pixels wide, placed as `strokes` places it."""
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    distance = np.full((height, width), np.inf)
    for points in strokes(digit, width=width, height=height, size=size, left=left, top=top, aspect=aspect,
                          slant=slant):
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            dx, dy = x1 - x0, y1 - y0
            length2 = dx * dx + dy * dy or 1e-12
            t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0)
            distance = np.minimum(distance, np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy)))
    return np.clip(stroke / 2 + 0.5 - distance, 0.0, 1.0)


def canvas(digit: int, *, width: int = 280, height: int = 280, size: float | None = None,
           left: float | None = None, top: float | None = None, stroke: float = 18.0,
           mode: str = "black-on-white", aspect: float = 0.75, slant: float = 0.0) -> np.ndarray:
    """A uint8 picture of `digit` as a drawing app would save it, placed as `strokes` places it.

    mode: "black-on-white" (RGB), "white-on-black" (grey), "transparent-black" (RGBA,
    black strokes on a transparent canvas), "transparent-white" (RGBA, white strokes).
    """
    return saved(coverage(width, height, digit, left=left, top=top, size=size, stroke=stroke, aspect=aspect,
                          slant=slant), mode)


def saved(ink: np.ndarray, mode: str) -> np.ndarray:
    """Ink coverage in [0, 1] as a drawing app saves it, in one of `canvas`'s modes."""
    level = np.rint(ink * 255).astype(np.uint8)
    if mode == "white-on-black":
        return level
    if mode == "black-on-white":
        return np.repeat((255 - level)[:, :, None], 3, axis=2)
    if mode in ("transparent-black", "transparent-white"):
        rgba = np.zeros((*level.shape, 4), dtype=np.uint8)
        rgba[:, :, :3] = 0 if mode == "transparent-black" else 255
        rgba[:, :, 3] = level
        # Canvases store fully transparent pixels as (0, 0, 0, 0), whatever the stroke colour.
        rgba[level == 0] = 0
        return rgba
    raise ValueError(f"unknown mode {mode!r}")


def varied_hands(count: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """`count` digits drawn on 280x280 canvases by hands unlike MNIST's, and their labels:
    each with its own pen (1 to 60 pixels, at most a seventh of the digit's height), slant
    (up to 0.4 either way), proportions (0.4 to 1.1 times as wide as tall), size (25 % to
    95 % of the canvas) and place, from the seed."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    pictures = []
    for digit in labels:
        size = rng.uniform(70, 266)
        aspect = rng.uniform(0.4, 1.1)
        slant = rng.uniform(-0.4, 0.4)
        spread = abs(slant) * size / 2  # how far the slant carries the top and bottom sideways
        room = max(280 - size * aspect - 2 * spread, 0.0)
        pictures.append(canvas(int(digit), size=size, aspect=aspect, slant=slant,
                               stroke=float(np.exp(rng.uniform(0.0, np.log(min(60.0, 0.14 * size))))),
                               left=spread + rng.uniform(0, room), top=rng.uniform(0, 280 - size),
                               mode="white-on-black"))
    return pictures, labels


def crossed_hairlines(side: int, channels: int = 1) -> np.ndarray:
    """Two 1-pixel black diagonals, corner to corner, on a white `side` x `side` picture:
    thin strokes spread over a big crop, the costliest picture to thicken."""
    picture = np.full((side, side, channels), 255, dtype=np.uint8)
    picture[np.arange(side), np.arange(side)] = 0
    picture[np.arange(side), side - 1 - np.arange(side)] = 0
    return picture[:, :, 0] if channels == 1 else picture


def enlarged(digit: int, side: int, mode: str = "white-on-black") -> np.ndarray:
    """`digit` drawn with a 40-pixel pen on a 512x512 canvas, resized to `side` x `side`:
    a big picture quickly, for pictures at the size limits."""
    from PIL import Image

    return np.asarray(Image.fromarray(canvas(digit, width=512, height=512, stroke=40, mode=mode))
                      .resize((side, side), Image.Resampling.BILINEAR))


def number_canvas(text: str, *, height: int = 200, size: float = 120, gap: float = 30, stroke: float = 14,
                  margin: float = 30, mode: str = "black-on-white", aspect: float = 0.6,
                  tops: list[float] | None = None, sizes: list[float] | None = None) -> np.ndarray:
    """A number written with the same hand as `canvas` draws a digit: its digits side by side,
    `gap` pixels between their boxes (negative: overlapping), each `size` tall (or its own of
    `sizes`) at its own top (`tops`, default centred), saved in one of `canvas`'s modes. The
    picture is as wide as they need."""
    sizes = sizes or [size] * len(text)
    tops = tops or [(height - digit_size) / 2 for digit_size in sizes]
    lefts, left = [], margin
    for digit_size in sizes:
        lefts.append(left)
        left += digit_size * aspect + gap
    width = int(left - gap + margin)
    ink = np.zeros((height, width))
    for character, digit_left, digit_top, digit_size in zip(text, lefts, tops, sizes, strict=True):
        np.maximum(ink, coverage(width, height, int(character), left=digit_left, top=digit_top, size=digit_size,
                                 stroke=stroke, aspect=aspect), out=ink)
    return saved(ink, mode)
