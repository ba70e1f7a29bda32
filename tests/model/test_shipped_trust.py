"""The model this repository ships says how sure it is, and says "not sure" when it should.

Measured on the shipped files: every format returns the calibrated probabilities
softmax(logits / T) of the card's temperature; the card's "calibration" and "uncertainty"
sections hold together; and the shipped TFLite model meets the goals on the 10,000 MNIST
test digits and on held-out non-digits (kinds of drawing and fonts training never saw).
"""

import json

import numpy as np
import pytest

from model import calibration, export, outliers
from model.data import to_model_input

pytestmark = pytest.mark.slow

NON_DIGITS = 400  # the first of the card's held-out non-digits (same seed, same order)
# The threshold is fixed on the validation digits to flag 1 % of them (checked exactly, from
# the card); on the test digits the share flagged is an estimate of that 1 %, with a standard
# error of 0.1 point over 10,000 digits, so it is held to 1 % plus two standard errors.
# Choosing the threshold on the test digits to meet 1 % exactly would make it a validation set.
GOALS = {"test_accuracy": 0.996, "test_digits_flagged": 0.012, "held_out_non_digits_flagged": 0.95,
         "test_ece_after": 0.005}
# Fractions of 10,000 (or 400) inputs measured here and in the card: rounding, not chance.
TOLERANCE = 0.0002


@pytest.fixture(scope="module")
def non_digits(card):
    return to_model_input(outliers.generate(NON_DIGITS, card["training"]["seed"] + 1, "held_out"))


@pytest.fixture(scope="module")
def tflite(project_root, tflite_probabilities, non_digits):
    return {"test": tflite_probabilities,
            "non_digits": export.predict_tflite(project_root / "lambda/model/digits.tflite", non_digits)}


@pytest.fixture(scope="module")
def calibrated_reference(project_root, card, test_set, non_digits):
    """softmax(logits / T) computed here from the Keras model's logits layer and the card's T."""
    import keras

    from model.network import logits_model

    network = logits_model(keras.models.load_model(project_root / "model/digits.keras"))
    images = np.concatenate([test_set[0][:600], non_digits])
    logits = np.asarray(network.predict(images, batch_size=500, verbose=0))
    return images, calibration.softmax(logits, card["calibration"]["temperature"])


def test_card_sections_are_complete_and_consistent(project_root, card):
    for copy in ("lambda/model/card.json", "web/model/card.json"):
        assert json.loads((project_root / copy).read_text()) == card
    calibrated, rule = card["calibration"], card["uncertainty"]
    assert calibrated["fitted_on"] == "validation" and calibrated["temperature"] > 0
    assert set(calibrated["ece_15_bins"]) == {"validation_before", "validation_after", "test_before", "test_after"}
    assert all(0 <= value < 1 for value in calibrated["ece_15_bins"].values())
    assert rule["rule"] == "top probability below threshold"
    assert 0.1 < rule["threshold"] < 1
    assert rule["alternatives_min_probability"] == 0.05 and rule["max_alternatives"] == 3
    assert rule["validation_digits_flagged"] <= 0.01
    for key in ("test_digits_flagged", "held_out_non_digits_flagged", "test_accuracy_when_sure"):
        assert 0 <= rule[key] <= 1, key
    # Answering only when sure cannot make it worse.
    assert rule["test_accuracy_when_sure"] >= card["test"]["accuracy"]
    # "Not a digit" sits far below "not sure": one validation digit in a thousand at most.
    assert 0 < rule["not_a_digit_below"] < rule["threshold"]
    assert rule["validation_digits_not_a_digit"] <= 0.001
    for key in ("test_digits_not_a_digit", "held_out_non_digits_not_a_digit"):
        assert 0 <= rule[key] <= rule[key.replace("not_a_digit", "flagged")], key


@pytest.mark.parametrize("name", ["keras", "saved_model", "tflite", "tfjs"])
def test_every_format_returns_the_calibrated_probabilities(project_root, calibrated_reference, name):
    images, expected = calibrated_reference
    if name == "keras":
        import keras

        got = export.predict_keras(keras.models.load_model(project_root / "model/digits.keras"), images)
    elif name == "saved_model":
        got = export.predict_saved_model(project_root / "model/saved_model", images)
    elif name == "tflite":
        got = export.predict_tflite(project_root / "lambda/model/digits.tflite", images)
    else:
        if not export.tfjs_available():
            pytest.skip("node or node_modules/@tensorflow/tfjs missing")
        got = export.predict_tfjs(project_root / "web/model", images)
    # The page's weights are quantised (float16 and uint8): the exporter's own allowance.
    allowed = export.MAX_TFJS_PROBABILITY_DIFFERENCE if name == "tfjs" else export.MAX_PROBABILITY_DIFFERENCE
    np.testing.assert_allclose(got, expected, atol=allowed)


def test_tflite_reproduces_the_card_on_test_digits(card, test_set, tflite):
    probabilities, labels = tflite["test"], test_set[1]
    threshold = card["uncertainty"]["threshold"]
    sure = probabilities.max(1) >= threshold
    assert abs((~sure).mean() - card["uncertainty"]["test_digits_flagged"]) <= TOLERANCE
    accuracy_when_sure = (probabilities.argmax(1)[sure] == labels[sure]).mean()
    assert abs(accuracy_when_sure - card["uncertainty"]["test_accuracy_when_sure"]) <= TOLERANCE
    ece = calibration.expected_calibration_error(probabilities, labels)
    assert abs(ece - card["calibration"]["ece_15_bins"]["test_after"]) <= 0.001


def test_shipped_model_meets_the_goals(card, test_set, tflite):
    probabilities, labels = tflite["test"], test_set[1]
    threshold = card["uncertainty"]["threshold"]
    assert (probabilities.argmax(1) == labels).mean() >= GOALS["test_accuracy"]
    assert (probabilities.max(1) < threshold).mean() <= GOALS["test_digits_flagged"]
    assert calibration.expected_calibration_error(probabilities, labels) <= GOALS["test_ece_after"]
    flagged = (tflite["non_digits"].max(1) < threshold).mean()
    assert flagged >= GOALS["held_out_non_digits_flagged"], f"{flagged:.2%} of held-out non-digits flagged"


def test_tflite_reproduces_the_cards_not_a_digit_share_and_meets_its_goal(card, tflite):
    level, rule = card["uncertainty"]["not_a_digit_below"], card["uncertainty"]
    assert abs((tflite["test"].max(1) < level).mean() - rule["test_digits_not_a_digit"]) <= TOLERANCE
    # Most drawings that are no digit are said to be none (the first of the card's held-out set).
    assert (tflite["non_digits"].max(1) < level).mean() >= 0.9
