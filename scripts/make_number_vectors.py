"""Write the shared number-reading test vectors, tests/vectors/numbers/*.json.

Each vector is a picture and what lambda/segmentation.py makes of it, so the page's
JavaScript port (web/js/segmentation.js) is held to the same pieces, candidates and choice:

    {"name", "description", "width", "height", "channels", "pixels_base64"   (as tests/vectors/),
     "one_digit": whether the picture is read as one digit (all its ink),
     "error": null, "blank" (no ink) or "too-many" (more than MAX_PIECES pieces or MAX_PARTS parts,
              refused before the model, with nothing below; or more than MAX_DIGITS digits read,
              with everything below but "reading" and "number"),
     "factor": the grid's pooling factor,
     "slices": [[part, top, bottom, left, right, crossed], ...]   (grid cells; bottom, right exclusive),
     "candidates": [[first slice, last slice], ...]               (in find's order),
     "boxes": [[x, y, width, height], ...]                         (each candidate's box in the picture),
     "images_base64": [...]     each candidate's 28 x 28 model input, round(255 x value) as bytes,
     "digits": [...]            the shipped model's likeliest digit for each candidate,
     "confidences": [...]       its probability, "seconds": [...] the second highest (as `choose` takes them),
     "sure": the card's threshold below which an answer is not sure (choose's `sure`),
     "not_a_digit": the card's level below which it is no digit at all (choose's `not_a_digit`),
     "reading": [[first, last], ...]   what `choose` keeps given those confidences, `sure` and `not_a_digit`,
     "looked_again": null when `look_again` finds nothing to look at again (the reading stands), else
              what it finds: {"slices", "candidates", "boxes", "images_base64", "confidences" (all of
              its candidates, as above), "digits", "seconds", "asked": [index, ...] (its candidates read in the second
              batch: the new ones, in order), "reading" (what `choose` keeps over them)},
     "number": the digits the shipped model reads, after any second look,
     "label": the number drawn (or null)}

Compare images with a tolerance of one level (a value within 1/255 + 1e-6); everything else
exactly. The model's confidences are inputs of `choose` here, so the JavaScript side checks
its choice without running the model. Run after any change to the segmentation:

    .venv/bin/python -m scripts.make_number_vectors   # or: make vectors
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

import classifier
import pipeline
import preprocessing
import segmentation
from input_errors import BlankImageError, TooManyDigits
from model.written_numbers import written_number
from tests.support.drawing import number_canvas
from tests.support.vectors import VECTORS_DIR, write_vectors

NUMBERS_DIR = VECTORS_DIR / "numbers"


@dataclass
class Picture:
    name: str
    description: str
    pixels: np.ndarray
    label: str | None
    one_digit: bool = False


def mnist_number(indices: list[int], kind: str, seed: int) -> tuple[np.ndarray, str]:
    from model.data import load_mnist

    mnist = load_mnist(allow_download=False)
    number = written_number(np.random.default_rng(seed), indices, mnist.x_test, mnist.y_test, kind)
    return number.picture, number.text


def drawn(text: str, **options) -> np.ndarray:
    """Dark ink on light paper, grey: the smallest file for the same drawing."""
    return 255 - number_canvas(text, mode="white-on-black", **options)


def with_dot(picture: np.ndarray) -> np.ndarray:
    """A speck of ink beside the first digit: it joins that digit, it is no digit of its own."""
    picture = picture.copy()
    picture[150:156, 20:26] = 0
    return picture


def with_faint_hairline(picture: np.ndarray) -> np.ndarray:
    """A faint line, far thinner than the pen, beside the last digit (as some scanned digits
    carry): no ink of any digit, and no 1 of its own."""
    picture = picture.copy()
    right = int(np.flatnonzero((picture < 128).any(axis=0)).max())
    np.minimum(picture[70:150, right + 14:right + 16], 150, out=picture[70:150, right + 14:right + 16])
    return picture


def dash_and_hairline() -> np.ndarray:
    picture = np.full((120, 200), 255, dtype=np.uint8)
    picture[55:70, 20:110] = 0  # a dash: the largest piece, far shorter than the hairline
    picture[10:110, 150] = 0  # a hairline: the tallest piece, a fraction of the dash's area
    return picture


def scribbled_w() -> np.ndarray:
    """A W scribbled across the pad in one stroke: no digit, though each of its strokes is a 1."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", (400, 280), 255)
    corners = [(0.15, 0.2), (0.32, 0.8), (0.5, 0.35), (0.68, 0.8), (0.85, 0.2)]
    ImageDraw.Draw(picture).line([(x * 400, y * 280) for x, y in corners], fill=0, width=16, joint="curve")
    return np.asarray(picture)


