"""Training: the input pipeline with on-the-fly augmentation, the optimiser, and `fit`.

The recipe is SGD with Nesterov momentum on batches of 16, a one-epoch linear warm-up
(at most a fifth of the run) followed by cosine decay to zero, and small random rotations, zooms and shifts of every
training digit (as in the Kaggle notebook the network comes from; the layers are in
model/augmentation.py). A validation split of the training set picks the best epoch; the
test set is never looked at here.

Everything runs through Keras callbacks, in the work folder (`<output root>/model/checkpoints`):
ModelCheckpoint keeps the best epoch (`best.keras`), CSVLogger the history, TensorBoard and
the dashboard's confusion-matrix pictures the live view, and `ResumePoint` the state of an
unfinished run (see `model.resume`), from which `--resume` continues at the next epoch.
"""

from __future__ import annotations

import csv
import dataclasses
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from model import resume as resume_state
from model.augmentation import build_augmenter
from model.config import TrainingConfig
from model.network import INPUT_SHAPE, NUM_CLASSES

# Distinct non-digits drawn for a run (at most; fewer when an epoch uses fewer): with the
# augmentation, each is seen anew every time it comes round.
NON_DIGIT_POOL = 10_000


@dataclasses.dataclass
class TrainingResult:
    model: keras.Model
    history: dict  # metric name -> list of per-epoch values
    best_epoch: int  # 1-based
    seconds: float
    train_size: int
    validation_size: int
    recipe: dict  # optimizer, learning-rate schedule and loss, from Keras's own configs (describe_recipe)


def training_digits(config: TrainingConfig, mnist):
    """The training digits, or `config.limit` of them chosen with the seed."""
    x_train, y_train = mnist.x_train, mnist.y_train
    if config.limit is not None:
        chosen = np.random.default_rng(config.seed).permutation(len(x_train))[:config.limit]
        x_train, y_train = x_train[chosen], y_train[chosen]
    return x_train, y_train


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """Shuffle once with the seed and hold out `fraction` of the digits for validation."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = round(len(x) * fraction)
    val, train = order[:n_val], order[n_val:]
    return (x[train], y[train]), (x[val], y[val])


def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, *, shuffle: bool,
                 augmenter: keras.Sequential | None = None, seed: int = 0,
                 non_digits: np.ndarray | None = None, non_digits_per_batch: int = 0,
                 non_digit_weight: float = 0.0) -> tf.data.Dataset:
    """uint8 (N, 28, 28) digits -> batches of float32 (B, 28, 28, 1) in [0, 1] and one-hot targets.

    With `non_digits`, every batch of `batch_size` digits also carries `non_digits_per_batch`
    of them (cycling through the pool), with the uniform distribution as target and
    `non_digit_weight` as sample weight (digits weigh 1): outlier exposure.
    """
    dataset = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    whole = augmenter is not None and any(getattr(layer, "needs_whole_batches", False)
                                          for layer in augmenter.layers)
    dataset = dataset.batch(batch_size, drop_remainder=whole)

    def to_float(x):
        return tf.cast(tf.reshape(x, (-1, *INPUT_SHAPE)), tf.float32) / 255.0

    def digits(x, y):
        return to_float(x), tf.one_hot(y, NUM_CLASSES), tf.ones(tf.shape(y), tf.float32)

    # With augmentation, sequential maps: random augmentation is stateful, and under the
    # deterministic ops that training enables TensorFlow makes such a pipeline's parallel maps
    # sequential anyway, logging a spurious error about each op it rewrites.
    parallel = tf.data.AUTOTUNE if augmenter is None else None
    dataset = dataset.map(digits, num_parallel_calls=parallel)
    if non_digits is not None and len(non_digits) and non_digits_per_batch:
        others = (tf.data.Dataset.from_tensor_slices(non_digits).repeat()
                  .shuffle(len(non_digits), seed=seed + 3, reshuffle_each_iteration=True)
                  .batch(non_digits_per_batch, drop_remainder=True))

        def mixed(batch, other):
            x, y, w = batch
            uniform = tf.fill((non_digits_per_batch, NUM_CLASSES), 1.0 / NUM_CLASSES)
            return (tf.concat([x, to_float(other)], 0), tf.concat([y, uniform], 0),
                    tf.concat([w, tf.fill((non_digits_per_batch,), float(non_digit_weight))], 0))

        dataset = tf.data.Dataset.zip(dataset, others).map(mixed)
    if augmenter is not None:
        dataset = dataset.map(lambda x, y, w: (augmenter(x, training=True), y, w))
    return dataset.prefetch(tf.data.AUTOTUNE)


@keras.saving.register_keras_serializable(package="digits")
class DigitAccuracy(keras.metrics.Metric):
    """Accuracy over the digits of a batch only: non-digits (uniform targets) have no right answer."""

    def __init__(self, name: str = "accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        is_digit = tf.cast(tf.reduce_max(y_true, axis=-1) > 0.5, tf.float32)
        right = tf.cast(tf.equal(tf.argmax(y_true, -1), tf.argmax(y_pred, -1)), tf.float32)
        self.correct.assign_add(tf.reduce_sum(right * is_digit))
        self.total.assign_add(tf.reduce_sum(is_digit))

    def result(self):
        return self.correct / tf.maximum(self.total, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)


def non_digit_pool(config: TrainingConfig, steps_per_epoch: int, digits: tuple[np.ndarray, np.ndarray]
                   ) -> np.ndarray | None:
    """The non-digits a run trains on, drawn with its seed (None when outlier exposure is off):
    drawings, and config.touching_pairs as many pairs per drawing of the training `digits`
    (images, labels) written touching."""
    if not config.non_digits_per_batch:
        return None
    from model import outliers

    count = min(NON_DIGIT_POOL, steps_per_epoch * config.non_digits_per_batch)
    pairs = round(count * config.touching_pairs)
    print(f"Drawing {count:,} non-digits" + (f" and {pairs:,} pairs of touching digits" if pairs else "")
          + " for outlier exposure ...", flush=True)
    drawings = outliers.generate(count, config.seed, "training")
    return np.concatenate([drawings, outliers.touching_pairs(pairs, config.seed, *digits)]) if pairs else drawings


def make_optimizer(config: TrainingConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    total_steps = config.epochs * steps_per_epoch
    # At most a fifth of the run warms up, so short runs still spend most steps learning.
    warmup_steps = min(int(config.warmup_epochs * steps_per_epoch), total_steps // 5)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else config.learning_rate,
        decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=config.learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )
    return keras.optimizers.SGD(learning_rate=schedule, momentum=config.momentum,
                                nesterov=config.nesterov, weight_decay=config.weight_decay or None)


def compile_model(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> None:
    # Targets are distributions: one-hot for digits, uniform for non-digits.
    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy(),
                  metrics=[DigitAccuracy()])


def describe_recipe(model: keras.Model) -> dict:
    """The optimizer, learning-rate schedule and loss of a compiled model, as Keras
    configures them: what the card records is what ran."""
    optimizer = model.optimizer
    settings = optimizer.get_config()
    schedule = settings.pop("learning_rate")
    if not settings.get("use_ema"):
        settings = {key: value for key, value in settings.items() if not key.startswith("ema_")}
    recipe = {"optimizer": {"name": type(optimizer).__name__,
                            **{key: value for key, value in settings.items()
                               if value is not None and key != "name"}}}
    if isinstance(schedule, dict):  # a schedule, serialised by Keras
        recipe["learning_rate_schedule"] = {"name": schedule["class_name"], **schedule["config"]}
    else:
        recipe["optimizer"]["learning_rate"] = schedule
    recipe["loss"] = model.loss if isinstance(model.loss, str) else type(model.loss).__name__
    return recipe


def read_history(path: Path, epochs: int | None = None) -> dict:
    """CSVLogger's history as metric -> per-epoch values, its first `epochs` rows only."""
    if not path.is_file():
        return {}
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))[:epochs]
    names = [name for name in (rows[0] if rows else {}) if name != "epoch"]
    return {name: [float(row[name]) for row in rows] for name in names}


