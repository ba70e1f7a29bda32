"""`python generator.py` end to end on a quick run: every export, the card, the reports."""

import hashlib
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from model import export
from model.data import load_mnist, to_model_input
from tests.support.generator import run_generator

pytestmark = pytest.mark.slow

EXPORTED_FILES = [
    "model/digits.keras",
    "model/saved_model/saved_model.pb",
    "model/card.json",
    "model/reports/training_curves.png",
    "model/reports/confusion_matrix.png",
    "web/model/model.json",
    "web/model/model.js",
    "web/model/card.json",
    "lambda/model/digits.tflite",
    "lambda/model/card.json",
]


def tree_digest(root):
    """SHA-256 of every exported file, to tell whether anything changed."""
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file() and "checkpoints" not in path.parts}


@pytest.fixture(scope="module")
def test_digits():
    mnist = load_mnist()
    return to_model_input(mnist.x_test[:300]), mnist.y_test[:300]


def test_quick_run_writes_every_export_and_nothing_else(quick_run):
    root = quick_run["root"]
    for relative in EXPORTED_FILES:
        assert (root / relative).is_file(), relative
    assert sorted(p.name for p in root.iterdir()) == ["lambda", "model", "web"]  # no staging left
    shards = quick_run["card"]["formats"]["tfjs"]
    assert shards["checked_digits"] == 200
    # Quantised TF.js weights can tip an answer a one-epoch model hesitates over, rarely.
    assert shards["argmax_disagreements"] <= 2


def test_progress_validation_metrics_and_total_time_are_printed(quick_run):
    out = quick_run["stdout"]
    # Not a terminal: one line per epoch, not Keras's progress bar and its carriage returns.
    assert "\r" not in out and "\x1b[" not in out and "169/169" not in out
    assert re.search(r"^Epoch 1/1: accuracy \d+\.\d\d%, loss \d+\.\d{4}, validation accuracy \d+\.\d\d%, "
                     r"\d+ s, learning rate [\d.e-]+$", out, re.MULTILINE), out
    assert "Training took" in out and "kept epoch 1" in out
    assert "Model " + quick_run["card"]["version"] in out


def test_a_short_run_says_it_scores_low_and_how_to_try_it(quick_run):
    out = " ".join(quick_run["stdout"].split())
    assert ("A short run scores low: this one trained 1 epoch(s) on 2,700 digits; the default recipe "
            "(`make train`) trains 15 epochs on every training digit.") in out
    assert f"Try it: DIGITS_MODEL_DIR={quick_run['root'] / 'lambda' / 'model'} make serve" in out


def test_all_formats_agree_with_keras_on_the_same_digits(quick_run, test_digits):
    import keras

    root = quick_run["root"]
    images, _labels = test_digits
    reference = export.predict_keras(keras.models.load_model(root / "model/digits.keras"), images)
    others = {
        "saved_model": export.predict_saved_model(root / "model/saved_model", images),
        "tflite": export.predict_tflite(root / "lambda/model/digits.tflite", images),
        "tfjs": export.predict_tfjs(root / "web/model", images),
    }
    for name, probabilities in others.items():
        assert probabilities.shape == (300, 10), name
        # The TF.js weights are quantised, the others are the same float32 weights.
        tolerance = export.MAX_TFJS_PROBABILITY_DIFFERENCE if name == "tfjs" else 1e-4
        np.testing.assert_allclose(probabilities, reference, atol=tolerance, err_msg=name)
        if name != "tfjs":
            np.testing.assert_array_equal(probabilities.argmax(1), reference.argmax(1), err_msg=name)


