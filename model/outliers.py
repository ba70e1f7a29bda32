"""Non-digits: drawings that are not digits, for outlier exposure and for measuring it.

Every picture is drawn on a 280x280 canvas, the page's, in white on black, with a pen of a
random width, and then goes through the function's own preprocessing (`to_mnist` in
lambda/preprocessing.py), so the network sees a non-digit exactly as the function and the
page would send it. Everything is generated here, offline, from a seed: the same seed and
set give the same pictures.

Two sets that share no kind of drawing and no font:

- "training": letters and symbols in the DejaVu Sans and Serif fonts (which matplotlib
  ships), scribbles, random strokes, polygons, crossed-out marks and hand-drawn hash signs;
- "held_out": other letters and symbols in the DejaVu Sans Mono, STIX and Computer Modern
  fonts (also in matplotlib), stars, zigzags, arrows, grids and loops of scribble, which
  measure how well "not a digit" carries over to drawings training never saw.

Characters that look like a digit (O, I, S, Z, B, G, g, q, T, ...) are left out: asking the
network to be unsure about them would teach it to doubt real digits.

With --touching-pairs, training also sees `touching_pairs`: two training digits written
side by side, touching or crossing as in a hurried number (written_numbers.py), read as one.
The function reads a number by trying ways to cut it into digits and keeping the one the
network likes best, so the network must doubt two digits squeezed into one box, or it keeps
"13" whole as a 3.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from preprocessing import BlankImageError, to_mnist  # the function's, from lambda/ (the project's .pth)

CANVAS = 280  # the page's canvas, in pixels
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"

# Look like a digit in some font or hand: never asked to be "not a digit".
DIGIT_LIKE = set("0123456789OoQDIlij|!SsZzBGbgqTAaeCcPpJUuYy/\\()[]{}.,:;'`\"-_~^")
TRAINING_CHARACTERS = "EFHKLMNRVXdfhkmnrtvwx#%&*+=?@$<>"
HELD_OUT_CHARACTERS = "WRKwNMHEkxhmn#@&%?*+"  # the same drawn in other fonts, plus W and w
TRAINING_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
                  "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf")
HELD_OUT_FONTS = ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "STIXGeneral.ttf",
                  "STIXGeneralItalic.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf")
TRAINING_KINDS = ("glyph", "glyph", "scribble", "strokes", "polygon", "crossed_out", "hash")
HELD_OUT_KINDS = ("glyph", "glyph", "star", "zigzag", "arrow", "grid", "loops")
SETS = {"training": (TRAINING_KINDS, TRAINING_CHARACTERS, TRAINING_FONTS),
        "held_out": (HELD_OUT_KINDS, HELD_OUT_CHARACTERS, HELD_OUT_FONTS)}


def generate(count: int, seed: int, which: str = "training") -> np.ndarray:
    """`count` non-digits of one set as uint8 (count, 28, 28), white on black, MNIST-style."""
    kinds, characters, fonts = SETS[which]
    # The set's name goes into the seed, so the two sets differ even for the same seed.
    rng = np.random.default_rng([seed, 0 if which == "training" else 1])
    images = np.empty((count, 28, 28), dtype=np.uint8)
    made = 0
    while made < count:
        kind = kinds[rng.integers(len(kinds))]
        canvas = draw(kind, rng, characters, fonts)
        try:
            pixels = to_mnist(np.asarray(canvas))
        except BlankImageError:  # a glyph drawn off the canvas: draw another
            continue
        images[made] = np.round(pixels * 255).astype(np.uint8)
        made += 1
    return images


def draw(kind: str, rng: np.random.Generator, characters: str, fonts: tuple[str, ...]) -> Image.Image:
    """One 280x280 grey canvas, white ink on black, of the given kind."""
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(canvas)
    width = int(rng.integers(10, 30))
    if kind == "glyph":
        return _glyph(rng, characters, fonts)
    if kind == "scribble":
        _polyline(pen, _smooth_walk(rng, int(rng.integers(25, 60)), step=40), width)
    elif kind == "strokes":
        # Three or more: two strokes too often make a 7, an L or a 4.
        for _ in range(rng.integers(3, 6)):
            _polyline(pen, [_point(rng), _point(rng)], width)
    elif kind == "polygon":
        sides = int(rng.integers(3, 5))  # five or more corners look like a 0
        _polyline(pen, _regular(rng, sides, closed=True), width)
    elif kind == "crossed_out":
        corners = rng.uniform(30, 250, size=(2, 2))
        (x0, x1), (y0, y1) = np.sort(corners[0]), np.sort(corners[1])
        _polyline(pen, [(x0, y0), (x1, y1)], width)
        _polyline(pen, [(x0, y1), (x1, y0)], width)
        if rng.random() < 0.5:
            _polyline(pen, _smooth_walk(rng, 12, step=30), width)
    elif kind == "hash":
        _hash(pen, rng, width, lines=2)
    elif kind == "star":
        points = int(rng.integers(5, 9))
        outer = _regular(rng, points * 2, closed=True)
        centre = np.mean(outer, axis=0)
        star = [tuple(centre + (np.array(p) - centre) * (1.0 if i % 2 == 0 else rng.uniform(0.35, 0.55)))
                for i, p in enumerate(outer)]
        _polyline(pen, star, width)
    elif kind == "zigzag":
        turns = int(rng.integers(4, 9))
        xs = np.linspace(30, 250, turns)
        ys = np.where(np.arange(turns) % 2 == 0, rng.uniform(40, 100), rng.uniform(180, 240))
        _polyline(pen, list(zip(xs, ys + rng.normal(0, 10, turns), strict=True)), width)
    elif kind == "arrow":
        start, end = np.array(_point(rng)), np.array(_point(rng))
        while np.linalg.norm(end - start) < 120:
            end = np.array(_point(rng))
        _polyline(pen, [tuple(start), tuple(end)], width)
        direction = math.atan2(*(start - end)[::-1])
        for side in (-0.5, 0.5):
            tip = end + 60 * np.array([math.cos(direction + side), math.sin(direction + side)])
            _polyline(pen, [tuple(end), tuple(tip)], width)
    elif kind == "grid":
        _hash(pen, rng, width, lines=int(rng.integers(3, 5)))
    elif kind == "loops":
        centre = rng.uniform(100, 180, size=2)
        turns = rng.uniform(3, 6)
        t = np.linspace(0, turns * 2 * math.pi, 200)
        walk = centre + np.stack([80 * np.cos(t) + 12 * t, 50 * np.sin(t)], axis=1) - [40 * turns, 0]
        _polyline(pen, [tuple(p) for p in walk], width)
    else:
        raise ValueError(f"unknown kind of drawing {kind!r}")
    return canvas


# --- drawing helpers ----------------------------------------------------------------------


def _point(rng: np.random.Generator) -> tuple[float, float]:
    return tuple(rng.uniform(30, 250, size=2))


def _polyline(pen: ImageDraw.ImageDraw, points, width: int) -> None:
    points = [tuple(map(float, p)) for p in points]
    pen.line(points, fill=255, width=width, joint="curve")
    radius = width / 2  # round caps, as a pen leaves them
    for x, y in (points[0], points[-1]):
        pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)


def _smooth_walk(rng: np.random.Generator, steps: int, step: float) -> list[tuple[float, float]]:
    heading, position, points = rng.uniform(0, 2 * math.pi), rng.uniform(90, 190, size=2), []
    for _ in range(steps):
        heading += rng.normal(0, 0.9)
        position = np.clip(position + step * np.array([math.cos(heading), math.sin(heading)]), 20, 260)
        points.append(tuple(position))
    return points


def _regular(rng: np.random.Generator, corners: int, *, closed: bool) -> list[tuple[float, float]]:
    centre, radius = rng.uniform(120, 160, size=2), rng.uniform(70, 110)
    start = rng.uniform(0, 2 * math.pi)
    angles = start + 2 * math.pi * np.arange(corners) / corners
    points = [tuple(centre + radius * rng.uniform(0.85, 1.0) * np.array([math.cos(a), math.sin(a)]))
              for a in angles]
    return points + points[:1] if closed else points


def _hash(pen: ImageDraw.ImageDraw, rng: np.random.Generator, width: int, lines: int) -> None:
    """`lines` roughly vertical and `lines` roughly horizontal strokes, as a hand draws #."""
    span = np.linspace(70, 210, lines) + rng.normal(0, 10, lines)
    slant = rng.normal(0, 20)
    for position in span:
        _polyline(pen, [(position + slant + rng.normal(0, 8), 40 + rng.normal(0, 10)),
                        (position - slant + rng.normal(0, 8), 240 + rng.normal(0, 10))], width)
    for position in np.linspace(70, 210, lines) + rng.normal(0, 10, lines):
        _polyline(pen, [(40 + rng.normal(0, 10), position + rng.normal(0, 8)),
                        (240 + rng.normal(0, 10), position + rng.normal(0, 8))], width)


def _glyph(rng: np.random.Generator, characters: str, fonts: tuple[str, ...]) -> Image.Image:
    character = characters[rng.integers(len(characters))]
    font = ImageFont.truetype(str(FONT_DIR / fonts[rng.integers(len(fonts))]), int(rng.integers(150, 220)))
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(canvas).text((CANVAS / 2, CANVAS / 2), character, fill=255, font=font, anchor="mm")
    return canvas.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR, fillcolor=0)


def touching_pairs(count: int, seed: int, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """`count` pairs of touching digits drawn from `images` (uint8 (N, 28, 28), MNIST's, white
    on black), each read as one digit is: uint8 (count, 28, 28), white on black, MNIST-style."""
    from model.written_numbers import written_number

    rng = np.random.default_rng([seed, 2])
    pairs = np.empty((count, 28, 28), dtype=np.uint8)
    for index in range(count):
        number = written_number(rng, rng.choice(len(images), 2, replace=False), images, labels, "touching")
        pairs[index] = np.round(to_mnist(number.picture) * 255).astype(np.uint8)
    return pairs
