"""Write the shared preprocessing test vectors, tests/vectors/*.json.

Each vector is a picture (raw uint8 pixels) and what `to_mnist` makes of it, so the
page's JavaScript port is held to the same answers as lambda/preprocessing.py:

    {"name", "description", "width", "height", "channels": 1 | 3 | 4,
     "pixels_base64": base64 of the row-major height x width x channels uint8 bytes,
     "expected": 28 x 28 floats rounded to 6 decimals, or null,
     "error": null, or "blank" when to_mnist must refuse the picture,
     "label": the digit drawn, or null}

Compare with an absolute tolerance of 1e-5 (the expected values are rounded to 6
decimals and computed in float64). Run after any change to the preprocessing:

    .venv/bin/python -m scripts.make_vectors   # or: make vectors
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

from preprocessing import BlankImageError, to_mnist
from tests.support.drawing import canvas, coverage, crossed_hairlines
from tests.support.images import jpeg_round_trip
from tests.support.vectors import VECTORS_DIR, write_vectors


@dataclass
class Picture:
    name: str
    description: str
    pixels: np.ndarray
    label: int | None


def on_paper(ink: np.ndarray, paper: tuple[int, int, int], pen: tuple[int, int, int]) -> np.ndarray:
    mixed = np.asarray(paper) * (1 - ink[:, :, None]) + np.asarray(pen) * ink[:, :, None]
    return np.rint(mixed).astype(np.uint8)


def threshold_specks() -> np.ndarray:
    picture = canvas(2, width=120, height=120, size=70, left=40, top=25, stroke=6, mode="white-on-black")
    picture[2, 2] = picture[117, 117] = 51
    picture[60, 100] = 52
    return picture


def mnist_test_digit(index: int) -> tuple[np.ndarray, int]:
    from model.data import load_mnist

    mnist = load_mnist(allow_download=False)
    return mnist.x_test[index], int(mnist.y_test[index])


def pictures() -> list[Picture]:
    rng = np.random.default_rng(3)
    mnist_pixels, mnist_label = mnist_test_digit(0)
    speckles = np.full((160, 160, 3), 255, dtype=np.uint8)
    speckles[rng.integers(0, 160, 40), rng.integers(0, 160, 40)] = 225  # ink 0.12: below the threshold
    faint_background = canvas(5, width=160, height=160, stroke=11, mode="white-on-black")
    faint_background = np.maximum(faint_background, rng.integers(0, 30, (160, 160)).astype(np.uint8))
    return [
        Picture("canvas-transparent-black-ink",
                "280x280 RGBA canvas as toDataURL() gives it: black strokes on a transparent "
                "background stored as (0,0,0,0); alpha is composited onto white.",
                canvas(7, mode="transparent-black"), 7),
        Picture("canvas-transparent-white-ink",
                "280x280 RGBA canvas with white strokes on a transparent background: the visible "
                "pixels are light, so alpha is composited onto black.",
                canvas(3, mode="transparent-white"), 3),
        Picture("dark-on-light-rgb", "200x200 RGB, black digit on white paper: inverted.",
                canvas(2, width=200, height=200, stroke=13), 2),
        Picture("light-on-dark-grey", "200x200 greyscale, white digit on black, as MNIST: kept.",
                canvas(4, width=200, height=200, stroke=13, mode="white-on-black"), 4),
        Picture("blue-ink-on-grey-paper",
                "160x160 RGB, blue ink on mid-grey paper: the border median is the paper, ink is "
                "measured from it, not from pure white.",
                on_paper(coverage(160, 160, 5, left=35, top=24, size=112, stroke=10) , (178, 172, 160),
                         (30, 40, 130)), 5),
        Picture("off-centre", "280x280 RGB, a small digit in the top-right corner: cropped and centred.",
                canvas(6, size=90, left=180, top=8, stroke=10), 6),
        Picture("tiny", "280x280 RGB, a digit 14 pixels tall drawn with a 2-pixel pen: scaled up.",
                canvas(7, size=14, left=120, top=150, stroke=2), 7),
        Picture("huge", "160x160 RGB, a digit touching all four edges with a thick pen.",
                canvas(0, width=160, height=160, size=160, left=20, top=0, stroke=16), 0),
        Picture("thin-stroke", "280x280 RGB, a 2-pixel pen: faint after shrinking, stretched to full ink.",
                canvas(6, stroke=2), 6),
        Picture("thick-stroke", "280x280 RGB, a 44-pixel pen.", canvas(8, stroke=44), 8),
        Picture("jpeg-noise",
                "200x200 RGB decoded from a quality-40 JPEG: ringing around the strokes stays below "
                "the ink threshold and does not widen the box.",
                jpeg_round_trip(canvas(9, width=200, height=200, stroke=13), 40), 9),
        Picture("wide-canvas", "360x120 greyscale, a 1 in the middle of a wide strip: aspect kept.",
                canvas(1, width=360, height=120, stroke=9, mode="white-on-black"), 1),
        Picture("faint-background-noise",
                "160x160 greyscale, white digit on black with random noise up to 29/255 everywhere.",
                faint_background, 5),
        Picture("specks-at-the-ink-threshold",
                "120x120 greyscale, a white digit on black with specks at level 51 in two corners (just "
                "below INK_THRESHOLD = 51.5/255: ignored) and at level 52 beside it (counted, so they "
                "widen the box).", threshold_specks(), 2),
        Picture("pooled-thin-pen",
                "460x460 greyscale, white digit on black drawn with a 2-pixel pen: the 292-pixel crop is "
                "pooled by 2 taking each block's maximum (the strokes are thin), then thickened.",
                canvas(6, width=460, height=460, stroke=2, mode="white-on-black"), 6),
        Picture("pooled-thick-pen",
                "300x330 greyscale, white digit on black drawn with a 30-pixel pen: the 300-pixel crop is "
                "pooled by 2 taking each block's mean.",
                canvas(4, width=300, height=330, size=300, stroke=30, mode="white-on-black"), 4),
        Picture("pooled-crossed-hairlines",
                "400x400 greyscale, two 1-pixel black diagonals on white: pooled by 2 by the maximum, then "
                "thickened (a big picture of hairlines costs no more than a small one).",
                crossed_hairlines(400), None),
        Picture("mnist-test-digit", "MNIST test digit 0 as a 28x28 PNG would give it: almost unchanged.",
                mnist_pixels, mnist_label),
        Picture("blank-transparent", "140x140 RGBA, nothing drawn (all zero).",
                np.zeros((140, 140, 4), dtype=np.uint8), None),
        Picture("blank-white", "200x200 RGB, white paper.", np.full((200, 200, 3), 255, dtype=np.uint8), None),
        Picture("faint-marks-only", "160x160 RGB, white paper with a few faint grey specks (ink 0.12).",
                speckles, None),
    ]


def vector(picture: Picture) -> dict:
    pixels = picture.pixels
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    try:
        expected, error = np.round(to_mnist(pixels).astype(np.float64), 6).tolist(), None
    except BlankImageError:
        expected, error = None, "blank"
    return {
        "name": picture.name,
        "description": picture.description,
        "width": int(pixels.shape[1]),
        "height": int(pixels.shape[0]),
        "channels": channels,
        "pixels_base64": base64.b64encode(np.ascontiguousarray(pixels).tobytes()).decode("ascii"),
        "expected": expected,
        "error": error,
        "label": picture.label,
    }


def main() -> None:
    write_vectors(VECTORS_DIR, [vector(picture) for picture in pictures()])


if __name__ == "__main__":
    main()
