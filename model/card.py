"""The model card: what the exported model is, how it was trained, and how well it does.

One JSON document, written beside every export, is the single source of truth for the
numbers the function and the page must agree on (input shape, class names, the
MNIST-style preprocessing box) and for the model version they report.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import platform

import keras
import numpy as np

from model.network import INPUT_NAME, INPUT_SHAPE, NUM_CLASSES, OUTPUT_NAME, describe

# The function's preprocessing (lambda/, on the path by the project's .pth) owns its sizes;
# the card only reports them.
from preprocessing import BOX, SIZE

POLARITY = "white digit on black"
PIXEL_RANGE = [0.0, 1.0]
# How MNIST itself was made, and how the function and the page turn a drawing into a digit:
# the ink's bounding box scaled to fit BOX x BOX (aspect kept), placed in SIZE x SIZE by its centre of mass.
PREPROCESSING = {
    "size": SIZE,
    "box": BOX,
    "centre": "centre of mass",
    "polarity": POLARITY,
    "range": PIXEL_RANGE,
}

LIBRARIES = ("tensorflow", "keras", "tensorflowjs", "ai-edge-litert", "numpy")


def weights_digest(model: keras.Model) -> str:
    """SHA-256 over every weight array: identical weights give an identical version hash."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight, dtype=np.float32).tobytes())
    return digest.hexdigest()


def model_version(model: keras.Model, when: datetime.datetime) -> str:
    return f"{when:%Y%m%d-%H%M%S}-{weights_digest(model)[:8]}"


def library_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def build_card(*, model: keras.Model, trained_at: datetime.datetime, training: dict,
               data: dict, test: dict, formats: dict, cross_validation: dict | None = None,
               trust: dict | None = None) -> dict:
    """Assemble the card. `test` is the Keras model's test-set summary (see evaluation)."""
    card = {
        "name": "mnist-digit-classifier",
        "version": model_version(model, trained_at),
        "created": trained_at.isoformat(timespec="seconds"),
        "architecture": {
            "name": model.name,
            "description": describe(model),
            "parameters": int(model.count_params()),
        },
        "input": {"name": INPUT_NAME, "shape": [None, *INPUT_SHAPE], "dtype": "float32",
                  "range": PIXEL_RANGE, "polarity": POLARITY},
        "output": {"name": OUTPUT_NAME, "shape": [None, NUM_CLASSES], "activation": "softmax",
                   **({"of": "logits / calibration.temperature"} if trust else {})},
        "classes": [str(digit) for digit in range(NUM_CLASSES)],
        "preprocessing": PREPROCESSING,
        "training": training,
        "data": data,
        "test": {
            "accuracy": test["accuracy"],
            "errors": test["errors"],
            "digits": test["digits"],
            "per_class_accuracy": test["per_class_accuracy"],
            "confusion_matrix": test["confusion_matrix"],
        },
        **(trust or {}),  # "calibration" and "uncertainty"
        "formats": formats,
        "libraries": library_versions(),
    }
    if cross_validation is not None:
        card["cross_validation"] = cross_validation
    return card
