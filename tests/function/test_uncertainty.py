"""Every answer says whether the model is sure, by the rule in its card: the rule itself
(the vectors the page's JavaScript is held to as well), the card's numbers checked at
start-up, and /predict following whatever threshold the card gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import model_card
import uncertainty
from tests.support import LAMBDA_DIR, PROJECT_ROOT
from tests.support.cards import REMOVE, model_copy
from tests.support.drawing import canvas
from tests.support.images import encode

CASES = json.loads((PROJECT_ROOT / "tests/vectors/uncertainty/cases.json").read_text())["cases"]


# --- the rule --------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_rule_gives_the_shared_answers(case):
    rule = model_card.uncertainty_rule({"uncertainty": case["rule"]})
    judgement = uncertainty.judge(case["probabilities"], rule)
    assert judgement.uncertain is case["uncertain"]
    assert [list(alternative) for alternative in judgement.alternatives] == case["alternatives"]
    assert judgement.not_a_digit is case.get("not_a_digit", False)


def test_rule_takes_numpy_float32_as_the_model_gives_them():
    import numpy as np

    rule = uncertainty.Rule(threshold=0.9, alternatives_min_probability=0.05, max_alternatives=3)
    probabilities = np.array([0.05, 0, 0, 0, 0.55, 0, 0, 0, 0, 0.40], dtype=np.float32)
    judgement = uncertainty.judge(probabilities, rule)
    assert judgement.uncertain and [digit for digit, _ in judgement.alternatives] == [4, 9, 0]
    assert all(type(probability) is float for _, probability in judgement.alternatives)


# --- the card's numbers ----------------------------------------------------------------

GOOD = {"rule": "top probability below threshold", "threshold": 0.9, "alternatives_min_probability": 0.05,
        "max_alternatives": 3}
NONSENSE = {
    "missing": REMOVE,
    "not an object": "0.9",
    "another rule": {**GOOD, "rule": "entropy above threshold"},
    "no rule named": {key: value for key, value in GOOD.items() if key != "rule"},
    "no threshold": {key: value for key, value in GOOD.items() if key != "threshold"},
    "threshold as text": {**GOOD, "threshold": "0.9"},
    "threshold true": {**GOOD, "threshold": True},
    "threshold above 1": {**GOOD, "threshold": 1.5},
    "threshold 0": {**GOOD, "threshold": 0},
    "threshold NaN": {**GOOD, "threshold": float("nan")},
    "negative minimum": {**GOOD, "alternatives_min_probability": -0.1},
    "no minimum": {key: value for key, value in GOOD.items() if key != "alternatives_min_probability"},
    "no alternatives allowed": {**GOOD, "max_alternatives": 0},
    "fractional alternatives": {**GOOD, "max_alternatives": 2.5},
    "more alternatives than classes": {**GOOD, "max_alternatives": 11},
    "not-a-digit level as text": {**GOOD, "not_a_digit_below": "0.4"},
    "negative not-a-digit level": {**GOOD, "not_a_digit_below": -0.1},
    "not-a-digit level above the threshold": {**GOOD, "not_a_digit_below": 0.95},
}


def test_a_sensible_rule_is_read_as_it_is_written(tmp_path):
    card = model_card.read(model_copy(tmp_path, uncertainty={**GOOD, "threshold": 0.75, "max_alternatives": 2,
                                                             "not_a_digit_below": 0.3}))
    assert card.uncertainty == uncertainty.Rule(threshold=0.75, alternatives_min_probability=0.05, max_alternatives=2,
                                                not_a_digit_below=0.3)


def test_a_card_from_before_the_not_a_digit_level_calls_nothing_not_a_digit(tmp_path):
    card = model_card.read(model_copy(tmp_path, uncertainty={"not_a_digit_below": REMOVE}))
    assert card.uncertainty.not_a_digit_below == 0.0
    assert not uncertainty.judge([0.1] * 10, card.uncertainty).not_a_digit


def model_with_rule(directory, block):
    """The model with `block` as its card's whole uncertainty block (REMOVE: none)."""
    model_copy(directory, uncertainty=REMOVE)
    if block is not REMOVE:
        card = json.loads((directory / "card.json").read_text())
        (directory / "card.json").write_text(json.dumps({**card, "uncertainty": block}))
    return directory


@pytest.mark.parametrize("name", sorted(NONSENSE))
def test_a_card_without_a_sensible_rule_is_refused(tmp_path, name):
    directory = model_with_rule(tmp_path, NONSENSE[name])
    with pytest.raises(model_card.ModelUnavailable) as refused:
        model_card.read(directory)
    message = str(refused.value)
    assert message.startswith(f"{directory / 'card.json'}: ") and "uncertainty" in message
    assert "make train" in message and "\n" not in message


@pytest.mark.parametrize("block", [REMOVE, {**GOOD, "threshold": "high"}], ids=["missing", "threshold-high"])
def test_start_up_stops_with_one_line_without_a_sensible_rule(tmp_path, block):
    directory = model_with_rule(tmp_path, block)
    completed = subprocess.run([sys.executable, "-c", "import app"], cwd=LAMBDA_DIR, capture_output=True, text=True,
                               timeout=120, env={**os.environ, "DIGITS_MODEL_DIR": str(directory)})
    assert completed.returncode == 1, completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(f"error: {directory / 'card.json'}: ") and "uncertainty" in lines[0]
    assert ('"uncertainty"' if block is REMOVE else 'uncertainty.threshold is "high"') in lines[0]