class EpochLine(keras.callbacks.Callback):
    """`Epoch 3/15: accuracy 99.12%, loss 0.1735, validation accuracy 99.40%, 92 s, learning rate 0.00875`."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        validation = f", validation accuracy {logs['val_accuracy']:.2%}" if "val_accuracy" in logs else ""
        print(f"Epoch {epoch + 1}/{self.params['epochs']}: accuracy {logs.get('accuracy', 0.0):.2%}, "
              f"loss {logs.get('loss', 0.0):.4f}{validation}, {time.perf_counter() - self.started:.0f} s, "
              f"learning rate {rate:.3g}", flush=True)


class ResumePoint(keras.callbacks.Callback):
    """Records every finished epoch for `--resume`; a finished run leaves nothing behind."""

    def __init__(self, work_dir: Path, run: resume_state.UnfinishedRun):
        super().__init__()
        self.work_dir, self.run = work_dir, run

    def on_epoch_end(self, epoch, logs=None):
        resume_state.save_epoch(self.work_dir, self.run, self.model, epoch + 1)

    def on_train_end(self, logs=None):
        # Keras calls this only when every epoch ran (an interrupt skips it).
        resume_state.finish(self.work_dir)


def train(model: keras.Model, x: np.ndarray, y: np.ndarray, config: TrainingConfig, work_dir: Path, *,
          log_dir: Path | None = None, resume: resume_state.UnfinishedRun | None = None) -> TrainingResult:
    """Fit on the training digits, keeping the epoch with the best validation accuracy."""
    (x_train, y_train), (x_val, y_val) = split_validation(x, y, config.validation_split, config.seed)
    return fit(model, (x_train, y_train), (x_val, y_val), config, work_dir, log_dir=log_dir, resume=resume)


def fit(model: keras.Model, training: tuple, validation: tuple, config: TrainingConfig, work_dir: Path, *,
        log_dir: Path | None = None, resume: resume_state.UnfinishedRun | None = None,
        resumable: bool = True) -> TrainingResult:
    """Fit on `training`, pick the best epoch on `validation`, and return the best model.

    With `resumable`, every finished epoch is recorded (weights, optimizer state, its step
    count and so the learning-rate schedule's position) until the run ends; `resume`, such
    a record, continues from there.
    """
    (x_train, y_train), (x_val, y_val) = training, validation
    augmenter = build_augmenter(config.seed, config.extra_augmentations) if config.augment else None
    steps_per_epoch = int(np.ceil(len(x_train) / config.batch_size))
    train_ds = make_dataset(x_train, y_train, config.batch_size, shuffle=True,
                            augmenter=augmenter, seed=config.seed,
                            non_digits=non_digit_pool(config, steps_per_epoch, (x_train, y_train)),
                            non_digits_per_batch=config.non_digits_per_batch,
                            non_digit_weight=config.non_digit_weight)
    val_ds = make_dataset(x_val, y_val, 256, shuffle=False)
    compile_model(model, make_optimizer(config, steps_per_epoch))

    work_dir.mkdir(parents=True, exist_ok=True)
    best_path, history_path = work_dir / "best.keras", work_dir / "history.csv"
    best_so_far, first_epoch, run = None, 0, resume
    if resume is not None:
        resume_state.restore(model, resume)
        run = dataclasses.replace(resume, log_dir=log_dir)  # where this part of the run logs
        first_epoch = resume.epochs_done
        earlier = read_history(history_path, first_epoch)
        # Epochs logged after the last recorded one will run again: forget them.
        _rewrite_history(history_path, first_epoch)
        if earlier.get("val_accuracy") and best_path.exists():
            best_so_far = max(earlier["val_accuracy"])
    else:
        # A fresh run must not pick up the best epoch of an earlier one.
        best_path.unlink(missing_ok=True)
        if resumable:
            run = resume_state.start(work_dir, config, log_dir)

    callbacks = [
        keras.callbacks.ModelCheckpoint(best_path, monitor="val_accuracy", mode="max",
                                        save_best_only=True, initial_value_threshold=best_so_far),
        keras.callbacks.CSVLogger(history_path, append=resume is not None),
        keras.callbacks.TerminateOnNaN(),
    ]
    if log_dir is not None:
        from model.dashboard import ConfusionMatrixImages

        callbacks += [keras.callbacks.TensorBoard(log_dir, write_graph=False),
                      ConfusionMatrixImages(val_ds, y_val, log_dir / "validation")]
    if resumable:
        # Last, so an epoch counts as done only once everything above has recorded it.
        callbacks.append(ResumePoint(work_dir, run))
    # Keras's progress bar on a terminal; in a log file or CI, where it would write thousands of
    # updates per epoch, one line per epoch instead.
    on_terminal = sys.stdout.isatty()
    if not on_terminal:
        callbacks.append(EpochLine())
    started = time.perf_counter()
    # shuffle=False: train_ds shuffles itself every epoch (Keras cannot shuffle a tf.data.Dataset).
    model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=first_epoch,
              shuffle=False, callbacks=callbacks, verbose=1 if on_terminal else 0)
    seconds = time.perf_counter() - started
    if not best_path.exists():
        raise RuntimeError("training produced no checkpoint (did the loss become NaN?)")

    values = read_history(history_path)
    best_epoch = int(np.argmax(values["val_accuracy"])) + 1
    recipe = describe_recipe(model)
    best = keras.models.load_model(best_path, compile=False)
    return TrainingResult(best, values, best_epoch, seconds, len(x_train), len(x_val), recipe)


def _rewrite_history(path: Path, epochs: int) -> None:
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:1 + epochs]) if epochs else "")


def kfold_splits(count: int, folds: int, seed: int):
    """(training indices, validation indices) of each of `folds` folds, shuffled with the seed."""
    parts = np.array_split(np.random.default_rng(seed).permutation(count), folds)
    for index, validation in enumerate(parts):
        yield np.concatenate(parts[:index] + parts[index + 1:]), validation


def cross_validate(build_model, x: np.ndarray, y: np.ndarray, config: TrainingConfig, folds: int,
                   work_dir: Path, *, log_dir: Path | None = None) -> dict:
    """Train one fresh model per fold; each fold's validation accuracy, their mean and spread."""
    results = []
    for number, (train_index, val_index) in enumerate(kfold_splits(len(x), folds, config.seed), 1):
        print(f"Fold {number}/{folds}: {len(train_index):,} training, {len(val_index):,} validation digits",
              flush=True)
        name = f"fold-{number}"
        result = fit(build_model(), (x[train_index], y[train_index]), (x[val_index], y[val_index]),
                     config, work_dir / name, log_dir=log_dir / name if log_dir else None, resumable=False)
        accuracy = result.history["val_accuracy"][result.best_epoch - 1]
        results.append({"fold": number, "validation_digits": len(val_index),
                        "best_epoch": result.best_epoch, "validation_accuracy": accuracy})
        print(f"Fold {number}/{folds}: validation accuracy {accuracy:.2%} (epoch {result.best_epoch})",
              flush=True)
    accuracies = np.array([fold["validation_accuracy"] for fold in results])
    return {"folds": folds, "results": results, "mean_accuracy": float(accuracies.mean()),
            "std_accuracy": float(accuracies.std())}
