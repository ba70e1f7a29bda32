"""Photos of digits and numbers written on paper, made here: what the photo tests,
bench/function_photos.py and the photo vectors read.

    made = photo(rng, "shadow", images, labels)
    made.jpeg   # the photo as a phone's camera saves it (JPEG, quality 70-90)
    made.text   # "2024": the number written on it
    made.pixels # uint8 RGB, the photo before JPEG

The writing is MNIST's test digits, written as model/written_numbers.py writes a
number (single_digit for one digit, written_number with its digits apart for 2-4), taken as
ink coverage and laid on a sheet of paper in a subtractive model: each channel's reflectance
is the paper's, times each printed line's where one runs, times (1 - a + a x the ink's) where
the ink covers a fraction a. The sheet is tilted by up to TILT degrees, lies on a table in
some photos, and is lit by a light field: even, a gradient, or a shadow. Then the camera:
a Gaussian blur, noise, and JPEG.

KINDS, what varies from one to the next:

* "plain": white paper, even light (at most LIGHT_FALLOFF darker at a corner);
* "gradient": the light falls across the sheet to 45-70 % in a random direction;
* "shadow": a shadow with a soft edge over a third to a half of the sheet, 40-65 % of the light;
* "ruled": ruled lines (light blue, 1-3 pixels) every 3.5-6 % of the height, a red margin in some;
* "squared": a squared grid (light blue or grey, 1-2 pixels) every 3-5 % of the height;
* "ballpoint on cream": blue ballpoint on cream paper.

In every kind but "ballpoint on cream" the ink is black, blue, red or pencil; in "plain",
"gradient" and "shadow" the paper is white, cream or grey; every kind but "plain" has the
light fall by up to LIGHT_FALLOFF too. A third of the photos show the sheet's edge and the
table around it. Half the photos hold one digit, half a number of 2-4 digits. Every choice
comes from the generator `rng`, so a seed makes the same photos.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from model.written_numbers import LINE, single_digit, written_number

KINDS = ("plain", "gradient", "shadow", "ruled", "squared", "ballpoint on cream")
SIZES = ((1200, 900), (1600, 1200))  # width, height
INKS = {"black": (28, 28, 34), "blue": (32, 48, 150), "red": (185, 32, 38), "pencil": (96, 96, 102)}
PAPERS = {"white": (244, 243, 238), "cream": (241, 231, 200), "grey": (206, 205, 200)}
TABLES = ((128, 90, 60), (84, 86, 92), (60, 44, 34))  # light wood, dark grey, dark wood
LINE_COLOURS = ((165, 196, 232), (150, 180, 225), (185, 188, 195))  # light blue, blue, grey
MARGIN_COLOUR = (226, 120, 130)
TILT = 1.5  # degrees, at most, either way
LIGHT_FALLOFF = 0.12  # the darkest corner of an evenly lit sheet, below its brightest
WRITING_HEIGHT = (0.16, 0.30)  # of the photo's height: the line of writing
TABLE_SHARE = 1 / 3  # of the photos show the sheet's edge and the table
BLUR = (0.6, 1.4)  # Gaussian radius, pixels
NOISE = (1.5, 4.0)  # standard deviation, levels of 255
QUALITY = (70, 90)


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    pixels: np.ndarray  # uint8 (height, width, 3), before JPEG
    writing: np.ndarray  # uint8 grey, the same digits written dark on white, as a drawing is
    text: str
    kind: str
    ink: str
    paper: str
    table: bool  # the sheet's edge and the table are in the photo
    spans: list[tuple[int, int]]  # [left, right) of each digit's ink, in the photo's columns, before the tilt


def photo(rng: np.random.Generator, kind: str, images: np.ndarray, labels: np.ndarray, *,
          digits: int | None = None, size: tuple[int, int] | None = None, table: bool | None = None) -> Photo:
    """A photo of `kind` (one of KINDS) of a number of `digits` digits (1-4; by default one
    half the time, else 2-4; 0 for a blank sheet) written with MNIST's digits `images` (white
    on black) and `labels`; `size` (width, height) and `table` as given, else drawn."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    digits = (1 if rng.random() < 0.5 else int(rng.integers(2, 5))) if digits is None else digits
    width, height = SIZES[int(rng.integers(len(SIZES)))] if size is None else size
    table = bool(rng.random() < TABLE_SHARE) if table is None else table
    if kind == "ballpoint on cream":
        ink, paper = "blue", "cream"
    else:
        ink = str(rng.choice(list(INKS)))
        paper = str(rng.choice(list(PAPERS))) if kind in ("plain", "gradient", "shadow") else "white"

    indices = rng.choice(len(images), digits, replace=False)
    if digits == 0:  # a blank sheet
        writing, text, spans = np.full((LINE, LINE), 255, dtype=np.uint8), "", []
    elif digits == 1:
        writing = single_digit(rng, int(indices[0]), images)
        text, spans = str(int(labels[indices[0]])), [(0, writing.shape[1])]
    else:
        number = written_number(rng, indices, images, labels, "apart")
        writing, text, spans = number.picture, number.text, number.spans
    coverage, left, spans = _placed(rng, writing, spans, width, height)
    if ink == "pencil":
        coverage *= rng.uniform(0.65, 0.9)

    reflectance = np.empty((height, width, 3), dtype=np.float32)
    reflectance[:] = np.array(PAPERS[paper], dtype=np.float32) / 255
    if kind == "ruled":
        _ruled(rng, reflectance)
    elif kind == "squared":
        _squared(rng, reflectance)
    ink_reflectance = np.array(INKS[ink], dtype=np.float32) / 255
    reflectance *= 1 - coverage[:, :, None] * (1 - ink_reflectance)
    reflectance = _tilted(reflectance, rng.uniform(-TILT, TILT))
    if table:
        reflectance = _on_a_table(rng, reflectance)

    light = _light(rng, kind, width, height)
    exposure = rng.uniform(0.95, 1.05)
    pixels = np.clip(reflectance * (light * exposure * 255)[:, :, None], 0, 255).astype(np.uint8)
    blurred = Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(rng.uniform(*BLUR)))
    noisy = np.asarray(blurred, dtype=np.float32) + rng.normal(0, rng.uniform(*NOISE), (height, width, 3))
    pixels = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return Photo(jpeg_of(pixels, int(rng.integers(QUALITY[0], QUALITY[1] + 1))), pixels, writing, text, kind, ink,
                 paper, table, [(left + start, left + end) for start, end in spans])


