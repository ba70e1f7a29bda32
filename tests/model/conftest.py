"""What several model test modules share: a quick training run (3,000 digits, one epoch),
and the shipped model's card and its TFLite answers on the 10,000 test digits, each made once."""

import json

import pytest

from model import export
from model.data import load_mnist, to_model_input
from tests.support.generator import QUICK_RUN, run_generator


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("quick-run")
    completed = run_generator(*QUICK_RUN, "--output-root", root)
    assert completed.returncode == 0, completed.stderr[-3000:]
    card = json.loads((root / "model" / "card.json").read_text())
    return {"root": root, "stdout": completed.stdout, "stderr": completed.stderr, "card": card}


@pytest.fixture(scope="session")
def card(project_root):
    """The shipped model's card (its copies are checked to be the same)."""
    return json.loads((project_root / "model/card.json").read_text())


@pytest.fixture(scope="session")
def test_set():
    """The 10,000 MNIST test digits as the model takes them, and their labels."""
    mnist = load_mnist(allow_download=False)
    return to_model_input(mnist.x_test), mnist.y_test


@pytest.fixture(scope="session")
def tflite_probabilities(project_root, test_set):
    """The shipped TFLite model's probabilities for the test digits."""
    return export.predict_tflite(project_root / "lambda/model/digits.tflite", test_set[0])