def dust() -> np.ndarray:
    picture = np.full((200, 200), 255, dtype=np.uint8)
    picture[1::4, 1::4] = 0  # 2,500 one-pixel specks
    return picture


def pictures() -> list[Picture]:
    apart, apart_text = mnist_number([1, 2, 3, 4], "apart", 1)
    close, close_text = mnist_number([5, 6, 7], "close", 2)
    touching, touching_text = mnist_number([8, 9, 10], "touching", 4)
    narrow, narrow_text = mnist_number([30, 31], "touching", 35)
    torn, torn_text = mnist_number([265, 1063], "touching", 111)
    pairs, pairs_text = mnist_number([1897, 5268, 7954, 6011], "touching", 346)
    return [
        Picture("drawn-apart", "A number drawn on a canvas as the page draws it, digits well apart (RGB).",
                drawn("2024"), "2024"),
        Picture("drawn-touching", "Three drawn digits whose strokes touch: one part, split by cut paths.",
                drawn("305", gap=-4), "305"),
        Picture("drawn-transparent", "The page's transparent canvas (RGBA), black ink, two digits close.",
                number_canvas("17", gap=6, mode="transparent-black"), "17"),
        Picture("heights-and-order", "Digits of different sizes at different heights, read left to right.",
                drawn("472", sizes=[80, 150, 110], tops=[10, 30, 70], height=220), "472"),
        Picture("speck-joins-a-digit", "A speck of ink beside a digit: a mark, joined to the digit, not read.",
                with_dot(drawn("58", height=200)), "58"),
        Picture("faint-hairline", "A faint hairline beside a 7: fainter and far thinner than the pen, left "
                "out of every part, not read as a 1.", with_faint_hairline(drawn("17")), "17"),
        Picture("mnist-apart", "MNIST test digits 1-4 written apart (grey, dark on light).", apart, apart_text),
        Picture("mnist-close", "MNIST test digits 5-7 written a few percent of the height apart.", close, close_text),
        Picture("mnist-touching", "MNIST test digits 8-10 touching or crossing.", touching, touching_text),
        Picture("mnist-touching-narrow", "A 3 touching a 1: a part too narrow to cut, read unsure, then cut on a "
                "second look.", narrow, narrow_text),
        Picture("mnist-touching-torn", "A 1 crossing a 9, one part: read whole, the model doubts it and is torn "
                "between two digits, so the reading keeps the two it holds.", torn, torn_text),
        Picture("mnist-touching-two-pairs", "Two pairs of touching digits, each a part too narrow to cut at once "
                "that the model calls no digit: read first as one answer, then each pair is cut on a second "
                "look.", pairs, pairs_text),
        Picture("scribbled-w", "A W scribbled in one stroke: its strokes read as sure 1s, but all of it is no "
                "digit, and it stays one answer.", scribbled_w(), None),
        Picture("wide-and-pooled", "Two digits 1,000 pixels apart: the grid of a picture this wide is pooled.",
                drawn("96", height=130, size=100, gap=1000, stroke=12), "96"),
        Picture("one-digit-mode", "A number read as one digit (?read=digit): all the ink is one candidate.",
                drawn("42"), None, one_digit=True),
        Picture("thirteen-digits", "Thirteen digits: more than a number may have, refused.",
                drawn("1234567890123", size=60, gap=14, height=100, stroke=7), None),
        Picture("blank", "White paper only.", np.full((120, 300), 255, dtype=np.uint8), None),
        Picture("dash-and-hairline", "A thick dash beside a one-pixel hairline: each would be a mark beside the "
                "other (short; small), but the largest piece never is.", dash_and_hairline(), None),
        Picture("dust", "Specks all over: more separate pieces than any number has, refused before the model.",
                dust(), None),
    ]


