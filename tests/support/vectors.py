"""The shared preprocessing test vectors in tests/vectors/ (written by scripts/make_vectors.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from tests.support import PROJECT_ROOT

VECTORS_DIR = PROJECT_ROOT / "tests" / "vectors"


def load_vectors() -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(VECTORS_DIR.glob("*.json"))]


def vector_pixels(vector: dict) -> np.ndarray:
    data = np.frombuffer(base64.b64decode(vector["pixels_base64"]), dtype=np.uint8)
    shape = (vector["height"], vector["width"]) + ((vector["channels"],) if vector["channels"] > 1 else ())
    return data.reshape(shape)


def write_vectors(folder: Path, vectors: list[dict]) -> None:
    """Write each vector as folder/<its name>.json, and remove the folder's other vectors."""
    folder.mkdir(parents=True, exist_ok=True)
    written = set()
    for vector in vectors:
        path = folder / f"{vector['name']}.json"
        path.write_text(json.dumps(vector, separators=(",", ":")) + "\n")
        written.add(path)
    for stale in set(folder.glob("*.json")) - written:
        stale.unlink()
    print(f"wrote {len(written)} vectors to {folder.relative_to(PROJECT_ROOT)}/")
