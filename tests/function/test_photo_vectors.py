"""lambda/paper.py against the shared photo vectors (tests/vectors/photos/), which the page's
JavaScript port is held to as well (tests/web/js/paper.test.mjs). A change to the paper stage
that moves any level of any photo's ink fails here until the vectors are regenerated
(`make vectors`), and then fails in the page until the port follows."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import paper
import preprocessing
import segmentation
from input_errors import BlankImageError
from tests.support.vectors import VECTORS_DIR, vector_pixels

VECTORS = [json.loads(path.read_text()) for path in sorted((VECTORS_DIR / "photos").glob("*.json"))]


def test_the_vectors_cover_the_cases():
    names = {vector["name"] for vector in VECTORS}
    assert {"photo-plain", "photo-gradient", "photo-shadow", "photo-ruled", "photo-squared",
            "photo-ballpoint-on-cream", "photo-blank-sheet", "drawing-transparent-canvas"} <= names
    assert {vector["channels"] for vector in VECTORS} == {1, 3, 4}
    assert any(vector["unchanged"] for vector in VECTORS) and not all(vector["unchanged"] for vector in VECTORS)


def summary(ink: preprocessing.Ink) -> dict:
    levels = np.ascontiguousarray(ink.levels, dtype="<i4")
    return {"span": ink.span, "top": ink.top, "left": ink.left, "width": levels.shape[1], "height": levels.shape[0],
            "sha256": hashlib.sha256(levels.tobytes()).hexdigest()}


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_ink_candidates_and_reading_match_the_vector(vector):
    pixels = vector_pixels(vector)
    assert (paper.photo_grey(pixels) is None) is vector["unchanged"]
    if "ink" not in vector:
        with pytest.raises(BlankImageError):
            paper.ink_levels(pixels)
        return
    ink = paper.ink_levels(pixels)
    assert summary(ink) == vector["ink"]
    if vector["unchanged"]:
        assert summary(preprocessing.ink_levels(pixels)) == vector["ink"]
    if vector["error"] == "blank":
        with pytest.raises(BlankImageError):
            segmentation.find(ink)
        return
    found = segmentation.find(ink)
    assert [list(candidate) for candidate in found.candidates] == vector["candidates"]
    reading = segmentation.choose(found, vector["digits"], vector["confidences"], vector["seconds"], vector["sure"],
                                  vector["not_a_digit"])
    assert [list(candidate) for candidate in reading] == vector["reading"]
    assert vector["number"] == vector["label"]  # the shipped model reads every photo vector right
