"""Copies of the model folders with an edited model card, to see the function and the page
follow what the card says (an uncertainty threshold, say) or refuse a card that makes no sense.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tests.support import LAMBDA_DIR
from tests.support.servers import WEB_DIR

# The model the function's tests serve: DIGITS_MODEL_DIR when set, else what ships.
MODEL_DIR = Path(os.environ.get("DIGITS_MODEL_DIR") or LAMBDA_DIR / "model")
MODEL_SCRIPT_PREFIX = "window.DIGITS_MODEL = "
REMOVE = object()  # as a value in `changes`: delete that key


def edited(card: dict, changes: dict[str, Any]) -> dict:
    """The card with `changes`: a dict value is merged into the card's own block (at any depth), REMOVE deletes."""
    card = dict(card)
    for key, value in changes.items():
        if value is REMOVE:
            card.pop(key, None)
        elif isinstance(value, dict) and isinstance(card.get(key), dict):
            card[key] = edited(card[key], value)
        else:
            card[key] = value
    return card


def model_copy(destination: Path, **changes: Any) -> Path:
    """The function's model folder copied to `destination`, its card edited by `changes`."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODEL_DIR / "digits.tflite", destination)
    card = json.loads((MODEL_DIR / "card.json").read_text())
    (destination / "card.json").write_text(json.dumps(edited(card, changes)))
    return destination


def web_copy(destination: Path, **changes: Any) -> Path:
    """The page's folder copied to `destination`, with the card edited by `changes` in both
    places the page reads it: model/card.json (served) and model/model.js (from disk)."""
    shutil.copytree(WEB_DIR, destination)
    card_path = destination / "model/card.json"
    card_path.write_text(json.dumps(edited(json.loads(card_path.read_text()), changes)))
    script = destination / "model/model.js"
    head, _, bundle_text = script.read_text().partition(MODEL_SCRIPT_PREFIX)
    bundle = json.loads(bundle_text.strip().removesuffix(";"))
    bundle["card"] = edited(bundle["card"], changes)
    script.write_text(f"{head}{MODEL_SCRIPT_PREFIX}{json.dumps(bundle, separators=(',', ':'))};\n")
    return destination