def test_web_script_bundles_the_same_model_and_card(quick_run):
    web = quick_run["root"] / "web/model"
    text = (web / "model.js").read_text()
    prefix = "window.DIGITS_MODEL = "
    bundle = json.loads(text[text.index(prefix) + len(prefix):].rstrip().rstrip(";"))
    model_json = json.loads((web / "model.json").read_text())
    assert bundle["modelTopology"] == model_json["modelTopology"]
    shard = b"".join((web / path).read_bytes() for group in model_json["weightsManifest"]
                     for path in group["paths"])
    import base64
    assert base64.b64decode(bundle["weightDataBase64"]) == shard
    assert bundle["card"] == quick_run["card"]


def test_card_describes_the_run(quick_run):
    card = quick_run["card"]
    root = quick_run["root"]
    # The same card beside every export.
    for copy in ("web/model/card.json", "lambda/model/card.json"):
        assert json.loads((root / copy).read_text()) == card
    training = card["training"]
    assert training["limit"] == 3000 and training["epochs"] == 1 and training["batch_size"] == 16
    assert training["train_digits"] == 2700 and training["validation_digits"] == 300
    assert len(training["history"]["val_accuracy"]) == 1 and training["seconds"] > 0
    # The recipe as Keras ran it, read from the optimizer and its schedule.
    assert training["optimizer"] == {"name": "SGD", "momentum": 0.9, "nesterov": True,
                                     "weight_decay": 0.0005, "use_ema": False}
    schedule = training["learning_rate_schedule"]
    assert schedule["name"] == "CosineDecay" and schedule["warmup_target"] == 0.05
    assert schedule["warmup_steps"] + schedule["decay_steps"] == 169  # one epoch of 2,700 digits
    assert training["loss"] == "CategoricalCrossentropy"
    assert training["non_digits_per_batch"] == 2 and training["non_digit_weight"] == 0.5
    assert training["touching_pairs"] == 1.0 and training["seed"] == 7
    test = card["test"]
    assert test["digits"] == 10_000
    assert np.asarray(test["confusion_matrix"]).sum() == 10_000
    assert test["errors"] == 10_000 - np.trace(np.asarray(test["confusion_matrix"]))
    assert set(test["per_class_accuracy"]) == {str(d) for d in range(10)}
    assert set(card["formats"]) == {"keras", "saved_model", "tflite", "tfjs"}
    for name in ("saved_model", "tflite"):
        assert abs(card["formats"][name]["accuracy"] - test["accuracy"]) <= 0.0002
    assert card["data"]["checksums_sha256"]["train_images"].startswith("ba891046")
    assert card["libraries"]["tensorflow"] == "2.19.0"
    # One epoch on 2,700 digits learns something (chance is 10 %); BatchNorm's running
    # statistics, averaged over ~100 batches, lag behind in so short a run.
    assert test["accuracy"] > 0.2


def test_version_names_the_weights(quick_run):
    import keras

    from model.card import weights_digest

    model = keras.models.load_model(quick_run["root"] / "model/digits.keras")
    assert quick_run["card"]["version"].endswith("-" + weights_digest(model)[:8])


def test_reports_are_real_pictures(quick_run):
    for name in ("training_curves.png", "confusion_matrix.png", "reliability_diagram.png",
                 "uncertainty_examples.png"):
        with Image.open(quick_run["root"] / "model/reports" / name) as picture:
            assert picture.format == "PNG" and min(picture.size) >= 400


