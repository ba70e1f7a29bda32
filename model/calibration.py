"""Answers people can trust: calibrated probabilities and a "not sure" rule.

Calibration is temperature scaling (Guo et al. 2017): one number T, fitted on the
validation split by minimising the negative log-likelihood of softmax(logits / T); it
changes how sure the model says it is, never which digit it answers. The test set is only
measured, never fitted on.

The "not sure" rule flags an answer whose calibrated top probability is below a threshold,
chosen on the validation split so that at most `MAX_FLAGGED` of its digits are flagged.
With it go the alternatives: the digits with a calibrated probability of at least
`ALTERNATIVES_MIN_PROBABILITY`, likeliest first, at most `MAX_ALTERNATIVES` of them. This
module writes the rule into the card; the function applies it (lambda/uncertainty.py).

Expected calibration error (ECE): the top probabilities are put in 15 equal-width bins;
ECE is the mean over digits of |accuracy - mean top probability| of their bin.
"""

from __future__ import annotations

import math

import numpy as np

ECE_BINS = 15
MAX_FLAGGED = 0.01  # of the validation digits
# Far fewer digits may be called "not a digit" than "not sure": one validation digit in a thousand.
NOT_A_DIGIT_MAX_FLAGGED = 0.001
RULE = "top probability below threshold"
ALTERNATIVES_MIN_PROBABILITY = 0.05
MAX_ALTERNATIVES = 3
LOG_T_RANGE = (-3.0, 3.0)  # natural log of the temperatures searched


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    top = scaled.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(scaled - top).sum(axis=1)) + top[:, 0]
    return float((log_sum - scaled[np.arange(len(labels)), labels]).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising the NLL of softmax(logits / T): golden-section search on log T
    (the NLL is convex in 1/T, so it has one minimum)."""
    labels = np.asarray(labels).astype(np.int64)
    low, high = LOG_T_RANGE
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    f_a = negative_log_likelihood(logits, labels, math.exp(a))
    f_b = negative_log_likelihood(logits, labels, math.exp(b))
    while high - low > 1e-6:
        if f_a < f_b:
            high, b, f_b = b, a, f_a
            a = high - ratio * (high - low)
            f_a = negative_log_likelihood(logits, labels, math.exp(a))
        else:
            low, a, f_a = a, b, f_b
            b = low + ratio * (high - low)
            f_b = negative_log_likelihood(logits, labels, math.exp(b))
    return float(math.exp((low + high) / 2))


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Per bin of top probability: digits, mean top probability, accuracy; and the ECE."""
    top = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    # Bin b holds (b / bins, (b + 1) / bins]; a top probability is never below 1 / 10.
    index = np.clip(np.ceil(top * bins).astype(np.int64) - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    confidence = np.bincount(index, weights=top, minlength=bins) / np.maximum(counts, 1)
    accuracy = np.bincount(index, weights=correct, minlength=bins) / np.maximum(counts, 1)
    ece = float((counts * np.abs(accuracy - confidence)).sum() / len(top))
    return {"counts": counts.tolist(), "confidence": confidence.tolist(), "accuracy": accuracy.tolist(),
            "ece": ece}


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return reliability(probabilities, labels)["ece"]


def choose_threshold(top_probabilities: np.ndarray, max_flagged: float = MAX_FLAGGED) -> float:
    """The highest threshold that flags (top probability strictly below it) at most
    `max_flagged` of these digits."""
    ordered = np.sort(np.asarray(top_probabilities, dtype=np.float64))
    allowed = math.floor(max_flagged * len(ordered))
    return float(ordered[allowed])


def flagged(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """True where the answer is "not sure"."""
    return probabilities.max(axis=1) < threshold


def card_sections(*, temperature: float, threshold: float, not_a_digit_below: float, validation: tuple,
                  test: tuple, non_digits: np.ndarray) -> dict:
    """The card's "calibration" and "uncertainty" sections.

    validation and test: (logits, labels); non_digits: logits of held-out non-digits.
    """
    (val_logits, val_labels), (test_logits, test_labels) = validation, test
    before_val, after_val = softmax(val_logits), softmax(val_logits, temperature)
    before_test, after_test = softmax(test_logits), softmax(test_logits, temperature)
    after_non_digits = softmax(non_digits, temperature)
    sure = ~flagged(after_test, threshold)
    return {
        "calibration": {
            "temperature": temperature,
            "fitted_on": "validation",
            "ece_15_bins": {
                "validation_before": expected_calibration_error(before_val, val_labels),
                "validation_after": expected_calibration_error(after_val, val_labels),
                "test_before": expected_calibration_error(before_test, test_labels),
                "test_after": expected_calibration_error(after_test, test_labels),
            },
        },
        "uncertainty": {
            "rule": RULE,
            "threshold": threshold,
            "alternatives_min_probability": ALTERNATIVES_MIN_PROBABILITY,
            "max_alternatives": MAX_ALTERNATIVES,
            "validation_digits_flagged": float(flagged(after_val, threshold).mean()),
            "test_digits_flagged": float((~sure).mean()),
            "held_out_non_digits_flagged": float(flagged(after_non_digits, threshold).mean()),
            "test_accuracy_when_sure": float((after_test.argmax(1)[sure] == test_labels[sure]).mean()),
            # Far below the threshold: the drawing does not look like a digit at all.
            "not_a_digit_below": not_a_digit_below,
            "validation_digits_not_a_digit": float(flagged(after_val, not_a_digit_below).mean()),
            "test_digits_not_a_digit": float(flagged(after_test, not_a_digit_below).mean()),
            "held_out_non_digits_not_a_digit": float(flagged(after_non_digits, not_a_digit_below).mean()),
        },
    }

