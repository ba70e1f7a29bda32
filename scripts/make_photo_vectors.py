"""Write the shared photo test vectors, tests/vectors/photos/*.json.

Each vector is a small photo of paper (tests/support/photos.py, a few hundred pixels a side,
its pixels as they are, before any JPEG) or a drawing that must pass unchanged, and what
lambda/paper.py and the segmentation make of it, so the page's JavaScript port
(web/js/paper.js) is held to the same ink and the same reading:

    {"name", "description", "width", "height", "channels", "pixels_base64"   (as tests/vectors/),
     "unchanged": whether the picture is no photo, and its ink is preprocessing.ink_levels's,
     "error": null, or "blank" (no digit found), with nothing below but the ink if there is any,
     "ink": {"span", "top", "left", "width", "height", "sha256"}: paper.ink_levels's Ink, its
            levels hashed as int32 little-endian bytes, row by row (none if it found no ink),
     "candidates": [[first slice, last slice], ...]   segmentation.find's, in its order,
     "digits": [...]        the shipped model's likeliest digit for each candidate,
     "confidences": [...]   its probability, "seconds": [...] the second highest,
     "sure": the card's threshold below which an answer is not sure (choose's `sure`),
     "not_a_digit": the card's level below which it is no digit at all (choose's `not_a_digit`),
     "reading": [[first, last], ...]   what `choose` keeps given those answers, `sure` and `not_a_digit`,
     "number": the digits the shipped model reads, "label": the number written (or null)}

Everything is compared exactly. Run after any change to the paper stage or the photos:

    .venv/bin/python -m scripts.make_photo_vectors   # or: make vectors
"""

from __future__ import annotations

import base64
import hashlib

import numpy as np

import classifier
import paper
import preprocessing
import segmentation
from input_errors import BlankImageError
from scripts.make_number_vectors import Picture  # a picture, what it shows and what it should read
from tests.support import photos
from tests.support.drawing import number_canvas
from tests.support.vectors import VECTORS_DIR, write_vectors

PHOTOS_DIR = VECTORS_DIR / "photos"
SIZE = (320, 240)  # width, height: small, but photos still


def photo(kind: str, seed: int, digits: int, table: bool) -> photos.Photo:
    from model.data import load_mnist

    mnist = load_mnist(allow_download=False)
    return photos.photo(np.random.default_rng(seed), kind, mnist.x_test, mnist.y_test, digits=digits,
                        table=table, size=SIZE)


def photographed(name: str, kind: str, seed: int, digits: int, table: bool, what: str) -> Picture:
    made = photo(kind, seed, digits, table)
    return Picture(name, f"{SIZE[0]}x{SIZE[1]} RGB photo, {what} ({made.ink} ink on {made.paper} paper"
                   f"{', the table in view' if table else ''}).", made.pixels, made.text or None)


