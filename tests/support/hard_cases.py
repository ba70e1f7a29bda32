"""The drawn hard cases: the ways real drawings differ from MNIST's digits.

One table, used by the recognition tests and by bench/function_accuracy.py, so the two
always count the same cases. Each case maps a digit to a picture of it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tests.support.drawing import canvas
from tests.support.images import jpeg_round_trip


def _drawn(**options) -> Callable[[int], np.ndarray]:
    return lambda digit: canvas(digit, **options)


def _enlarged(factor: int, **options) -> Callable[[int], np.ndarray]:
    """Drawn on the usual canvas, then every pixel repeated factor x factor times: a big
    picture whose crop is pooled before preprocessing thickens or scales it."""
    return lambda digit: np.kron(canvas(digit, **options), np.ones((factor, factor, 1), dtype=np.uint8))


HARD_CASES: dict[str, Callable[[int], np.ndarray]] = {
    "usual canvas (280x280, 18 px pen)": _drawn(),
    "transparent canvas, black ink": _drawn(mode="transparent-black"),
    "transparent canvas, white ink": _drawn(mode="transparent-white"),
    "light on dark": _drawn(mode="white-on-black"),
    "1-pixel pen": _drawn(stroke=1),
    "2-pixel pen": _drawn(stroke=2),
    "70-pixel pen": _drawn(stroke=70),
    "tiny (14 px tall)": _drawn(size=14, stroke=2, left=100, top=100),
    "off-centre, small, in a corner": _drawn(size=90, left=180, top=8, stroke=10),
    "huge, touching the edges": _drawn(size=280, top=0, stroke=30),
    "wide handwriting": _drawn(aspect=1.0),
    "narrow handwriting": _drawn(aspect=0.5),
    "JPEG, quality 30": lambda digit: jpeg_round_trip(canvas(digit), 30),
    "840x840 canvas, 3-pixel pen": _enlarged(3, stroke=1),
    "840x840 canvas, 54-pixel pen": _enlarged(3),
}


def pictures(case: str) -> list[np.ndarray]:
    """The digits 0-9 drawn as `case` draws them."""
    return [HARD_CASES[case](digit) for digit in range(10)]
