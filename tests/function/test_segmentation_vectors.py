"""lambda/segmentation.py against the shared number vectors (tests/vectors/numbers/), which the
page's JavaScript port is held to as well (tests/web/js/segmentation.test.mjs). A change to the
segmentation that moves any piece, cut, candidate or choice fails here until the vectors are
regenerated (`make vectors`), and then fails in the page until the port follows."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

import preprocessing
import segmentation
from input_errors import BlankImageError, TooManyDigits
from tests.support.vectors import VECTORS_DIR, vector_pixels

VECTORS = [json.loads(path.read_text()) for path in sorted((VECTORS_DIR / "numbers").glob("*.json"))]


def test_the_vectors_cover_the_cases():
    names = {vector["name"] for vector in VECTORS}
    assert {"drawn-touching", "speck-joins-a-digit", "heights-and-order", "one-digit-mode", "thirteen-digits",
            "wide-and-pooled", "blank", "dash-and-hairline", "dust"} <= names
    assert any(vector.get("factor", 1) > 1 for vector in VECTORS)  # a pooled grid
    assert any(piece[5] > 0 for vector in VECTORS for piece in vector.get("slices", []))  # a cut through ink
    assert any(vector.get("looked_again") for vector in VECTORS)  # a second look


def found_for(vector: dict) -> segmentation.Found:
    ink = preprocessing.ink_levels(vector_pixels(vector))
    return segmentation.Found.one_digit(ink) if vector["one_digit"] else segmentation.find(ink)


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_pieces_candidates_images_and_choice_match_the_vector(vector):
    if vector["error"] and "candidates" not in vector:  # refused before any model call
        error = {"blank": BlankImageError, "too-many": TooManyDigits}[vector["error"]]
        with pytest.raises(error):
            found_for(vector)
        return
    found = found_for(vector)
    assert found.factor == vector["factor"]
    assert_geometry(found, vector)
    if vector["error"]:  # read, then refused: more digits than a number may have
        with pytest.raises(TooManyDigits):
            segmentation.choose(found, vector["digits"], vector["confidences"], vector["seconds"], vector["sure"],
                                vector["not_a_digit"])
        return
    reading = segmentation.choose(found, vector["digits"], vector["confidences"], vector["seconds"], vector["sure"],
                                vector["not_a_digit"])
    assert [list(candidate) for candidate in reading] == vector["reading"]
    again = segmentation.look_again(found, reading, vector["confidences"], vector["sure"])
    if vector["looked_again"] is None:
        assert again is None
    else:
        looked = vector["looked_again"]
        assert_geometry(again, looked)
        new = {again.key(candidate) for candidate in again.candidates} - {found.key(candidate)
                                                                          for candidate in found.candidates}
        assert [index for index, candidate in enumerate(again.candidates) if again.key(candidate) in new] \
            == looked["asked"]
        reading = segmentation.choose(again, looked["digits"], looked["confidences"], looked["seconds"], vector["sure"],
                                      vector["not_a_digit"])
        assert [list(candidate) for candidate in reading] == looked["reading"]
    assert len(reading) == len(vector["number"])
    if vector["label"]:
        assert vector["number"] == vector["label"]  # the shipped model reads every labelled vector right


def assert_geometry(found: segmentation.Found, vector: dict) -> None:
    """The slices, candidates, boxes and model inputs are the vector's."""
    assert [[piece.part, piece.top, piece.bottom, piece.left, piece.right, piece.crossed]
            for piece in found.slices] == vector["slices"]
    assert [list(candidate) for candidate in found.candidates] == vector["candidates"]
    assert [found.box(candidate) for candidate in found.candidates] == vector["boxes"]
    for candidate, expected in zip(found.candidates, vector["images_base64"], strict=True):
        image = np.rint(found.digit_image(candidate) * 255).astype(np.int16)
        wanted = np.frombuffer(base64.b64decode(expected), dtype=np.uint8).reshape(image.shape)
        assert np.abs(image - wanted).max() <= 1, candidate
