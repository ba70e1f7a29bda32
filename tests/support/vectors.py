"""The shared preprocessing test vectors in tests/vectors/ (written by scripts/make_vectors.py)."""

from __future__ import annotations

import base64
import json

import numpy as np

from tests.support import PROJECT_ROOT

VECTORS_DIR = PROJECT_ROOT / "tests" / "vectors"


def load_vectors() -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(VECTORS_DIR.glob("*.json"))]


def vector_pixels(vector: dict) -> np.ndarray:
    data = np.frombuffer(base64.b64decode(vector["pixels_base64"]), dtype=np.uint8)
    shape = (vector["height"], vector["width"]) + ((vector["channels"],) if vector["channels"] > 1 else ())
    return data.reshape(shape)
