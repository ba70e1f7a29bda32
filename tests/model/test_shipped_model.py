"""The model this repository ships: every format keeps the promises of its card (the card,
the test digits and the TFLite answers come from conftest.py)."""

import json

import numpy as np
import pytest

from model import export

pytestmark = pytest.mark.slow

# The card states accuracies as fractions; "within 0.02 points" of a percentage.
TOLERANCE = 0.0002


def test_every_copy_of_the_card_is_the_same(project_root, card):
    for copy in ("web/model/card.json", "lambda/model/card.json"):
        assert json.loads((project_root / copy).read_text()) == card


def test_shipped_model_meets_the_accuracy_goal(card):
    assert card["test"]["digits"] == 10_000
    assert card["training"]["epochs"] == 15 and card["training"]["batch_size"] == 16
    assert card["training"]["limit"] is None
    assert card["test"]["accuracy"] >= 0.996


def test_tflite_matches_the_card_on_all_test_digits(card, test_set, tflite_probabilities):
    labels = test_set[1]
    accuracy = (tflite_probabilities.argmax(1) == labels).mean()
    assert abs(accuracy - card["formats"]["tflite"]["accuracy"]) <= TOLERANCE
    assert abs(accuracy - card["test"]["accuracy"]) <= TOLERANCE


def test_saved_model_matches_the_card_on_all_test_digits(project_root, card, test_set):
    images, labels = test_set
    probabilities = export.predict_saved_model(project_root / "model/saved_model", images)
    accuracy = (probabilities.argmax(1) == labels).mean()
    assert abs(accuracy - card["formats"]["saved_model"]["accuracy"]) <= TOLERANCE
    assert abs(accuracy - card["test"]["accuracy"]) <= TOLERANCE


def test_per_class_accuracy_and_confusion_matrix_match_tflite(card, test_set, tflite_probabilities):
    labels = test_set[1]
    predicted = tflite_probabilities.argmax(1)
    matrix = np.asarray(card["test"]["confusion_matrix"])
    assert np.abs(matrix - np.bincount(labels * 10 + predicted, minlength=100).reshape(10, 10)).sum() <= 4
    for digit, claimed in card["test"]["per_class_accuracy"].items():
        assert (predicted[labels == int(digit)] == int(digit)).mean() == pytest.approx(claimed, abs=0.003)


def test_tfjs_model_loads_under_node_and_agrees_with_tflite(project_root, test_set, tflite_probabilities):
    images = test_set[0][:300]
    probabilities = export.predict_tfjs(project_root / "web/model", images)
    np.testing.assert_array_equal(probabilities.argmax(1), tflite_probabilities[:300].argmax(1))
    # The TF.js weights are quantised: the page downloads a third of the bytes.
    np.testing.assert_allclose(probabilities, tflite_probabilities[:300], atol=export.MAX_TFJS_PROBABILITY_DIFFERENCE)


def test_version_is_the_shipped_weights(project_root, card):
    import keras

    from model.card import weights_digest

    model = keras.models.load_model(project_root / "model/digits.keras")
    assert card["version"].endswith("-" + weights_digest(model)[:8])