def vector(picture: Picture, model: classifier.Classifier) -> dict:
    pixels = picture.pixels
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    result = {
        "name": picture.name, "description": picture.description,
        "width": int(pixels.shape[1]), "height": int(pixels.shape[0]), "channels": channels,
        "pixels_base64": base64.b64encode(np.ascontiguousarray(pixels).tobytes()).decode("ascii"),
        "one_digit": picture.one_digit, "error": None, "label": picture.label,
    }
    try:
        ink = preprocessing.ink_levels(pixels)
        found = segmentation.Found.one_digit(ink) if picture.one_digit else segmentation.find(ink)
    except BlankImageError:
        return {**result, "error": "blank"}
    except TooManyDigits:  # refused before any model call
        return {**result, "error": "too-many"}
    probabilities = model.predict(np.stack([found.digit_image(candidate) for candidate in found.candidates]))
    digits, confidences, seconds = segmentation.answers(probabilities)
    sure, not_a_digit = model.uncertainty.threshold, model.uncertainty.not_a_digit_below
    result.update({"factor": found.factor, **geometry(found), "digits": digits, "confidences": confidences,
                   "seconds": seconds, "sure": sure, "not_a_digit": not_a_digit})
    try:
        reading = segmentation.choose(found, digits, confidences, seconds, sure, not_a_digit)
    except TooManyDigits:  # refused once read: more digits than a number may have
        return {**result, "error": "too-many"}
    result["reading"] = [list(candidate) for candidate in reading]
    result["looked_again"] = None
    index = {candidate: number for number, candidate in enumerate(found.candidates)}
    if not picture.one_digit:  # the function's second look, as it reads a request
        again, probabilities, chosen = pipeline.look_again(model, found, probabilities,
                                                           [index[candidate] for candidate in reading])
        if again is not found:
            read_first = {found.key(candidate) for candidate in found.candidates}
            found, reading = again, [again.candidates[number] for number in chosen]
            index = {candidate: number for number, candidate in enumerate(found.candidates)}
            digits, confidences, seconds = segmentation.answers(probabilities)
            result["looked_again"] = {
                **geometry(found), "digits": digits, "confidences": confidences, "seconds": seconds,
                "asked": [number for number, candidate in enumerate(found.candidates)
                          if found.key(candidate) not in read_first],
                "reading": [list(candidate) for candidate in reading]}
    return {**result, "number": "".join(str(int(probabilities[index[candidate]].argmax())) for candidate in reading)}


def geometry(found: segmentation.Found) -> dict:
    """The slices, the candidates, their boxes and their model inputs."""
    return {
        "slices": [[piece.part, piece.top, piece.bottom, piece.left, piece.right, piece.crossed]
                   for piece in found.slices],
        "candidates": [list(candidate) for candidate in found.candidates],
        "boxes": [found.box(candidate) for candidate in found.candidates],
        "images_base64": [base64.b64encode(np.rint(found.digit_image(candidate) * 255).astype(np.uint8).tobytes())
                          .decode("ascii") for candidate in found.candidates],
    }


def main() -> None:
    model = classifier.load()
    write_vectors(NUMBERS_DIR, [vector(picture, model) for picture in pictures()])


if __name__ == "__main__":
    main()