# --- /predict --------------------------------------------------------------------------


@pytest.fixture
def serving(app, classifier):
    """serving(model_dir): the app answers with the model and card in model_dir until the test ends."""
    import classifier as classifier_module
    from pipeline import current_classifier

    def use(model_dir):
        model = classifier_module.Classifier(model_dir)
        app.dependency_overrides[current_classifier] = lambda: model
        return model

    yield use
    app.dependency_overrides.pop(current_classifier, None)


def ask(client, picture: bytes) -> dict:
    response = client.post("/predict", content=picture, headers={"Content-Type": "image/png"})
    assert response.status_code == 200, response.text
    return response.json()


def test_every_answer_says_whether_the_model_is_sure(client, classifier, seven_png):
    answer = ask(client, seven_png)
    assert answer["uncertain"] is (answer["confidence"] < classifier.uncertainty.threshold)
    assert ("alternatives" in answer) is answer["uncertain"]


def test_the_threshold_is_the_cards(client, serving, tmp_path, seven_png):
    """The same picture, two cards: a threshold just above the answer's probability makes it
    uncertain, one at it makes it sure."""
    confidence = ask(client, seven_png)["confidence"]
    assert confidence < 1, "a 7 drawn this plainly should leave some doubt to the model"

    serving(model_copy(tmp_path / "doubting", uncertainty={"threshold": (confidence + 1) / 2}))
    doubting = ask(client, seven_png)
    assert doubting["uncertain"] is True and doubting["digit"] == 7
    alternatives = doubting["alternatives"]
    assert alternatives[0] == {"digit": 7, "probability": doubting["confidence"]}
    assert [alternative["probability"] for alternative in alternatives] == sorted(
        (alternative["probability"] for alternative in alternatives), reverse=True)
    assert all(doubting["probabilities"][alternative["digit"]] == alternative["probability"]
               for alternative in alternatives)

    serving(model_copy(tmp_path / "trusting", uncertainty={"threshold": confidence}))
    trusting = ask(client, seven_png)
    assert trusting["uncertain"] is False and "alternatives" not in trusting
    assert trusting["probabilities"] == doubting["probabilities"]


def test_alternatives_follow_the_cards_minimum_and_maximum(client, serving, tmp_path):
    import numpy as np

    picture = encode(np.minimum(canvas(4), canvas(9)))  # a 4 and a 9 drawn over each other
    serving(model_copy(tmp_path / "all", uncertainty={"threshold": 1.0, "alternatives_min_probability": 0.0,
                                                      "max_alternatives": 10}))
    every = ask(client, picture)
    assert [alternative["digit"] for alternative in every["alternatives"]] == sorted(
        range(10), key=lambda digit: (-every["probabilities"][digit], digit))

    serving(model_copy(tmp_path / "two", uncertainty={"threshold": 1.0, "alternatives_min_probability": 0.0,
                                                      "max_alternatives": 2}))
    assert ask(client, picture)["alternatives"] == every["alternatives"][:2]

    serving(model_copy(tmp_path / "strict", uncertainty={"threshold": 1.0, "alternatives_min_probability": 1.0}))
    assert ask(client, picture)["alternatives"] == every["alternatives"][:1]


def test_a_blank_canvas_is_still_no_digit(client):
    import numpy as np

    blank = encode(np.zeros((280, 280, 4), np.uint8))  # the page's empty, transparent pad
    response = client.post("/predict", content=blank, headers={"Content-Type": "image/png"})
    assert response.status_code == 422 and "no digit found" in response.json()["detail"]


def test_the_request_log_says_whether_the_answer_was_sure(client, classifier, seven_png, capsys):
    capsys.readouterr()
    answer = ask(client, seven_png)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"message":"POST /predict' in line]
    assert lines and lines[-1]["uncertain"] is answer["uncertain"]


def test_docs_give_the_cards_numbers(client, classifier):
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    prediction = schema["Prediction"]
    assert "uncertain" in prediction["required"] and "alternatives" not in prediction["required"]
    assert f"{classifier.uncertainty.threshold:g}" in prediction["properties"]["uncertain"]["description"]
    assert schema["Alternative"]["required"] == ["digit", "probability"]


def test_drawings_that_are_no_digit_are_said_to_be_none(client, classifier):
    """Held-out non-digits (kinds training never saw): far below the card's level, the answer
    says it is not a digit at all, and never for an answer above it."""
    from model import outliers

    level = classifier.uncertainty.not_a_digit_below
    assert 0 < level < classifier.uncertainty.threshold  # the shipped card states one
    said = 0
    for pixels in outliers.generate(40, 5, "held_out"):
        body = client.post("/predict", json={"pixels": pixels.tolist()}).json()
        [digit] = body["digits"]
        below = body["confidence"] < level
        assert body.get("not_a_digit", False) is below and digit.get("not_a_digit", False) is below
        assert not below or body["uncertain"]
        said += below
    assert said >= 30  # most of them: the card measured 93 % of its held-out non-digits


def test_digits_are_almost_never_said_to_be_none(client, mnist):
    said = sum("not_a_digit" in client.post("/predict", json={"pixels": mnist.x_test[index].tolist()}).json()
               for index in range(300))
    assert said <= 1
