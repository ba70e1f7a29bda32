"""Training throughput at batch 16 on this machine, measured in one run:

  * baseline: `model.fit` on NumPy arrays, which Keras batches and shuffles itself;
  * the project's tf.data pipeline without augmentation;
  * the project's tf.data pipeline with its on-the-fly augmentation;
  * the default recipe: augmentation and outlier exposure (non-digits in every batch);
  * the default recipe with each further augmentation (--extra-augmentations).

Prints digits/s (non-digits ride along uncounted), the ratio to the baseline, and how long
the 15 epochs of a full default run would spend in training steps at that speed
(validation, calibration and export come on top; the card records the real total).

    .venv/bin/python bench/training_throughput.py [--steps 400] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from model.augmentation import build_augmenter
from model.config import EXTRA_AUGMENTATIONS, TrainingConfig
from model.data import load_mnist, to_model_input
from model.network import NUM_CLASSES, build_cnn
from model.training import (
    compile_model,
    make_dataset,
    make_optimizer,
    non_digit_pool,
    split_validation,
)

WARMUP_STEPS = 50
DEFAULT_RECIPE = "default recipe: augmentation + non-digits"


class StepTimer(keras.callbacks.Callback):
    """Wall time from the end of the warm-up steps to the end of the last step."""

    def __init__(self):
        super().__init__()
        self.started = self.finished = None

    def on_train_batch_end(self, batch, logs=None):
        if batch == WARMUP_STEPS - 1:
            self.started = time.perf_counter()
        self.finished = time.perf_counter()


def measure(fit_kwargs: dict, steps: int, config: TrainingConfig) -> float:
    """Images per second over `steps` timed steps of a fresh model."""
    model = build_cnn()
    compile_model(model, make_optimizer(config, steps_per_epoch=3375))
    timer = StepTimer()
    model.fit(**fit_kwargs, epochs=1, steps_per_epoch=WARMUP_STEPS + steps, callbacks=[timer],
              verbose=0)
    return steps * config.batch_size / (timer.finished - timer.started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per variant (median kept)")
    args = parser.parse_args()

    config = TrainingConfig()
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()  # as generator.py trains
    mnist = load_mnist()
    (x_train, y_train), _validation = split_validation(mnist.x_train, mnist.y_train,
                                                          config.validation_split, config.seed)
    needed = (WARMUP_STEPS + args.steps) * config.batch_size
    x_small, y_small = x_train[:needed], y_train[:needed]
    non_digits = non_digit_pool(config, WARMUP_STEPS + args.steps, (x_small, y_small))

    def pipeline(augmenter=None, outliers=False):
        return {"x": make_dataset(x_small, y_small, config.batch_size, shuffle=True, seed=1, augmenter=augmenter,
                                  non_digits=non_digits if outliers else None,
                                  non_digits_per_batch=config.non_digits_per_batch,
                                  non_digit_weight=config.non_digit_weight).repeat()}

    variants = {
        "model.fit on NumPy arrays (baseline)": {
            "x": to_model_input(x_small), "y": np.eye(NUM_CLASSES, dtype=np.float32)[y_small],
            "batch_size": config.batch_size, "shuffle": True},
        "tf.data pipeline, no augmentation": pipeline(),
        "tf.data pipeline + augmentation": pipeline(build_augmenter(config.seed)),
        DEFAULT_RECIPE: pipeline(build_augmenter(config.seed), outliers=True),
        **{f"default recipe + {name}": pipeline(build_augmenter(config.seed, (name,)), outliers=True)
           for name in EXTRA_AUGMENTATIONS},
    }
    results = {name: [] for name in variants}
    # Interleave the variants so a change in machine load hits them all alike.
    for _ in range(args.repeats):
        for name, fit_kwargs in variants.items():
            results[name].append(measure(fit_kwargs, args.steps, config))

    baseline = statistics.median(next(iter(results.values())))
    epoch_images = len(x_train)
    print(f"\nTraining throughput, batch {config.batch_size}, {args.steps} timed steps, "
          f"median of {args.repeats} (cores: {os.cpu_count()})\n")
    print(f"| {'variant':<44} | digits/s | min-max     | vs baseline | 15 epochs, training  |")
    print(f"|{'-' * 46}|---------:|-------------|------------:|---------------------:|")
    for name, values in results.items():
        rate = statistics.median(values)
        minutes = config.epochs * epoch_images / rate / 60
        print(f"| {name:<44} | {rate:8.0f} | {min(values):4.0f}-{max(values):<6.0f} | "
              f"{rate / baseline:11.2f} | {minutes:17.1f} min |")
    augmented = statistics.median(results["tf.data pipeline + augmentation"])
    plain = statistics.median(results["tf.data pipeline, no augmentation"])
    recipe = statistics.median(results[DEFAULT_RECIPE])
    print(f"\nAugmentation costs {1 - augmented / plain:.1%} of the pipeline's throughput "
          f"(goal: under 10 %); the non-digits (2 more pictures per batch of 16) "
          f"{1 - recipe / augmented:.1%} more.")


if __name__ == "__main__":
    main()
