"""Exporting one set of weights in every format, checking them, and publishing atomically.

Layout under the output root (the repository by default):

    model/digits.keras          Keras model (also what `--from-keras` re-exports)
    model/saved_model/          TF SavedModel, signature `serving_default`: image -> probabilities
    model/card.json             the model card
    model/reports/              training curves and confusion matrix (PNG)
    web/model/                  TF.js graph model (model.json + shards), card.json, and
                                model.js: both in one script for the page opened from disk
    lambda/model/               digits.tflite for LiteRT and card.json

Every format takes float32 [N, 28, 28, 1] in [0, 1] (white digit on black) and returns
[N, 10] softmax probabilities, calibrated (softmax of the logits divided by the card's
temperature). Everything is first written into a staging folder beside
the destinations, loaded back and compared with Keras; only then are the destinations
swapped in, with SIGINT and SIGTERM held back, so an interrupted or failed run leaves the
previous model in place, whole.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from model.network import INPUT_NAME, INPUT_SHAPE, OUTPUT_NAME
from model.quiet import native_logs_filtered

KERAS_FILE = Path("model/digits.keras")
SAVED_MODEL_DIR = Path("model/saved_model")
CARD_FILE = Path("model/card.json")
REPORTS_DIR = Path("model/reports")
WEB_MODEL_DIR = Path("web/model")
LAMBDA_MODEL_DIR = Path("lambda/model")
TFLITE_FILE = LAMBDA_MODEL_DIR / "digits.tflite"
PUBLISHED = (KERAS_FILE, SAVED_MODEL_DIR, CARD_FILE, REPORTS_DIR, WEB_MODEL_DIR, LAMBDA_MODEL_DIR)
CARD_COPIES = (CARD_FILE, WEB_MODEL_DIR / "card.json", LAMBDA_MODEL_DIR / "card.json")

SIGNATURE = "serving_default"
PREDICT_BATCH = 1000
# The formats run the same float32 weights; kernels differ only in rounding.
MAX_PROBABILITY_DIFFERENCE = 1e-3
# The page downloads the TF.js weights, so they are quantised: float16, and uint8 (with a
# scale per tensor) for the tensors of at least this many values, which hold most of the
# bytes. A third of the float32 size; the shipped network keeps its 99.64 % on all 10,000
# test digits and every answer, with probabilities moved by under 1e-2.
TFJS_UINT8_MIN_VALUES = 65_536
TFJS_WEIGHTS = f"float16; uint8 for tensors of {TFJS_UINT8_MIN_VALUES:,}+ values"
MAX_TFJS_PROBABILITY_DIFFERENCE = 2e-2

TFJS_SCRIPT = Path(__file__).with_name("tfjs_predict.mjs")


class ExportError(Exception):
    """An exported format failed to load or disagreed with Keras."""


# --- writing each format ---------------------------------------------------------------


def write_keras(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)


def write_saved_model(model: keras.Model, path: Path) -> None:
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=SIGNATURE,
        fn=lambda image: {OUTPUT_NAME: model(image, training=False)},
        input_signature=[tf.TensorSpec((None, *INPUT_SHAPE), tf.float32, name=INPUT_NAME)],
    )
    archive.write_out(str(path), verbose=False)


def write_tflite(saved_model_dir: Path, path: Path) -> None:
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir),
                                                         signature_keys=[SIGNATURE])
    path.parent.mkdir(parents=True, exist_ok=True)
    with native_logs_filtered():  # the converter logs its start-up through absl, unfiltered
        path.write_bytes(converter.convert())


def write_tfjs(saved_model_dir: Path, directory: Path) -> None:
    # A graph model from the SavedModel: @tensorflow/tfjs's layers loader cannot read
    # the InputLayer config that Keras 3 writes, its graph loader reads this without fuss.
    with native_logs_filtered():  # its import loads TF Decision Forests, whose libraries log too
        from tensorflowjs.converters import tf_saved_model_conversion_v2 as tfjs_conversion

    def convert(**quantization):
        with native_logs_filtered():  # Grappler, under the converter, logs through absl
            tfjs_conversion.convert_tf_saved_model(str(saved_model_dir), str(directory), signature_def=SIGNATURE,
                                                   saved_model_tags="serve", **quantization)

    directory.mkdir(parents=True, exist_ok=True)
    convert()  # float32 first, to learn the weights' names and sizes
    manifest = json.loads((directory / "model.json").read_text())["weightsManifest"]
    largest = [spec["name"] for group in manifest for spec in group["weights"]
               if int(np.prod(spec["shape"])) >= TFJS_UINT8_MIN_VALUES]
    for written in directory.iterdir():
        written.unlink()
    convert(quantization_dtype_map={"float16": True, **({"uint8": largest} if largest else {})})


def write_formats(model: keras.Model, root: Path) -> None:
    """Write the Keras, SavedModel, TFLite and TF.js exports under `root`."""
    write_keras(model, root / KERAS_FILE)
    write_saved_model(model, root / SAVED_MODEL_DIR)
    write_tflite(root / SAVED_MODEL_DIR, root / TFLITE_FILE)
    write_tfjs(root / SAVED_MODEL_DIR, root / WEB_MODEL_DIR)


def write_card(card: dict, root: Path) -> None:
    """The card beside every export, and inside web/model/model.js with the TF.js model."""
    text = json.dumps(card, indent=2) + "\n"
    for relative in CARD_COPIES:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    write_web_script(root / WEB_MODEL_DIR, card)


def write_web_script(directory: Path, card: dict) -> None:
    """web/model/model.js: the TF.js model and its card as `window.DIGITS_MODEL`.

    A page opened from disk (file://) cannot fetch() model.json, but it can load a
    <script>; the page hands these parts to tf.io.fromMemory.
    """
    model_json = json.loads((directory / "model.json").read_text())
    manifest = model_json["weightsManifest"]
    weights = b"".join((directory / path).read_bytes() for group in manifest for path in group["paths"])
    bundle = {
        "modelTopology": model_json["modelTopology"],
        "weightSpecs": [spec for group in manifest for spec in group["weights"]],
        "weightDataBase64": base64.b64encode(weights).decode("ascii"),
        "card": card,
    }
    (directory / "model.js").write_text(
        "// The TF.js model and its card in one script, for pages opened from disk (file://).\n"
        f"window.DIGITS_MODEL = {json.dumps(bundle, separators=(',', ':'))};\n")


# --- running each format ---------------------------------------------------------------


def _in_batches(predict_batch, images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    parts = [predict_batch(images[i:i + PREDICT_BATCH]) for i in range(0, len(images), PREDICT_BATCH)]
    return np.concatenate(parts).astype(np.float32)


def predict_keras(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return _in_batches(model.predict_on_batch, images)


def predict_saved_model(directory: Path, images: np.ndarray) -> np.ndarray:
    serve = tf.saved_model.load(str(directory)).signatures[SIGNATURE]
    return _in_batches(lambda batch: serve(**{INPUT_NAME: tf.constant(batch)})[OUTPUT_NAME].numpy(),
                       images)


def predict_tflite(path: Path, images: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def run(batch: np.ndarray) -> np.ndarray:
        interpreter.resize_tensor_input(input_index, batch.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        return interpreter.get_tensor(output_index).copy()

    with native_logs_filtered():  # LiteRT announces its XNNPACK delegate on stderr
        return _in_batches(run, images)


def tfjs_available() -> bool:
    return shutil.which("node") is not None and (
        Path(__file__).resolve().parent.parent / "node_modules" / "@tensorflow" / "tfjs").is_dir()


def predict_tfjs(directory: Path, images: np.ndarray) -> np.ndarray:
    """Run the TF.js model with @tensorflow/tfjs under node (slow: pure JavaScript kernels)."""
    with tempfile.TemporaryDirectory() as scratch:
        inputs, outputs = Path(scratch) / "in.f32", Path(scratch) / "out.f32"
        np.asarray(images, dtype="<f4").tofile(inputs)
        completed = subprocess.run(["node", str(TFJS_SCRIPT), str(directory), str(inputs), str(outputs)],
                                   capture_output=True, text=True, cwd=TFJS_SCRIPT.parent.parent)
        if completed.returncode != 0:
            raise ExportError(f"TF.js model in {directory} failed under node:\n{completed.stderr.strip()}")
        return np.fromfile(outputs, dtype="<f4").reshape(len(images), -1)


def check_agreement(name: str, reference: np.ndarray, other: np.ndarray,
                    allowed: float = MAX_PROBABILITY_DIFFERENCE) -> dict:
    """Compare a format's probabilities with Keras's; raise if they differ beyond rounding."""
    difference = float(np.abs(reference - other).max())
    disagreements = int((reference.argmax(1) != other.argmax(1)).sum())
    if difference > allowed:
        raise ExportError(f"{name} differs from Keras by up to {difference:.2e} in probability "
                          f"(allowed {allowed:g}); {disagreements} digits change")
    return {"max_probability_difference": difference, "argmax_disagreements": disagreements}


# --- the whole export ------------------------------------------------------------------


def export_model(model: keras.Model, mnist, *, training: dict, trained_at, root: Path,
                 tfjs_digits: int, cross_validation: dict | None = None, assessment=None) -> dict:
    """Evaluate on the test set, write and check every format, the card and the reports in a
    staging folder, then publish them under `root`. Returns the card."""
    from model import card as cards
    from model import plots
    from model.data import to_model_input
    from model.evaluation import summarize

    x_test = to_model_input(mnist.x_test)
    y_test = mnist.y_test.astype(np.int64)
    # Non-digits too (the report's examples): their probabilities sit in the middle, where a
    # format that lost the temperature would show it.
    non_digits = None if assessment is None else assessment.examples.non_digits
    non_digits_reference = None if non_digits is None else predict_keras(model, non_digits)
    with staging(root) as stage:
        write_formats(model, stage)
        reference = predict_keras(model, x_test)
        test = summarize(y_test, reference)
        formats = {"keras": {"path": str(KERAS_FILE), "accuracy": test["accuracy"]}}
        for name, path, predict in (("saved_model", SAVED_MODEL_DIR, predict_saved_model),
                                    ("tflite", TFLITE_FILE, predict_tflite)):
            probabilities = predict(stage / path, x_test)
            formats[name] = {"path": str(path), "accuracy": summarize(y_test, probabilities)["accuracy"],
                             **check_agreement(name, reference, probabilities)}
            if non_digits is not None:
                check_agreement(f"{name} on non-digits", non_digits_reference, predict(stage / path, non_digits))
        formats["tfjs"] = {"path": str(WEB_MODEL_DIR / "model.json"), "weights": TFJS_WEIGHTS}
        if tfjs_digits and tfjs_available():
            count = min(tfjs_digits, len(x_test))
            probabilities = predict_tfjs(stage / WEB_MODEL_DIR, x_test[:count])
            formats["tfjs"].update(checked_digits=count,
                                   accuracy_on_checked=summarize(y_test[:count], probabilities)["accuracy"],
                                   **check_agreement("tfjs", reference[:count], probabilities,
                                                     MAX_TFJS_PROBABILITY_DIFFERENCE))
        for name, path in (("keras", KERAS_FILE), ("saved_model", SAVED_MODEL_DIR),
                           ("tflite", TFLITE_FILE), ("tfjs", WEB_MODEL_DIR)):
            formats[name]["bytes"] = _size(stage / path)

        card = cards.build_card(model=model, trained_at=trained_at, training=training,
                                data={"source": mnist.source, "checksums_sha256": mnist.checksums,
                                      "files_sha256": mnist.files},
                                test=test, formats=formats, cross_validation=cross_validation,
                                trust=None if assessment is None else assessment.sections)
        write_card(card, stage)
        reports = stage / REPORTS_DIR
        reports.mkdir(parents=True, exist_ok=True)
        if "history" in training:
            plots.plot_training_curves(training["history"], training.get("best_epoch"),
                                       reports / "training_curves.png")
        plots.plot_confusion_matrix(test["confusion_matrix"], test["accuracy"],
                                    reports / "confusion_matrix.png")
        if assessment is not None:
            from model import trust

            trust.write_reports(assessment, reports)
        publish(stage, root)
    return card


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# --- publishing ------------------------------------------------------------------------


@contextlib.contextmanager
def signals_held():
    """Hold SIGINT/SIGTERM until the block ends, then act on them as usual."""
    received = []
    previous = {sig: signal.signal(sig, lambda number, _frame: received.append(number))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            signal.raise_signal(received[0])


@contextlib.contextmanager
def staging(root: Path):
    """A scratch folder inside `root` (same file system, so renames are atomic); removed after."""
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".export-staging-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def publish(stage: Path, root: Path) -> None:
    """Move every staged export into place, all or none.

    The previous exports are moved aside into the staging folder first and moved back
    if anything fails, so a reader never sees a mix of two models.
    """
    previous = stage / ".previous"
    done: list[Path] = []
    with signals_held():
        try:
            for relative in PUBLISHED:
                source, destination = stage / relative, root / relative
                if not source.exists():
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                if destination.exists():
                    (previous / relative).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(destination, previous / relative)
                done.append(relative)
                os.replace(source, destination)
        except BaseException:
            for relative in reversed(done):
                destination = root / relative
                if destination.exists():
                    shutil.rmtree(destination) if destination.is_dir() else destination.unlink()
                if (previous / relative).exists():
                    os.replace(previous / relative, destination)
            raise