def pictures() -> list[Picture]:
    shadow = photo("shadow", 0, 2, True)
    ruled = photo("ruled", 0, 2, False)
    rng = np.random.default_rng(5)
    light_on_dark = 255 - number_canvas("38", height=200, mode="black-on-white")[:, :, 0]
    light_on_dark = np.clip(light_on_dark.astype(int) + rng.integers(0, 30, light_on_dark.shape), 0, 255)
    return [
        photographed("photo-plain", "plain", 0, 1, False, "one digit on plain paper"),
        photographed("photo-gradient", "gradient", 1, 2, False, "the light falling across the sheet"),
        Picture("photo-shadow", f"{SIZE[0]}x{SIZE[1]} RGB photo, a shadow over a third to a half of the sheet, "
                "the sheet's edge and the table in view.", shadow.pixels, shadow.text),
        Picture("photo-shadow-grey", "The same photo in grey (one channel).",
                np.rint(shadow.pixels.astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8), shadow.text),
        Picture("photo-ruled", f"{SIZE[0]}x{SIZE[1]} RGB photo, ruled paper: the lines cross the strokes.",
                ruled.pixels, ruled.text),
        Picture("photo-ruled-rgba", "The same photo as the page's canvas gives it: RGBA, every pixel opaque "
                "(read as RGB).", np.dstack([ruled.pixels, np.full(ruled.pixels.shape[:2], 255, np.uint8)]),
                ruled.text),
        photographed("photo-squared", "squared", 1, 2, True, "squared paper"),
        photographed("photo-ballpoint-on-cream", "ballpoint on cream", 2, 2, False, "blue ballpoint on cream paper"),
        photographed("photo-blank-sheet", "ruled", 1, 0, True, "a blank ruled sheet: no digit found"),
        Picture("drawing-transparent-canvas", "The page's canvas (RGBA, black ink on transparent): unchanged.",
                number_canvas("27", mode="transparent-black"), "27"),
        Picture("drawing-flat-paper", "A drawing on flat white paper (RGB): unchanged.",
                number_canvas("305"), "305"),
        Picture("drawing-light-on-dark-noisy", "White digits on black with noise up to 29/255 (grey): its "
                "border is not flat, but its paper is dark: unchanged.", light_on_dark.astype(np.uint8), "38"),
    ]


def ink_summary(ink: preprocessing.Ink) -> dict:
    levels = np.ascontiguousarray(ink.levels, dtype="<i4")
    return {"span": ink.span, "top": ink.top, "left": ink.left, "width": levels.shape[1], "height": levels.shape[0],
            "sha256": hashlib.sha256(levels.tobytes()).hexdigest()}


def same(ink: preprocessing.Ink, other: preprocessing.Ink) -> bool:
    return (ink.span, ink.top, ink.left) == (other.span, other.top, other.left) and \
        np.array_equal(ink.levels, other.levels)


def vector(picture: Picture, model: classifier.Classifier) -> dict:
    pixels = picture.pixels
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    entry = {"name": picture.name, "description": picture.description, "width": pixels.shape[1],
             "height": pixels.shape[0], "channels": channels,
             "pixels_base64": base64.b64encode(np.ascontiguousarray(pixels).tobytes()).decode(),
             "unchanged": paper.photo_grey(pixels) is None, "label": picture.label}
    try:
        ink = paper.ink_levels(pixels)
    except BlankImageError:
        return {**entry, "error": "blank"}
    if entry["unchanged"]:
        assert same(ink, preprocessing.ink_levels(pixels)), picture.name
    entry["ink"] = ink_summary(ink)
    try:
        found = segmentation.find(ink)
    except BlankImageError:  # weak ink only
        return {**entry, "error": "blank"}
    probabilities = model.predict(np.stack([found.digit_image(candidate) for candidate in found.candidates]))
    digits, confidences, seconds = segmentation.answers(probabilities)
    rule = model.uncertainty
    reading = segmentation.choose(found, digits, confidences, seconds, rule.threshold, rule.not_a_digit_below)
    index = {candidate: number for number, candidate in enumerate(found.candidates)}
    return {**entry, "error": None,
            "candidates": [list(candidate) for candidate in found.candidates], "digits": digits,
            "confidences": confidences, "seconds": seconds,
            "sure": rule.threshold, "not_a_digit": rule.not_a_digit_below,
            "reading": [list(candidate) for candidate in reading],
            "number": "".join(str(int(probabilities[index[candidate]].argmax())) for candidate in reading)}


def main() -> None:
    model = classifier.load()
    vectors = [vector(picture, model) for picture in pictures()]
    for entry in vectors:
        read = entry.get("number")
        print(f"  {entry['name']:32s} {'unchanged' if entry['unchanged'] else 'photo':10s} "
              f"{entry['error'] or read!s:8s} label {entry['label']}")
    write_vectors(PHOTOS_DIR, vectors)


if __name__ == "__main__":
    main()
