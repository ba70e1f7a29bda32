"""Fit the weights of the reading's score (step 7 of lambda/segmentation.py) and print them.

A reading's score is a sum over its digits of log(top probability) and a weighted sum of
features (`segmentation.candidate_features`, weighed by `segmentation.candidate_score`). The weights are
fitted by an averaged structured perceptron: for each written number whose best reading is
wrong, they move towards the best right reading among its candidates (found by the same
dynamic programme, kept to readings that spell the number) and away from the one chosen.

The numbers are written as bench/function_numbers.py writes its own, but with the digits
MNIST's training set holds out for validation (model/training.py's split of the shipped
card's seed), never the test digits the benchmark writes: touching, close and apart numbers,
single digits, and non-digits from both sets of model/outliers.py, whose right reading is all
their ink as one answer the model is not sure of. Mistakes on the kinds that already read
well weigh more (KIND_WEIGHTS), so the fit does not buy touching numbers with them. The
candidates are the function's own (`pipeline.find_digits` with the shipped model), second
look included, so they depend a little on the weights in place when it runs. Takes a few
minutes:

    .venv/bin/python -m scripts.fit_choice   # then copy the printed weights into lambda/segmentation.py
                                              # and web/js/segmentation.js
"""

from __future__ import annotations

import argparse
import random

import numpy as np

import classifier
import pipeline
import segmentation
from input_errors import BlankImageError, TooManyDigits
from model import outliers
from model.data import load_mnist
from model.training import split_validation
from model.written_numbers import single_digit, written_number

# Weight of a mistake on each kind, against one on a touching number.
KIND_WEIGHTS = {"touching": 1.0, "close": 6.0, "apart": 3.0, "single": 10.0, "non-digit": 0.5}
COUNTS = {"touching": 1500, "close": 1000, "apart": 1000, "single": 3000}
NON_DIGITS = 1000  # of each set of model/outliers.py
EPOCHS = 10
RATE = 0.1
# The weights, after log(confidence)'s (which weighs 1), in the order of
# segmentation.candidate_features; the search starts from the hand-set weights of the score
# before it was fitted (0 for the features it did not have).
NAMES = tuple(segmentation.score_weights())
START = np.array([1.0] + [{"DIGIT_WEIGHT": -0.5, "UNSURE_WEIGHT": -1.0, "WIDE_WEIGHT": -4.0, "JOIN_WEIGHT": -1.0,
                           "CUT_FIRST_WEIGHT": -0.6, "CUT_MORE_WEIGHT": -0.6}.get(name, 0.0) for name in NAMES])


class Example:
    def __init__(self, kind: str, text: str | None, digits: pipeline.Digits, sure: float, not_a_digit: float):
        self.kind, self.text, self.found = kind, text, digits.found
        likeliest, confidences, seconds = segmentation.answers(digits.probabilities)
        self.features = {candidate: np.array(features) for candidate, features in segmentation.candidate_features(
            digits.found, likeliest, confidences, seconds, sure, not_a_digit).items()}
        self.digit = {candidate: str(digit)
                      for candidate, digit in zip(digits.found.candidates, likeliest, strict=True)}
        self.sure = {candidate: confidence >= sure
                     for candidate, confidence in zip(digits.found.candidates, confidences, strict=True)}

    def best(self, weights: np.ndarray, spelling: bool = False) -> list[tuple[int, int]] | None:
        """The best reading under `weights` (with `spelling`, of those that spell the text)."""
        slices = len(self.found.slices)
        spelt = len(self.text) if spelling else 0
        best: dict[tuple[int, int], tuple[float, tuple | None]] = {(0, 0): (0.0, None)}
        for candidate in sorted(self.found.candidates, key=lambda candidate: (candidate[1], candidate[0])):
            score = float(weights @ self.features[candidate])
            for count in (range(spelt) if spelling else (0,)):
                if (candidate[0], count) not in best or (spelling and self.digit[candidate] != self.text[count]):
                    continue
                key = (candidate[1] + 1, count + 1 if spelling else 0)
                total = best[candidate[0], count][0] + score
                if key not in best or total > best[key][0]:
                    best[key] = (total, (candidate, (candidate[0], count)))
        key = (slices, spelt)
        if key not in best:
            return None
        reading = []
        while best[key][1] is not None:
            candidate, key = best[key][1]
            reading.append(candidate)
        return reading[::-1]

    def right(self, reading: list[tuple[int, int]]) -> list[tuple[int, int]] | None:
        """`reading` if it is right, else the best right one (None if there is none)."""
        if self.kind == "non-digit":
            whole = (0, len(self.found.slices) - 1)
            if whole not in self.features or self.sure[whole]:
                return reading  # the model calls it a digit: nothing the choice can do
            return None if reading == [whole] else [whole]
        return reading if "".join(self.digit[candidate] for candidate in reading) == self.text else None

    def total(self, reading: list[tuple[int, int]]) -> np.ndarray:
        return sum((self.features[candidate] for candidate in reading), np.zeros(len(START)))


def examples(seed: int) -> list[Example]:
    model = classifier.load()
    rule = model.uncertainty
    mnist = load_mnist(allow_download=False)
    _, (images, labels) = split_validation(mnist.x_train, mnist.y_train, 0.1, seed)
    rng = np.random.default_rng(2024)
    pictures: list[tuple[str, str | None, np.ndarray]] = []
    for kind in ("touching", "close", "apart"):
        for _ in range(COUNTS[kind]):
            chosen = rng.choice(len(images), int(rng.integers(2, 6)), replace=False)
            number = written_number(rng, chosen, images, labels, kind)
            pictures.append((kind, number.text, number.picture))
    pictures += [("single", str(int(labels[index])), single_digit(rng, index, images))
                 for index in range(COUNTS["single"])]
    for which in ("training", "held_out"):
        kinds, characters, fonts = outliers.SETS[which]
        drawing = np.random.default_rng([5, 0 if which == "training" else 1])
        for _ in range(NON_DIGITS):
            kind = kinds[drawing.integers(len(kinds))]
            pictures.append(("non-digit", None, 255 - np.asarray(outliers.draw(kind, drawing, characters, fonts)
                                                                 .convert("L"))))
    result = []
    for kind, text, picture in pictures:
        try:
            digits = pipeline.find_digits(model, picture, False)
        except (TooManyDigits, BlankImageError):
            continue
        result.append(Example(kind, text, digits, rule.threshold, rule.not_a_digit_below))
    return result


def fit(training: list[Example]) -> np.ndarray:
    weights, summed, steps = START.copy(), np.zeros(len(START)), 0
    order = random.Random(0)
    for _ in range(EPOCHS):
        indices = list(range(len(training)))
        order.shuffle(indices)
        for index in indices:
            example = training[index]
            chosen = example.best(weights)
            right = example.right(chosen)
            if right is None and example.kind != "non-digit":
                right = example.best(weights, spelling=True)
            if right is not None and right != chosen:
                weights = weights + RATE * KIND_WEIGHTS[example.kind] * (example.total(right) - example.total(chosen))
            summed += weights
            steps += 1
    return summed / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7, help="the shipped card's training seed (its validation split)")
    options = parser.parse_args()
    training = examples(options.seed)
    weights = fit(training)
    weights = weights / weights[0]  # in units of log-probability
    for name, weight in zip(NAMES, weights[1:], strict=True):
        print(f"{name} = {weight:.4f}")


if __name__ == "__main__":
    main()