def test_export_again_from_keras_file_without_training(quick_run, tmp_path, project_root):
    source = quick_run["root"] / "model/digits.keras"
    completed = run_generator("--from-keras", source, "--tfjs-check", "0",
                              "--output-root", tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Epoch" not in completed.stdout
    card = json.loads((tmp_path / "model/card.json").read_text())
    # Same weights and same training record: the same model version.
    assert card["version"] == quick_run["card"]["version"]
    assert card["training"] == quick_run["card"]["training"]
    assert card["test"]["accuracy"] == quick_run["card"]["test"]["accuracy"]
    for relative in EXPORTED_FILES:
        assert (tmp_path / relative).is_file(), relative


def test_failed_export_leaves_the_previous_model_whole(quick_run, tmp_path, project_root):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(quick_run["root"], root)
    before = tree_digest(root)
    # Train a different model, then fail while writing the TF.js export.
    args = ["--limit", "500", "--epochs", "1", "--seed", "7", "--output-root", str(root)]
    script = (
        "import sys, generator, model.export as e\n"
        "def fail(*args): raise RuntimeError('disk full')\n"
        "e.write_tfjs = fail\n"
        f"sys.exit(generator.main({args!r}))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], cwd=project_root,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode != 0 and "disk full" in completed.stderr
    assert tree_digest(root) == before
    assert not list(root.glob(".export-staging-*"))


def test_same_seed_gives_the_same_model(tmp_path, project_root):
    versions = []
    for run in ("a", "b"):
        completed = run_generator("--limit", "400", "--epochs", "1", "--seed", "3",
                                  "--tfjs-check", "0", "--output-root", tmp_path / run)
        assert completed.returncode == 0, completed.stderr[-2000:]
        card = json.loads((tmp_path / run / "model/card.json").read_text())
        versions.append(card["version"].split("-")[-1])  # the weights' hash
    assert versions[0] == versions[1]


@pytest.mark.parametrize(("args", "message"), [
    (["--epochs", "0"], "--epochs: 0 is out of range"),
    (["--batch-size", "many"], "--batch-size: expected a whole number, got 'many'"),
    (["--validation-split", "1.5"], "--validation-split: 1.5 is out of range"),
    (["--learning-rate", "-0.1"], "--learning-rate: -0.1 is out of range"),
    (["--limit", "5"], "--limit: 5 is out of range"),
    (["--from-keras", "missing.keras"], "--from-keras: missing.keras is not a file"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_bad_flags_get_argparse_errors(args, message, project_root):
    completed = run_generator(*args, timeout=60)
    assert completed.returncode == 2
    assert message in completed.stderr and "usage: generator.py" in completed.stderr


# What TensorFlow, the converters and LiteRT print at start-up on a machine without a GPU,
# and Keras's warning about an argument the project used to pass to fit.
START_UP_NOISE = ["Unable to register cu", "cuInit", "CUDA error", "computation placer", "ydf.readthedocs",
                  "Decision Forests", "oneDNN", "absl::InitializeLog", "use_unbounded_threadpool", "XNNPACK",
                  "MLIR V1", "Ignored output_format", "Starting new session", "shuffle=True"]


def noise_in(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(pattern in line for pattern in START_UP_NOISE)]


def test_evaluate_prints_its_own_lines_first_and_no_start_up_noise(tmp_path, project_root, monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # as a newcomer runs it
    shipped = project_root / "model/digits.keras"
    completed = run_generator("evaluate", shipped, "--out", tmp_path / "matrix.png", timeout=300, merged=True)
    assert completed.returncode == 0, completed.stdout[-3000:]
    lines = completed.stdout.splitlines()  # stdout and stderr, interleaved as on a terminal
    assert lines[0] == "Loading MNIST ..."
    assert lines[1].startswith("  60,000 training and 10,000 test digits from ")
    assert lines[2].startswith(f"{shipped} (digits_cnn, 327,242 parameters)")
    assert lines[3].startswith("Test accuracy: ")
    assert noise_in(completed.stdout) == []


def test_training_prints_no_start_up_noise(quick_run):
    # conftest runs it with the environment's TF_CPP_MIN_LOG_LEVEL=2, which generator.py also sets.
    assert noise_in(quick_run["stderr"]) == []
    assert noise_in(quick_run["stdout"]) == []


def test_help_documents_every_option(project_root):
    completed = run_generator("--help", timeout=60)
    assert completed.returncode == 0
    for flag in ("--epochs", "--batch-size", "--learning-rate", "--momentum", "--nesterov",
                 "--validation-split", "--augment", "--no-augment", "--seed", "--data-dir",
                 "--output-root", "--limit", "--from-keras"):
        assert flag in completed.stdout, flag
