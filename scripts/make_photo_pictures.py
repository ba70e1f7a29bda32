"""Draw the README's pictures of photos of paper: for each kind of paper and light, a photo
(tests/support/photos.py) and the ink the function finds in it (lambda/paper.py), side by
side, as small PNGs in docs/photos/.

    .venv/bin/python -m scripts.make_photo_pictures [--seed 3]

The photo is decoded as the function decodes it (a 1600x1200 JPEG is read at 800x600); the
ink is drawn dark on white, as strong as the Ink says (levels / span), what the segmentation
counts as ink (at least preprocessing.INK_THRESHOLD) in full black.
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

import paper
import pipeline
import preprocessing
from model.data import load_mnist
from tests.support import PROJECT_ROOT, photos

PICTURES_DIR = PROJECT_ROOT / "docs" / "photos"
WIDTH = 320  # pixels, each half


def ink_picture(pixels: np.ndarray) -> np.ndarray:
    """The ink paper.ink_levels finds, dark on white, over the whole picture."""
    ink = paper.ink_levels(pixels)
    height, width = ink.levels.shape
    strength = np.zeros(pixels.shape[:2])
    strength[ink.top:ink.top + height, ink.left:ink.left + width] = np.minimum(ink.levels / ink.span, 1.0)
    strong = preprocessing.least_level(preprocessing.INK_THRESHOLD, ink.span) / ink.span
    strength[strength >= strong] = 1.0
    return np.rint(255 * (1 - strength)).astype(np.uint8)


def side_by_side(pixels: np.ndarray, ink: np.ndarray) -> Image.Image:
    height = round(pixels.shape[0] * WIDTH / pixels.shape[1])
    photo = Image.fromarray(pixels).convert("RGB").resize((WIDTH, height), Image.Resampling.LANCZOS)
    found = Image.fromarray(ink).convert("RGB").resize((WIDTH, height), Image.Resampling.LANCZOS)
    both = Image.new("RGB", (2 * WIDTH + 8, height), "white")
    both.paste(photo, (0, 0))
    both.paste(found, (WIDTH + 8, 0))
    return both


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=3)
    options = parser.parse_args()
    mnist = load_mnist(allow_download=False)
    PICTURES_DIR.mkdir(parents=True, exist_ok=True)
    for index, kind in enumerate(photos.KINDS):
        rng = np.random.default_rng(options.seed + index)
        made = photos.photo(rng, kind, mnist.x_test, mnist.y_test, digits=3, size=(1600, 1200),
                            table=index % 2 == 1)
        pixels = pipeline.decode("image/jpeg", made.jpeg, 28).pixels
        path = PICTURES_DIR / f"{kind.replace(' ', '-')}.png"
        side_by_side(pixels, ink_picture(pixels)).save(path, optimize=True)
        print(f"wrote {path.relative_to(PROJECT_ROOT)} ({made.text}, {made.ink} ink on {made.paper} paper"
              f"{', the table in view' if made.table else ''})")


if __name__ == "__main__":
    main()
