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
last finished epoch. The options are in `model/cli.py`, the settings in `model/config.py`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
from pathlib import Path

from model import cli, quiet
from model.config import work_dir

INTERRUPTED = 130  # the shell's exit code for a run ended by Ctrl-C (128 + SIGINT)


def main(argv: list[str] | None = None) -> int:
    args = cli.parse_args(argv)  # --help and mistakes answer before TensorFlow loads

    # Prepare the data
    mnist = load_data(args.data_dir)
    if mnist is None:
        return 1
    quiet.import_tensorflow()
    if args.command == "evaluate":
        return evaluate(args, mnist)

    # Train the model (or cross-validate the recipe, or load a trained model)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(args.config.seed)
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

    # Calibrate on the validation split and choose when to answer "not sure"
    assessment = calibrate(model, mnist, training, args.config)

    # Evaluate on the test set and export every format
    from model import export

    print("Evaluating on the 10,000 test digits and exporting ...", flush=True)
    output_root = args.output_root.resolve()
    try:
        card = export.export_model(assessment.model, mnist, training=training, trained_at=trained_at,
                                   root=output_root, tfjs_digits=args.tfjs_check,
                                   cross_validation=cross_validation, assessment=assessment)
    except KeyboardInterrupt:
        print(f"\nInterrupted while exporting: the exports under {output_root} are whole "
              "(they are swapped in all together or not at all).", file=sys.stderr)
        return INTERRUPTED
    print_summary(card, output_root)
    return 0


# --- the steps -----------------------------------------------------------------------------


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
    """Train the network; return it with the card's training record and the time it finished."""
    from model.network import build_network
    from model.training import train, training_digits

    config = args.config
    x_train, y_train = training_digits(config, mnist)
    log_dir = run_log_dir(args)
    if args.unfinished is not None:
        print(f"Resuming the interrupted run in {work_dir(args.output_root)} "
              f"after epoch {args.unfinished.epochs_done}", flush=True)
    if log_dir is not None:
        print(f"Dashboard: tensorboard --logdir {log_dir.parent}", flush=True)
    result = train(build_network(config.arch, config.hidden), x_train, y_train, config,
                   work_dir(args.output_root), log_dir=log_dir, resume=args.unfinished)
    training = {
        **dataclasses.asdict(config),
        **result.recipe,  # optimizer, learning-rate schedule and loss, as Keras ran them
        "train_digits": result.train_size,
        "validation_digits": result.validation_size,
        "best_epoch": result.best_epoch,
        "validation_accuracy": result.history["val_accuracy"][result.best_epoch - 1],
        "seconds": round(result.seconds, 1),
        "history": result.history,
    }
    if args.unfinished is not None:
        training["resumed"] = True  # `seconds` then counts the resumed part only
    minutes, seconds = divmod(result.seconds, 60)
    print(f"Training took {int(minutes)} min {seconds:.0f} s; kept epoch {result.best_epoch} "
          f"(validation accuracy {training['validation_accuracy']:.2%})")
    return result.model, training, datetime.datetime.now(datetime.UTC)


def calibrate(model, mnist, training: dict, config):
    """Fit the temperature and the "not sure" threshold on the validation split of the run
    that trained `model` (its card's settings when exported again from a .keras file)."""
    from model import trust
    from model.config import TrainingConfig

    if "seed" in training:
        config = TrainingConfig.from_dict(training)
    print("Calibrating on the validation digits ...", flush=True)
    assessment = trust.assess(model, mnist, config)
    print(trust.describe(assessment.sections), flush=True)
    return assessment


def cross_validate(args: argparse.Namespace, mnist) -> dict:
    """Train one model per fold, print and record each fold's validation accuracy."""
    from model.network import build_network
    from model.training import cross_validate as run_folds
    from model.training import training_digits

    config = args.config
    x_train, y_train = training_digits(config, mnist)
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


# --- helpers -------------------------------------------------------------------------------


def run_log_dir(args: argparse.Namespace, suffix: str = "") -> Path | None:
    """A new TensorBoard folder per run, so runs sit side by side as curves to compare."""
    if not args.tensorboard:
        return None
    if args.run_log_dir is not None:
        return args.run_log_dir
    root = args.logdir.resolve() if args.logdir else work_dir(args.output_root) / "tensorboard"
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / f"{stamp}-{args.config.arch}{suffix}"


def interrupted(args: argparse.Namespace) -> int:
    """Ctrl-C during training: say what is kept; nothing has been exported."""
    if args.kfolds is not None:
        print("\nInterrupted: the cross-validation stopped; no export was written or changed.",
              file=sys.stderr)
        return INTERRUPTED
    best = work_dir(args.output_root) / "best.keras"
    kept = f"the best epoch so far is kept in {best}" if best.is_file() else "no epoch had finished"
    print(f"\nInterrupted: {kept}; no export was written or changed.", file=sys.stderr)
    if args.from_keras is None:
        print("Continue where it stopped with --resume (and the same --output-root).", file=sys.stderr)
    return INTERRUPTED


def print_summary(card: dict, output_root: Path) -> None:
    from model import export
    from model.config import TrainingConfig

    formats = card["formats"]
    accuracies = ", ".join(f"{name} {info['accuracy']:.2%}" for name, info in formats.items()
                           if "accuracy" in info)
    tfjs = formats["tfjs"]
    checked = (f"; TF.js agrees with Keras on {tfjs['checked_digits']} digits"
               if "checked_digits" in tfjs else "")
    print(f"Model {card['version']}: test accuracy {accuracies}{checked}")
    for relative in export.PUBLISHED:
        print(f"  wrote {output_root / relative}")
    run, default = card["training"], TrainingConfig()
    if run.get("epochs", default.epochs) < default.epochs or run.get("limit"):
        print(f"A short run scores low: this one trained {run.get('epochs')} epoch(s) on {run['train_digits']:,} "
              f"digits; the default recipe (`make train`) trains {default.epochs} epochs on every training digit.")
    served = output_root / export.LAMBDA_MODEL_DIR
    if served.resolve() == (Path(__file__).resolve().parent / export.LAMBDA_MODEL_DIR).resolve():
        print("Try it: make serve (the function and the page now run this model)")
    else:
        print(f"Try it: DIGITS_MODEL_DIR={served} make serve")


if __name__ == "__main__":
    sys.exit(main())