def photos(seed: int, count: int, images: np.ndarray, labels: np.ndarray, kinds=KINDS):
    """`count` photos of each kind, in turn, from one seeded generator: (kind, Photo)."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        for kind in kinds:
            yield kind, photo(rng, kind, images, labels)


def jpeg_of(pixels: np.ndarray, quality: int, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, **options)
    return buffer.getvalue()


def sideways(made: Photo, quality: int = 85) -> bytes:
    """The photo as a phone held sideways saves it: the pixels turned a quarter anticlockwise,
    with EXIF orientation 6 saying to turn them a quarter clockwise to show them upright."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return jpeg_of(np.ascontiguousarray(np.rot90(made.pixels)), quality, exif=exif)


# --- the writing, the sheet and the light ---------------------------------------------------------


def _placed(rng, writing: np.ndarray, spans, width: int, height: int):
    """The writing's ink coverage (0-1) on a photo-sized sheet, scaled to WRITING_HEIGHT of the
    photo (narrower if it would not fit), somewhere in its middle; its left and its spans."""
    scale = rng.uniform(*WRITING_HEIGHT) * height / LINE
    scale = min(scale, 0.8 * width / writing.shape[1], 0.8 * height / writing.shape[0])
    scaled_width, scaled_height = round(writing.shape[1] * scale), round(writing.shape[0] * scale)
    ink = Image.fromarray(((255 - writing.astype(np.float32)) / 255).astype(np.float32), "F")
    ink = np.asarray(ink.resize((scaled_width, scaled_height), Image.Resampling.BILINEAR))
    left = int(rng.integers(width // 10, width - width // 10 - scaled_width + 1))
    top = int(rng.integers(height // 10, height - height // 10 - scaled_height + 1))
    coverage = np.zeros((height, width), dtype=np.float32)
    coverage[top:top + scaled_height, left:left + scaled_width] = np.clip(ink, 0, 1)
    return coverage, left, [(round(start * scale), round(end * scale)) for start, end in spans]


def _line_profile(length: int, positions: np.ndarray, thickness: float) -> np.ndarray:
    """Coverage (0-1) along one axis of lines of `thickness` pixels at `positions`, antialiased."""
    coordinate = np.arange(length, dtype=np.float32)[:, None] + 0.5
    distance = np.abs(coordinate - positions[None, :]).min(axis=1)
    return np.clip(thickness / 2 + 0.5 - distance, 0, 1)


def _printed(reflectance: np.ndarray, coverage: np.ndarray, colour) -> None:
    reflectance *= 1 - coverage[..., None] * (1 - np.array(colour, dtype=np.float32) / 255)


def _ruled(rng, reflectance: np.ndarray) -> None:
    height, width = reflectance.shape[:2]
    spacing = rng.uniform(0.035, 0.06) * height
    positions = np.arange(rng.uniform(0, spacing), height, spacing, dtype=np.float32)
    colour = LINE_COLOURS[int(rng.integers(2))]
    rows = _line_profile(height, positions, rng.uniform(1.0, 3.0))
    _printed(reflectance, np.broadcast_to(rows[:, None], (height, width)), colour)
    if rng.random() < 0.5:  # a margin, down the left
        columns = _line_profile(width, np.array([rng.uniform(0.08, 0.15) * width], dtype=np.float32), 2.0)
        _printed(reflectance, np.broadcast_to(columns[None, :], (height, width)), MARGIN_COLOUR)


def _squared(rng, reflectance: np.ndarray) -> None:
    height, width = reflectance.shape[:2]
    spacing = rng.uniform(0.03, 0.05) * height
    thickness = rng.uniform(1.0, 2.0)
    colour = LINE_COLOURS[int(rng.integers(len(LINE_COLOURS)))]
    rows = _line_profile(height, np.arange(rng.uniform(0, spacing), height, spacing, dtype=np.float32), thickness)
    columns = _line_profile(width, np.arange(rng.uniform(0, spacing), width, spacing, dtype=np.float32), thickness)
    _printed(reflectance, np.maximum(rows[:, None], columns[None, :]), colour)


def _tilted(reflectance: np.ndarray, degrees: float) -> np.ndarray:
    """The sheet turned by `degrees` about the photo's centre, its corners filled with more sheet."""
    channels = []
    for channel in range(3):
        plane = Image.fromarray(np.ascontiguousarray(reflectance[:, :, channel]), "F")
        filled = float(np.median(reflectance[:, :, channel]))
        channels.append(np.asarray(plane.rotate(degrees, Image.Resampling.BILINEAR, fillcolor=filled)))
    return np.stack(channels, axis=2)


def _on_a_table(rng, reflectance: np.ndarray) -> np.ndarray:
    """The sheet shrunk back from one to four of the photo's sides, on a table's colour and grain."""
    height, width = reflectance.shape[:2]
    sides = rng.permutation(4)[:int(rng.integers(1, 5))]
    inset = [int(rng.uniform(0.03, 0.09) * (height if side < 2 else width)) if side in sides else 0
             for side in range(4)]  # top, bottom, left, right
    top, bottom, left, right = inset[0], height - inset[1], inset[2], width - inset[3]
    grain = 1 + 0.06 * np.sin(np.arange(height, dtype=np.float32) / rng.uniform(3, 9))[:, None]
    grain = grain + rng.normal(0, 0.02, (height, width)).astype(np.float32)
    table = np.array(TABLES[int(rng.integers(len(TABLES)))], dtype=np.float32) / 255 * grain[:, :, None]
    sheet = np.zeros((height, width), dtype=np.float32)
    sheet[top:bottom, left:right] = 1
    sheet = np.asarray(Image.fromarray(sheet, "F").rotate(rng.uniform(-TILT, TILT), Image.Resampling.BILINEAR))
    return reflectance * sheet[:, :, None] + table * (1 - sheet[:, :, None])


def _light(rng, kind: str, width: int, height: int) -> np.ndarray:
    """The light falling on each pixel, 1 at its brightest."""
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    x, y = columns / width - 0.5, rows / height - 0.5
    light = np.ones((height, width), dtype=np.float32)
    if kind != "plain" or rng.random() < 0.5:  # a gentle fall across the sheet
        angle = rng.uniform(0, 2 * math.pi)
        along = x * math.cos(angle) + y * math.sin(angle)
        light *= 1 - rng.uniform(0, LIGHT_FALLOFF) * (along - along.min()) / (along.max() - along.min())
    if kind == "gradient":
        angle = rng.uniform(0, 2 * math.pi)
        along = x * math.cos(angle) + y * math.sin(angle)
        light *= 1 - (1 - rng.uniform(0.45, 0.7)) * (along - along.min()) / (along.max() - along.min())
    elif kind == "shadow":
        angle = rng.uniform(0, 2 * math.pi)
        along = x * math.cos(angle) + y * math.sin(angle)
        edge = np.quantile(along, 1 - rng.uniform(1 / 3, 1 / 2))  # the shadow covers the rest
        penumbra = rng.uniform(0.01, 0.05)
        shade = 1 / (1 + np.exp(-(along - edge) / penumbra))
        light *= 1 - (1 - rng.uniform(0.4, 0.65)) * shade
    return light
