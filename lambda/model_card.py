"""The model card (card.json, written by the exporter): what the model takes and gives.

It is the one source of the numbers the function must agree on with training and the page:
the input size, the classes, the model version, and the rule that says whether an answer is
sure (`uncertainty`). Reading it needs no LiteRT, so schemas.py can describe the API from it
without loading the model.
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settings import settings
from uncertainty import RULE, Rule

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
    uncertainty: Rule  # when an answer is not sure, and which digits it may be then

    @property
    def model_path(self) -> Path:
        return self.path.with_name(MODEL_FILE)


def read(model_dir: Path) -> Card:
    """The card in model_dir, checked; ModelUnavailable (one line naming the file) if it is unusable."""
    model_path, card_path = model_dir / MODEL_FILE, model_dir / CARD_FILE
    for path in (model_path, card_path):
        readable(path)
    try:
        data = json.loads(card_path.read_bytes())
        preprocessing = data.get("preprocessing", {})
        size = int(preprocessing["size"] if "size" in preprocessing else data["input"]["shape"][1])
        card = Card(path=card_path, data=data, version=str(data["version"]),
                    classes=tuple(str(name) for name in data["classes"]), size=size,
                    box=int(preprocessing["box"]) if "box" in preprocessing else None,
                    model_bytes=data.get("formats", {}).get("tflite", {}).get("bytes"),
                    uncertainty=uncertainty_rule(data))
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        raise ModelUnavailable(f"{card_path} is not a valid model card ({type(error).__name__}: {error}); "
                               f"{HOW_TO_FIX}") from None
    except UnusableRule as error:
        raise ModelUnavailable(f"{card_path}: {error}; {HOW_TO_FIX}") from None
    if not card.classes or card.size < 1:
        raise ModelUnavailable(f"{card_path} names no classes or no input size; {HOW_TO_FIX}")
    if card.uncertainty.max_alternatives > len(card.classes):
        raise ModelUnavailable(f"{card_path}: uncertainty.max_alternatives is {card.uncertainty.max_alternatives}, "
                               f"more than the {len(card.classes)} classes; {HOW_TO_FIX}")
    return card


def readable(path: Path) -> None:
    """ModelUnavailable, in one line, unless path is a file this process may read."""
    try:
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise ModelUnavailable(f"model file missing: {path}. Train and export with `make train`, or point "
                               f"DIGITS_MODEL_DIR at a folder holding {MODEL_FILE} and {CARD_FILE}.") from None
    except PermissionError:
        raise ModelUnavailable(f"{path} cannot be read: permission denied to user id {os.getuid()}; make the "
                               "model folder and its files readable by the user the function runs as") from None
    except OSError as error:  # a folder where the file should be, a broken disk
        raise ModelUnavailable(f"{path} cannot be read ({error.strerror or error}); {HOW_TO_FIX}") from None


class UnusableRule(Exception):
    """The card states no uncertainty rule, or one this function cannot apply."""


def uncertainty_rule(data: dict[str, Any]) -> Rule:
    """The card's `uncertainty` block, checked: the function never makes up a threshold."""
    block = data.get("uncertainty")
    if not isinstance(block, dict):
        raise UnusableRule('no "uncertainty" block (the rule that says when an answer is not sure; '
                           'the exporter writes it with the calibrated model)')
    if block.get("rule") != RULE:
        raise UnusableRule(f'uncertainty.rule is {json.dumps(block.get("rule"))}; this function applies '
                           f'only "{RULE}"')

    def fraction(key: str, low_open: bool) -> float:
        value = block.get(key)
        in_range = (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
                    and (0 < value <= 1 if low_open else 0 <= value <= 1))
        if not in_range:
            wanted = "above 0 and at most 1" if low_open else "from 0 to 1"
            raise UnusableRule(f"uncertainty.{key} is {json.dumps(value)}; expected a probability {wanted}")
        return float(value)

    threshold = fraction("threshold", low_open=True)
    min_probability = fraction("alternatives_min_probability", low_open=False)
    most = block.get("max_alternatives")
    if not isinstance(most, int) or isinstance(most, bool) or most < 1:
        raise UnusableRule(f"uncertainty.max_alternatives is {json.dumps(most)}; expected a whole number, at least 1")
    # Cards written before the level existed state none: then nothing is called "not a digit".
    not_a_digit_below = fraction("not_a_digit_below", low_open=False) if "not_a_digit_below" in block else 0.0
    if not_a_digit_below > threshold:
        raise UnusableRule(f"uncertainty.not_a_digit_below is {not_a_digit_below}, above the threshold "
                           f"{threshold}; expected a level at most the threshold")
    return Rule(threshold=threshold, alternatives_min_probability=min_probability, max_alternatives=most,
                not_a_digit_below=not_a_digit_below)


@functools.lru_cache(maxsize=1)
def current() -> Card:
    """The card of the model this process serves (DIGITS_MODEL_DIR, else lambda/model/)."""
    return read(settings.model_dir)
