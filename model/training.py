"""Training: the input pipeline with on-the-fly augmentation, the optimiser, and `fit`.

The recipe is SGD with Nesterov momentum on batches of 16, a one-epoch linear warm-up
(at most a fifth of the run) followed by cosine decay to zero, and small random rotations, zooms and shifts of every
training digit (as in the Kaggle notebook the network comes from). A validation split of
the training set picks the best epoch; the test set is never looked at here.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from model.config import TrainingConfig
from model.network import INPUT_SHAPE

# Augmentation ranges of the Kaggle notebook: +-10 degrees, +-10 % zoom, +-10 % shift.
ROTATION_DEGREES = 10
ZOOM = 0.10
SHIFT = 0.10


@dataclasses.dataclass
class TrainingResult:
    model: keras.Model
    history: dict  # metric name -> list of per-epoch values
    best_epoch: int  # 1-based
    seconds: float
    train_size: int
    validation_size: int


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """Shuffle once with the seed and hold out `fraction` of the digits for validation."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(len(x) * fraction))
    val, train = order[:n_val], order[n_val:]
    return (x[train], y[train]), (x[val], y[val])


def build_augmenter(seed: int) -> keras.Sequential:
    """Random rotation, zoom and shift of white-on-black digits; new pixels are black."""
    fill = dict(fill_mode="constant", fill_value=0.0, interpolation="bilinear")
    return keras.Sequential(
        [
            keras.layers.RandomRotation(ROTATION_DEGREES / 360, seed=seed, **fill),
            keras.layers.RandomZoom(ZOOM, seed=seed + 1, **fill),
            keras.layers.RandomTranslation(SHIFT, SHIFT, seed=seed + 2, **fill),
        ],
        name="augmentation",
    )


def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, *, shuffle: bool,
                 augmenter: keras.Sequential | None = None, seed: int = 0) -> tf.data.Dataset:
    """uint8 (N, 28, 28) digits -> batches of float32 (B, 28, 28, 1) in [0, 1] and labels."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)

    def to_float(x, y):
        return tf.cast(tf.reshape(x, (-1, *INPUT_SHAPE)), tf.float32) / 255.0, y

    dataset = dataset.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    if augmenter is not None:
        dataset = dataset.map(lambda x, y: (augmenter(x, training=True), y),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


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
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])


def train(model: keras.Model, x: np.ndarray, y: np.ndarray, config: TrainingConfig,
          work_dir: Path) -> TrainingResult:
    """Fit on the training digits, keeping the epoch with the best validation accuracy."""
    (x_train, y_train), (x_val, y_val) = split_validation(x, y, config.validation_split, config.seed)
    augmenter = build_augmenter(config.seed) if config.augment else None
    train_ds = make_dataset(x_train, y_train, config.batch_size, shuffle=True,
                            augmenter=augmenter, seed=config.seed)
    val_ds = make_dataset(x_val, y_val, 256, shuffle=False)
    steps_per_epoch = int(np.ceil(len(x_train) / config.batch_size))
    compile_model(model, make_optimizer(config, steps_per_epoch))

    work_dir.mkdir(parents=True, exist_ok=True)
    best_path = work_dir / "best.keras"
    callbacks = [
        keras.callbacks.ModelCheckpoint(best_path, monitor="val_accuracy", mode="max",
                                        save_best_only=True),
        keras.callbacks.CSVLogger(work_dir / "history.csv"),
        keras.callbacks.TerminateOnNaN(),
    ]
    started = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                        callbacks=callbacks, verbose=1)
    seconds = time.perf_counter() - started
    if not best_path.exists():
        raise RuntimeError("training produced no checkpoint (did the loss become NaN?)")

    values = {name: [float(v) for v in series] for name, series in history.history.items()}
    best_epoch = int(np.argmax(values["val_accuracy"])) + 1
    best = keras.models.load_model(best_path)
    return TrainingResult(best, values, best_epoch, seconds, len(x_train), len(x_val))
