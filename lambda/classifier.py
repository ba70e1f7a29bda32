"""The digit model: the exported TFLite file run by LiteRT, checked against its model card.

LiteRT imports in a few hundredths of a second where TensorFlow takes seconds, which is
what keeps cold starts short. `load()` reads the model once per process (a Lambda
container's init phase); requests share it.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

import model_card
import preprocessing
from model_card import HOW_TO_FIX, ModelUnavailable
from settings import settings

__all__ = ["MAX_BATCH", "Classifier", "ModelUnavailable", "load"]

MAX_BATCH = settings.max_batch  # the serving protocols' limit; set by DIGITS_MAX_BATCH


class Classifier:
    """Runs batches of white-on-black digits, as the card describes them, through the model."""

    def __init__(self, model_dir: Path):
        self.card = card = model_card.read(model_dir)  # the card's file as read, card.data
        self.version, self.classes = card.version, list(card.classes)
        self.size = card.size
        self.uncertainty = card.uncertainty
        # The card is the source of truth for these numbers; refuse to serve on a mismatch.
        for key, wanted, ours in (("size", card.size, preprocessing.SIZE), ("box", card.box, preprocessing.BOX)):
            if wanted is not None and wanted != ours:
                raise ModelUnavailable(f"the model card wants preprocessing {key} {wanted}, "
                                       f"preprocessing.py uses {ours}")
        self._interpreter = self._open(card)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch_size = 0
        # One interpreter, so one inference at a time (requests run in several worker threads).
        self._lock = threading.Lock()
        try:  # allocate now, not in the first request, and prove the model runs
            probabilities = self.predict(np.zeros((1, card.size, card.size, 1), dtype=np.float32))
        except (ValueError, RuntimeError) as error:
            raise ModelUnavailable(f"{card.model_path} does not run on a {card.size}x{card.size} input as "
                                   f"{card.path.name} says ({_first_line(error)}); {HOW_TO_FIX}") from None
        if probabilities.shape != (1, len(self.classes)):
            raise ModelUnavailable(f"{card.model_path} gives {probabilities.shape[1:]} outputs, but "
                                   f"{card.path.name} names {len(self.classes)} classes; {HOW_TO_FIX}")

    @staticmethod
    def _open(card: model_card.Card) -> Interpreter:
        path = card.model_path
        try:
            data = path.read_bytes()
        except OSError as error:  # replaced or made unreadable since the card was read
            raise ModelUnavailable(f"{path} cannot be read ({error.strerror or error}); {HOW_TO_FIX}") from None
        if card.model_bytes is not None and len(data) != card.model_bytes:
            raise ModelUnavailable(f"{path} is {len(data):,} bytes, but {card.path.name} says "
                                   f"{card.model_bytes:,} (truncated or replaced?); {HOW_TO_FIX}")
        # From bytes, LiteRT checks the whole flatbuffer first; from a path it maps the file
        # unchecked, and a truncated one crashes the process.
        try:
            return Interpreter(model_content=data, num_threads=1)
        except Exception as error:  # LiteRT raises ValueError, RuntimeError, UnicodeDecodeError...
            raise ModelUnavailable(f"{path} is not a readable TFLite model ({_first_line(error)}); "
                                   f"{HOW_TO_FIX}") from None

    def predict(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, size, size) or (N, size, size, 1) in [0, 1] -> float32 (N, classes) probabilities.

        Runs at most MAX_BATCH images at a time, so memory stays bounded for any N.
        """
        batch = np.ascontiguousarray(images, dtype=np.float32).reshape(-1, self.size, self.size, 1)
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


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


@functools.lru_cache(maxsize=1)
def load() -> Classifier:
    """The process's classifier, from DIGITS_MODEL_DIR or lambda/model/, loaded on first use."""
    return Classifier(settings.model_dir)
