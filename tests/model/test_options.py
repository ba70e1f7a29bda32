"""The training options beyond the default recipe: the MLP baseline, evaluating a model,
k-fold cross-validation, the TensorBoard dashboard, and resuming an interrupted run."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from model import export
from model.data import load_mnist, to_model_input
from tests.support.generator import run_generator

pytestmark = pytest.mark.slow

MLP_RUN = ["--arch", "mlp", "--hidden", "64,32", "--limit", "1000", "--epochs", "2",
           "--tfjs-check", "100"]


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory, project_root):
    root = tmp_path_factory.mktemp("mlp-run")
    completed = run_generator(*MLP_RUN, "--output-root", root)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {"root": root, "stdout": completed.stdout,
            "card": json.loads((root / "model/card.json").read_text())}


def tensorboard_events(log_dir):
    """(folder name, tag, step) of every summary TensorBoard would show under `log_dir`."""
    import tensorflow as tf

    found = []
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                kind = value.metadata.plugin_data.plugin_name
                found.append((path.parent.name, value.tag, event.step, kind))
    return found


# --- the MLP baseline ------------------------------------------------------------------


def test_mlp_card_names_its_architecture_and_keeps_the_serving_contract(mlp_run, quick_run):
    card, cnn_card = mlp_run["card"], quick_run["card"]
    assert card["architecture"]["name"] == "digits_mlp"
    assert "784 - 64 - 32 - 10" in card["architecture"]["description"]
    # 784*64+64 + 64*32+32 + 32*10+10
    assert card["architecture"]["parameters"] == 52_650
    assert card["training"]["arch"] == "mlp" and card["training"]["hidden"] == [64, 32]
    # What the function and the page rely on is the same for both networks.
    for key in ("input", "output", "classes", "preprocessing"):
        assert card[key] == cnn_card[key], key
    assert cnn_card["architecture"]["name"] == "digits_cnn"
    assert "32C3-32C3-32C5S2" in cnn_card["architecture"]["description"]


def test_mlp_exports_load_in_tflite_and_tfjs_and_agree_with_keras(mlp_run):
    import keras

    root = mlp_run["root"]
    mnist = load_mnist()
    images = to_model_input(mnist.x_test[:200])
    reference = export.predict_keras(keras.models.load_model(root / "model/digits.keras"), images)
    for name, probabilities in {
        "saved_model": export.predict_saved_model(root / "model/saved_model", images),
        "tflite": export.predict_tflite(root / "lambda/model/digits.tflite", images),
        "tfjs": export.predict_tfjs(root / "web/model", images),
    }.items():
        assert probabilities.shape == (200, 10), name
        # The TF.js weights are quantised, the others are the same float32 weights.
        tolerance = export.MAX_TFJS_PROBABILITY_DIFFERENCE if name == "tfjs" else 1e-4
        np.testing.assert_allclose(probabilities, reference, atol=tolerance, err_msg=name)
    assert mlp_run["card"]["formats"]["tfjs"]["argmax_disagreements"] <= 2
    # Two epochs on 900 digits: clearly learning (chance is 10 %).
    assert mlp_run["card"]["test"]["accuracy"] > 0.5


# --- the dashboard ---------------------------------------------------------------------


def test_dashboard_logs_curves_and_a_confusion_matrix_picture_per_epoch(mlp_run):
    log_root = mlp_run["root"] / "model/checkpoints/tensorboard"
    runs = list(log_root.iterdir())
    assert len(runs) == 1 and runs[0].name.endswith("-mlp")
    events = tensorboard_events(runs[0])
    pictures = sorted(step for folder, tag, step, kind in events
                      if tag == "confusion_matrix" and kind == "images")
    assert pictures == [0, 1]
    assert {(folder, tag) for folder, tag, _step, _kind in events} >= {
        ("train", "epoch_accuracy"), ("train", "epoch_loss"),
        ("validation", "epoch_accuracy"), ("validation", "epoch_loss")}
    assert f"tensorboard --logdir {log_root}" in mlp_run["stdout"]


def test_no_tensorboard_writes_no_logs(tmp_path, project_root):
    completed = run_generator("--arch", "mlp", "--limit", "200", "--epochs", "1",
                              "--tfjs-check", "0", "--no-tensorboard", "--output-root", tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert not (tmp_path / "model/checkpoints/tensorboard").exists()
    assert (tmp_path / "model/digits.keras").is_file()


# --- evaluate --------------------------------------------------------------------------


def test_evaluate_prints_the_scores_of_the_card_and_writes_the_picture(quick_run, tmp_path, project_root):
    from PIL import Image

    card = quick_run["card"]
    picture = tmp_path / "matrix.png"
    completed = run_generator("evaluate", quick_run["root"] / "model/digits.keras",
                              "--out", picture, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    out = completed.stdout
    assert "Epoch" not in out
    assert f"Test accuracy: {card['test']['accuracy']:.2%} ({card['test']['errors']} of 10,000" in out
    for digit, accuracy in card["test"]["per_class_accuracy"].items():
        assert f"  {digit}: {accuracy:.2%}" in out
    matrix = np.asarray(card["test"]["confusion_matrix"])
    np.fill_diagonal(matrix, 0)
    true, predicted = np.unravel_index(matrix.argmax(), matrix.shape)
    worst = out.split("Most confused (true -> predicted):\n")[1].splitlines()[0]
    assert worst == f"  {true} -> {predicted}: {matrix.max()}"
    with Image.open(picture) as image:
        assert image.format == "PNG"


def test_evaluate_by_default_writes_beside_the_reports_not_over_them(quick_run, tmp_path, project_root):
    shutil.copytree(quick_run["root"] / "model", tmp_path / "model",
                    ignore=shutil.ignore_patterns("checkpoints"))
    before = {p.name: p.read_bytes() for p in (tmp_path / "model/reports").iterdir()}
    completed = run_generator("evaluate", tmp_path / "model/digits.keras", timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    reports = tmp_path / "model/reports"
    assert (reports / "evaluation_confusion_matrix.png").is_file()
    assert {name: (reports / name).read_bytes() for name in before} == before


# --- k-fold cross-validation -----------------------------------------------------------


def test_kfold_prints_every_fold_with_mean_and_spread_and_exports_nothing(tmp_path, project_root):
    completed = run_generator("--kfolds", "3", "--arch", "mlp", "--limit", "600",
                              "--epochs", "1", "--no-tensorboard", "--output-root", tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    summary = json.loads((tmp_path / "model/checkpoints/kfold/cross_validation.json").read_text())
    accuracies = [fold["validation_accuracy"] for fold in summary["results"]]
    assert [fold["validation_digits"] for fold in summary["results"]] == [200, 200, 200]
    for number, accuracy in enumerate(accuracies, 1):
        assert f"  fold {number}: {accuracy:.2%}" in completed.stdout
    assert (f"  mean {np.mean(accuracies):.2%}, standard deviation {np.std(accuracies):.2%}"
            in completed.stdout)
    # An evaluation mode: no model is exported.
    assert not (tmp_path / "model/digits.keras").exists()
    assert not (tmp_path / "web").exists() and not (tmp_path / "lambda").exists()


def test_kfold_with_export_records_the_folds_in_the_card(tmp_path, project_root):
    completed = run_generator("--kfolds", "2", "--export", "--arch", "mlp",
                              "--limit", "400", "--epochs", "1", "--tfjs-check", "0",
                              "--no-tensorboard", "--output-root", tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    card = json.loads((tmp_path / "model/card.json").read_text())
    folds = card["cross_validation"]
    assert folds["folds"] == 2 and len(folds["results"]) == 2
    assert folds["mean_accuracy"] == pytest.approx(
        np.mean([fold["validation_accuracy"] for fold in folds["results"]]))
    assert card["training"]["train_digits"] == 360  # the exported model: the usual split


# --- resuming --------------------------------------------------------------------------

RESUME_RUN = ["--arch", "mlp", "--hidden", "32", "--limit", "600", "--epochs", "3",
              "--tfjs-check", "0"]

# Runs the generator with a probe: it records the optimizer's state as each epoch begins
# and, when asked, presses Ctrl-C (a real SIGINT) as soon as the given epoch is recorded
# for --resume.
PROBE = """
import json, os, signal, sys
import numpy as np
import generator
from model import quiet

