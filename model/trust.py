"""After training: calibrate the network, choose the "not sure" threshold and measure both.

The temperature and the threshold are chosen on the validation split (the same digits that
picked the best epoch, held out from training with the run's seed); the test digits and
the held-out non-digits (kinds of drawing and fonts training never saw, another seed) are
only measured. The result is the calibrated network every format is exported from, the
card's "calibration" and "uncertainty" sections, and two reports.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np

from model import calibration, export, outliers, plots
from model.config import TrainingConfig
from model.data import to_model_input
from model.network import logits_model, with_temperature

HELD_OUT_NON_DIGITS = 2_000
EXAMPLE_DIGITS, EXAMPLE_NON_DIGITS = 8, 16
RELIABILITY_FILE = "reliability_diagram.png"
EXAMPLES_FILE = "uncertainty_examples.png"


@dataclasses.dataclass(frozen=True)
class Examples:
    """What the examples report shows: the first test digits, then non-digits of every held-out kind."""

    images: np.ndarray  # as the network takes them (data.to_model_input)
    probabilities: np.ndarray  # (N, 10), calibrated
    captions: list[str]
    digit_count: int  # how many of the images, first, are test digits

    @property
    def non_digits(self) -> np.ndarray:
        """The held-out non-digits among the images (export checks every format on them too)."""
        return self.images[self.digit_count:]


@dataclasses.dataclass
class Assessment:
    model: keras.Model  # the calibrated network
    sections: dict  # the card's "calibration" and "uncertainty"
    reliability_before: dict
    reliability_after: dict
    examples: Examples


def held_out_non_digits(seed: int, count: int = HELD_OUT_NON_DIGITS) -> np.ndarray:
    """Non-digits training never sees: the held-out kinds and fonts, drawn with another seed."""
    return outliers.generate(count, seed + 1, "held_out")


def predict_logits(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return export.predict_keras(logits_model(model), to_model_input(images))


def assess(model: keras.Model, mnist, config: TrainingConfig) -> Assessment:
    from model.training import split_validation, training_digits

    x, y = training_digits(config, mnist)
    _, (x_val, y_val) = split_validation(x, y, config.validation_split, config.seed)
    y_val, y_test = y_val.astype(np.int64), mnist.y_test.astype(np.int64)
    val_logits = predict_logits(model, x_val)
    temperature = calibration.fit_temperature(val_logits, y_val)
    val_top = calibration.softmax(val_logits, temperature).max(axis=1)
    threshold = calibration.choose_threshold(val_top)
    not_a_digit_below = calibration.choose_threshold(val_top, calibration.NOT_A_DIGIT_MAX_FLAGGED)

    test_logits = predict_logits(model, mnist.x_test)
    non_digits = held_out_non_digits(config.seed)
    non_digit_logits = predict_logits(model, non_digits)
    sections = calibration.card_sections(temperature=temperature, threshold=threshold,
                                         not_a_digit_below=not_a_digit_below,
                                         validation=(val_logits, y_val), test=(test_logits, y_test),
                                         non_digits=non_digit_logits)
    before = calibration.reliability(calibration.softmax(test_logits), y_test)
    after = calibration.reliability(calibration.softmax(test_logits, temperature), y_test)

    images = np.concatenate([mnist.x_test[:EXAMPLE_DIGITS], non_digits[:EXAMPLE_NON_DIGITS]])
    probabilities = calibration.softmax(np.concatenate([test_logits[:EXAMPLE_DIGITS],
                                                        non_digit_logits[:EXAMPLE_NON_DIGITS]]), temperature)
    captions = [f"digit {d}" for d in y_test[:EXAMPLE_DIGITS]] + ["non-digit"] * EXAMPLE_NON_DIGITS
    examples = Examples(to_model_input(images), probabilities, captions, EXAMPLE_DIGITS)
    return Assessment(with_temperature(model, temperature), sections, before, after, examples)


def write_reports(assessment: Assessment, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    plots.plot_reliability(assessment.reliability_before, assessment.reliability_after,
                           assessment.sections["calibration"]["temperature"], folder / RELIABILITY_FILE)
    examples = assessment.examples
    plots.plot_uncertainty_examples(examples.images, examples.probabilities,
                                    assessment.sections["uncertainty"]["threshold"], examples.captions,
                                    folder / EXAMPLES_FILE)


def describe(sections: dict) -> str:
    """Two lines for the end of a run."""
    ece, rule = sections["calibration"]["ece_15_bins"], sections["uncertainty"]
    return (f"Calibration: temperature {sections['calibration']['temperature']:.3f}; test ECE "
            f"{ece['test_before']:.2%} -> {ece['test_after']:.2%}\n"
            f"Not sure below {rule['threshold']:.4f}: flags {rule['validation_digits_flagged']:.2%} of "
            f"validation digits, {rule['test_digits_flagged']:.2%} of test digits, "
            f"{rule['held_out_non_digits_flagged']:.2%} of held-out non-digits; test accuracy when sure "
            f"{rule['test_accuracy_when_sure']:.2%}\n"
            f"Not a digit below {rule['not_a_digit_below']:.4f}: {rule['validation_digits_not_a_digit']:.2%} of "
            f"validation digits, {rule['test_digits_not_a_digit']:.2%} of test digits, "
            f"{rule['held_out_non_digits_not_a_digit']:.2%} of held-out non-digits")
