"""The model card (card.json, written by the exporter): what the model takes and gives.

It is the one source of the numbers the function must agree on with training and the page:
the input size, the classes, the model version. Reading it needs no LiteRT, so schemas.py
can describe the API from it without loading the model.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settings import settings

MODEL_FILE = "digits.tflite"
CARD_FILE = "card.json"
HOW_TO_FIX = (f"rebuild it with `make train`, or point DIGITS_MODEL_DIR at a folder holding a good "
              f"{MODEL_FILE} and {CARD_FILE}")


class ModelUnavailable(RuntimeError):
    """The model files are missing, unreadable or disagree with each other or the preprocessing."""


@dataclass(frozen=True)
class Card:
    path: Path
    data: dict[str, Any]
    version: str
    classes: tuple[str, ...]
    size: int  # the model's input is size x size, white digit on black in [0, 1]
    box: int | None  # the digit is scaled to fit box x box before centring
    model_bytes: int | None  # the size of digits.tflite when the card was written

    @property
    def model_path(self) -> Path:
        return self.path.with_name(MODEL_FILE)


def read(model_dir: Path) -> Card:
    """The card in model_dir, checked; ModelUnavailable (one line naming the file) if it is unusable."""
    model_path, card_path = model_dir / MODEL_FILE, model_dir / CARD_FILE
    missing = [path for path in (model_path, card_path) if not path.is_file()]
    if missing:
        raise ModelUnavailable(f"model files missing: {', '.join(map(str, missing))}. Train and export with "
                               f"`make train`, or point DIGITS_MODEL_DIR at a folder holding {MODEL_FILE} and "
                               f"{CARD_FILE}.")
    try:
        data = json.loads(card_path.read_bytes())
        preprocessing = data.get("preprocessing", {})
        size = int(preprocessing.get("size", data["input"]["shape"][1]))
        card = Card(path=card_path, data=data, version=str(data["version"]),
                    classes=tuple(str(name) for name in data["classes"]), size=size,
                    box=int(preprocessing["box"]) if "box" in preprocessing else None,
                    model_bytes=data.get("formats", {}).get("tflite", {}).get("bytes"))
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        raise ModelUnavailable(f"{card_path} is not a valid model card ({type(error).__name__}: {error}); "
                               f"{HOW_TO_FIX}") from None
    if not card.classes or card.size < 1:
        raise ModelUnavailable(f"{card_path} names no classes or no input size; {HOW_TO_FIX}")
    return card


@functools.lru_cache(maxsize=1)
def current() -> Card:
    """The card of the model this process serves (DIGITS_MODEL_DIR, else lambda/model/)."""
    return read(settings.model_dir)