quiet.import_tensorflow()
import model.training

probe_file, stop_after = sys.argv[1], int(sys.argv[2])

class Probe(model.training.ResumePoint):
    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        optimizer = self.model.optimizer
        # Before the first step the optimizer has built no momentum yet.
        momentums = [np.asarray(v).ravel() for v in optimizer.variables if "momentum" in v.path] or [[]]
        weights = [np.asarray(w).ravel() for w in self.model.get_weights()]
        with open(probe_file, "a") as file:
            file.write(json.dumps({"epoch": epoch, "iterations": int(optimizer.iterations),
                                   "learning_rate": float(optimizer.learning_rate),
                                   "momentum": np.concatenate(momentums).tolist(),
                                   "weights": np.concatenate(weights).tolist()}) + "\\n")

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if epoch + 1 == stop_after:
            os.kill(os.getpid(), signal.SIGINT)

model.training.ResumePoint = Probe
sys.exit(generator.main(sys.argv[3:]))
"""


def run_probed(project_root, probe_file, stop_after, *args):
    return subprocess.run([sys.executable, "-c", PROBE, str(probe_file), str(stop_after), *map(str, args)],
                          cwd=project_root, capture_output=True, text=True, timeout=600)


def read_probe(path):
    return {state["epoch"]: state for state in map(json.loads, path.read_text().splitlines())}


def test_interrupted_run_stops_cleanly_and_resumes_where_it_stopped(tmp_path, project_root):
    root = tmp_path / "interrupted"
    probe = tmp_path / "interrupted.jsonl"
    stopped = run_probed(project_root, probe, 1, *RESUME_RUN, "--output-root", root)
    assert stopped.returncode == 130
    assert "Traceback" not in stopped.stderr
    assert "Interrupted: the best epoch so far is kept in" in stopped.stderr
    assert "--resume" in stopped.stderr
    assert (root / "model/checkpoints/best.keras").is_file()
    assert not (root / "model/digits.keras").exists()  # nothing exported
    assert not list(root.glob(".export-staging-*"))

    resumed = run_probed(project_root, probe, 0, "--resume", "--output-root", root)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Epoch 1/3" not in resumed.stdout and "Epoch 2/3" in resumed.stdout
    card = json.loads((root / "model/card.json").read_text())
    assert card["training"]["epochs"] == 3 and card["training"]["hidden"] == [32]
    assert len(card["training"]["history"]["val_accuracy"]) == 3
    # The dashboard continues the same run: one picture per epoch, none twice.
    runs = list((root / "model/checkpoints/tensorboard").iterdir())
    assert len(runs) == 1
    steps = [step for _f, tag, step, _k in tensorboard_events(runs[0]) if tag == "confusion_matrix"]
    assert sorted(steps) == [0, 1, 2]
    # A finished run leaves nothing to resume.
    assert not (root / "model/checkpoints/resume.json").exists()
    assert not list((root / "model/checkpoints").glob("resume-epoch-*"))

    # An uninterrupted run of the same recipe, probed the same way.
    straight = tmp_path / "straight.jsonl"
    completed = run_probed(project_root, straight, 0, *RESUME_RUN, "--output-root", tmp_path / "straight")
    assert completed.returncode == 0, completed.stderr[-3000:]
    resumed_states, straight_states = read_probe(probe), read_probe(straight)
    # Epoch 2 begins with the step count (so the learning-rate schedule's position), the
    # momentum and the weights that the uninterrupted run had.
    for key in ("iterations", "learning_rate"):
        assert resumed_states[1][key] == straight_states[1][key], key
    assert resumed_states[1]["iterations"] == 34  # 540 digits in batches of 16
    np.testing.assert_array_equal(resumed_states[1]["momentum"], straight_states[1]["momentum"])
    np.testing.assert_array_equal(resumed_states[1]["weights"], straight_states[1]["weights"])
    assert np.abs(resumed_states[1]["momentum"]).sum() > 0


def test_resume_refuses_settings_that_contradict_the_interrupted_run(tmp_path, project_root):
    root = tmp_path / "root"
    stopped = run_probed(project_root, tmp_path / "probe.jsonl", 1, *RESUME_RUN, "--output-root", root)
    assert stopped.returncode == 130
    completed = run_generator("--resume", "--epochs", "5", "--output-root", root, timeout=60)
    assert completed.returncode == 2
    assert "--resume: the interrupted run has --epochs 3, not 5" in completed.stderr


# --- the command line ------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["--kfolds", "1"], "--kfolds: 1 is out of range: must be >= 2"),
    (["--hidden", "128,128"], "--hidden: only with --arch mlp"),
    (["--arch", "mlp", "--hidden", "128,none"], "expected sizes separated by commas"),
    (["--arch", "mlp", "--hidden", "128,0"], "every hidden layer needs at least one unit"),
    (["--arch", "rnn"], "argument --arch: invalid choice: 'rnn'"),
    (["--resume", "--from-keras", "model/digits.keras"], "--from-keras exports a trained model"),
    (["--epochs", "3", "--from-keras", "model/digits.keras"], "drop --epochs"),
    (["--resume", "--kfolds", "3"], "--resume: continues one training run"),
    (["--export"], "--export: only with --kfolds"),
    (["--no-tensorboard", "--logdir", "logs"], "--logdir: not with --no-tensorboard"),
    (["--kfolds", "30", "--limit", "20"], "--kfolds 30: more folds than the 20 training digits"),
    (["evaluate", "missing.keras"], "MODEL: missing.keras is not a file"),
    (["evaluate", "--top", "0"], "--top: 0 is out of range"),
])
def test_bad_combinations_get_argparse_errors(args, message, tmp_path, project_root):
    where = [] if args[0] == "evaluate" else ["--output-root", tmp_path]
    completed = run_generator(*args, *where, timeout=60)
    assert completed.returncode == 2, completed.stderr
    assert message in completed.stderr and "usage: generator.py" in completed.stderr


def test_resume_without_an_interrupted_run_says_so(tmp_path, project_root):
    completed = run_generator("--resume", "--output-root", tmp_path, timeout=60)
    assert completed.returncode == 2
    assert "--resume: no interrupted run under" in completed.stderr


def test_help_documents_the_new_options_and_evaluate(project_root):
    main_help = run_generator("--help", timeout=60).stdout
    for flag in ("--arch", "--hidden", "--kfolds", "--export", "--tensorboard", "--no-tensorboard",
                 "--logdir", "--resume", "generator.py evaluate"):
        assert flag in main_help, flag
    evaluate_help = run_generator("evaluate", "--help", timeout=60).stdout
    for text in ("MODEL", "--out", "--top", "--data-dir", "model/digits.keras"):
        assert text in evaluate_help, text
