"""How often each model says "not sure", on digits and on non-digits, in one run.

    .venv/bin/python bench/trust.py [--previous REF] [--non-digits N]

Compares the model in lambda/model/ (its TFLite file and the card's threshold) with the
model of an earlier commit (default: the one before it, i.e. the newest commit that changed
lambda/model/digits.tflite, or the one before that when lambda/model/ is as committed; read with
`git show REF:lambda/model/...` into a temporary folder), on the same inputs:

- MNIST's 10,000 test digits;
- N held-out non-digits (model/outliers.py: kinds of drawing and fonts training never saw,
  drawn with another seed than training's);
- the drawn hard cases of tests/support/hard_cases.py (digits drawn unlike MNIST's),
  through the function's preprocessing.

Each model is held to the same rule, "top probability below a threshold": the card's
threshold when the card has one, otherwise one chosen the same way on the model's own
validation split (at most 1 % of its digits flagged), so the previous model is judged on
the rule at its best, not without one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from model import calibration, export, quiet
from model.config import TrainingConfig
from model.data import load_mnist, to_model_input
from model.training import split_validation, training_digits
from model.trust import held_out_non_digits

ROOT = Path(__file__).resolve().parent.parent

MODEL_FILES = ("digits.tflite", "card.json")


def model_before_this_one() -> str:
    model = "lambda/model/digits.tflite"
    commits = subprocess.run(["git", "log", "--format=%h", "-n", "2", "--", model],
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    committed = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", model], cwd=ROOT).returncode == 0
    earlier = commits[1:] if committed else commits
    if not earlier:
        sys.exit("bench/trust.py: no earlier model in the history; name one with --previous REF")
    return earlier[0]


def previous_model(ref: str, folder: Path) -> Path:
    for name in MODEL_FILES:
        content = subprocess.run(["git", "show", f"{ref}:lambda/model/{name}"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        (folder / name).write_bytes(content)
    return folder


def measure(model_dir: Path, mnist, non_digits: np.ndarray, drawn: tuple) -> dict:
    card = json.loads((model_dir / "card.json").read_text())
    predict = lambda images: export.predict_tflite(model_dir / "digits.tflite", images)  # noqa: E731 (one line)
    if "uncertainty" in card:
        threshold, source = card["uncertainty"]["threshold"], "card"
    else:
        config = TrainingConfig.from_dict(card.get("training", {}))
        x, y = training_digits(config, mnist)
        _, (x_val, _y) = split_validation(x, y, config.validation_split, config.seed)
        threshold = calibration.choose_threshold(predict(to_model_input(x_val)).max(axis=1))
        source = "chosen here on its validation split"
    test = predict(to_model_input(mnist.x_test))
    non_digit_top = predict(non_digits).max(axis=1)
    sure = test.max(axis=1) >= threshold
    drawn_images, drawn_labels = drawn
    drawn_probabilities = predict(drawn_images[..., np.newaxis])
    drawn_sure = drawn_probabilities.max(axis=1) >= threshold
    return {
        "version": card["version"], "threshold": threshold, "threshold_from": source,
        "test_accuracy": float((test.argmax(1) == mnist.y_test).mean()),
        "test_digits_flagged": float((~sure).mean()),
        "accuracy_when_sure": float((test.argmax(1)[sure] == mnist.y_test[sure]).mean()),
        "non_digits_flagged": float((non_digit_top < threshold).mean()),
        "median_top_probability_on_non_digits": float(np.median(non_digit_top)),
        "drawn_right": float((drawn_probabilities.argmax(1) == drawn_labels).mean()),
        "drawn_flagged": float((~drawn_sure).mean()),
    }


def drawn_digits() -> tuple:
    from preprocessing import to_mnist
    from tests.support.hard_cases import HARD_CASES, pictures

    images = [to_mnist(picture) for case in HARD_CASES for picture in pictures(case)]
    return np.stack(images).astype(np.float32), np.tile(np.arange(10), len(HARD_CASES))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", help="git revision of the model to compare with; omitted: the model "
                                           "shipped before this one")
    parser.add_argument("--non-digits", type=int, default=2000, help="held-out non-digits to draw")
    args = parser.parse_args(argv)
    args.previous = args.previous or model_before_this_one()
    quiet.import_tensorflow()

    mnist = load_mnist(allow_download=False)
    current_card = json.loads((ROOT / "lambda/model/card.json").read_text())
    seed = current_card.get("training", {}).get("seed", 42)
    non_digits = to_model_input(held_out_non_digits(seed, args.non_digits))
    drawn = drawn_digits()
    with tempfile.TemporaryDirectory() as scratch:
        results = {f"previous ({args.previous})": measure(previous_model(args.previous, Path(scratch)), mnist,
                                                           non_digits, drawn),
                   "this model": measure(ROOT / "lambda/model", mnist, non_digits, drawn)}

    rows = [("threshold (top probability below it: not sure)", "threshold", "{:.4f}"),
            ("MNIST test accuracy (10,000)", "test_accuracy", "{:.2%}"),
            ("MNIST test digits flagged", "test_digits_flagged", "{:.2%}"),
            ("MNIST test accuracy when sure", "accuracy_when_sure", "{:.2%}"),
            (f"held-out non-digits flagged ({len(non_digits):,})", "non_digits_flagged", "{:.2%}"),
            ("median top probability on non-digits", "median_top_probability_on_non_digits", "{:.3f}"),
            (f"drawn hard-case digits right ({len(drawn[1])})", "drawn_right", "{:.2%}"),
            ("drawn hard-case digits flagged", "drawn_flagged", "{:.2%}")]
    names = list(results)
    headers = [f"{name}, {results[name]['version']}" for name in names]
    print(f"| | {' | '.join(headers)} |")
    print(f"|---|{'---:|' * len(names)}")
    for label, key, form in rows:
        print(f"| {label} | {' | '.join(form.format(results[name][key]) for name in names)} |")
    for name in names:
        print(f"{name}: threshold from {results[name]['threshold_from']}")


if __name__ == "__main__":
    main()
