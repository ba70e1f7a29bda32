"""The digit model: the exported TFLite file run by LiteRT, and its model card.

LiteRT imports in a few hundredths of a second where TensorFlow takes seconds, which is
what keeps cold starts short. `load()` reads the model once per process (a Lambda
container's init phase); requests share it.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

import preprocessing

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_FILE = "digits.tflite"
CARD_FILE = "card.json"
MAX_BATCH = 256


class ModelUnavailable(RuntimeError):
    """The model files are missing, unreadable or disagree with the preprocessing."""


class Classifier:
    """Runs batches of 28x28 white-on-black digits through the model."""

    def __init__(self, model_dir: Path):
        model_path, card_path = model_dir / MODEL_FILE, model_dir / CARD_FILE
        missing = [path for path in (model_path, card_path) if not path.is_file()]
        if missing:
            raise ModelUnavailable(
                f"model files missing: {', '.join(map(str, missing))}. Train and export with "
                f"`make train`, or point DIGITS_MODEL_DIR at a folder holding {MODEL_FILE} and {CARD_FILE}.")
        try:
            self.card = json.loads(card_path.read_text())
            self.version = str(self.card["version"])
            self.classes = [str(name) for name in self.card["classes"]]
            expected = self.card.get("preprocessing", {})
        except (ValueError, KeyError, TypeError) as error:
            raise ModelUnavailable(f"{card_path} is not a valid model card: {error}") from None
        # The card is the source of truth for these numbers; refuse to serve on a mismatch.
        for key, ours in (("size", preprocessing.SIZE), ("box", preprocessing.BOX)):
            if key in expected and expected[key] != ours:
                raise ModelUnavailable(f"the model card wants preprocessing {key} {expected[key]}, "
                                       f"preprocessing.py uses {ours}")

        self._interpreter = Interpreter(model_path=str(model_path), num_threads=1)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch_size = 0
        # One interpreter, so one inference at a time (uvicorn may call from several threads).
        self._lock = threading.Lock()
        self.predict(np.zeros((1, 28, 28, 1), dtype=np.float32))  # allocate now, not in the first request

    def predict(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, 28, 28) or (N, 28, 28, 1) in [0, 1] -> float32 (N, 10) probabilities.

        Runs at most MAX_BATCH images at a time, so memory stays bounded for any N.
        """
        batch = np.ascontiguousarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
        if len(batch) == 0:
            raise ValueError("no images to classify")
        return np.concatenate([self._run(batch[start:start + MAX_BATCH])
                               for start in range(0, len(batch), MAX_BATCH)])

    def _run(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            if len(batch) != self._batch_size:
                self._interpreter.resize_tensor_input(self._input, batch.shape)
                self._interpreter.allocate_tensors()
                self._batch_size = len(batch)
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).copy()


def model_dir() -> Path:
    return Path(os.environ.get("DIGITS_MODEL_DIR") or DEFAULT_MODEL_DIR)


@functools.lru_cache(maxsize=1)
def load() -> Classifier:
    """The process's classifier, from DIGITS_MODEL_DIR or lambda/model/, loaded on first use."""
    return Classifier(model_dir())
