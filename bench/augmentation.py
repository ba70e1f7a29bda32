"""Which augmentations of the training digits help the network read hands unlike MNIST's.

    .venv/bin/python bench/augmentation.py [--limit N] [--epochs N] [--seeds N] [--drawn N]

Trains the CNN once per variant and seed with the default recipe at a reduced scale (the
same digits, split, seed and outlier exposure for every variant; only the augmentations
differ), and scores each variant on:

- the validation split: MNIST digits, the measure that decides what ships;
- the drawn hard cases of tests/support/hard_cases.py (15 ways of drawing 0-9);
- N digits drawn from strokes with random pens, slants, proportions, sizes and places
  (tests/support/drawing.varied_hands, its own seed), through the function's preprocessing.

Every variant keeps the rotations, zooms and shifts of the default recipe; the baseline has
nothing else. The table gives each variant's errors and their ratio to the baseline's, in
the same run; a variant earns its place only by fewer validation errors.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from model import quiet
from model.config import EXTRA_AUGMENTATIONS, TrainingConfig

VARIANTS = {"baseline": (), **{name: (name,) for name in EXTRA_AUGMENTATIONS},
            "all three": EXTRA_AUGMENTATIONS}


def drawn_sets(count: int) -> dict:
    """name -> (images float32 (N, 28, 28, 1), labels) of the drawn digits, preprocessed."""
    from bench.trust import drawn_digits
    from preprocessing import to_mnist
    from tests.support.drawing import varied_hands

    hard, hard_labels = drawn_digits()
    varied, labels = varied_hands(count, seed=2026)
    return {
        f"drawn hard cases ({len(hard)})": (hard[..., np.newaxis], hard_labels),
        f"varied hands ({count:,})": (np.stack([to_mnist(p) for p in varied])[..., np.newaxis], labels),
    }


def errors(model, images: np.ndarray, labels: np.ndarray) -> int:
    return int((model.predict(images, batch_size=512, verbose=0).argmax(axis=1) != labels).sum())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=12_000, help="training digits (a tenth validates)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per variant")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per variant (42, 43, ...)")
    parser.add_argument("--drawn", type=int, default=2000, help="varied-hands digits to draw")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, from: {', '.join(VARIANTS)}")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.variants.split(",")]
    unknown = [name for name in chosen if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {', '.join(unknown)}; expected some of {', '.join(VARIANTS)}")
    quiet.import_tensorflow()
    from model.data import load_mnist, to_model_input
    from model.network import build_network
    from model.training import fit, split_validation, training_digits

    mnist = load_mnist(allow_download=False)
    sets = drawn_sets(args.drawn)
    counts: dict[str, dict[str, int]] = {}
    validation_size = 0
    for name in chosen:
        counts[name] = {}
        for seed in range(42, 42 + args.seeds):
            config = TrainingConfig(epochs=args.epochs, limit=args.limit, seed=seed,
                                    extra_augmentations=VARIANTS[name])
            x, y = training_digits(config, mnist)
            training, (x_val, y_val) = split_validation(x, y, config.validation_split, config.seed)
            print(f"{name}, seed {seed}: {len(training[0]):,} training digits, {args.epochs} epochs", flush=True)
            with tempfile.TemporaryDirectory() as scratch:
                result = fit(build_network(), training, (x_val, y_val), config, Path(scratch), resumable=False)
            found = {"validation": errors(result.model, to_model_input(x_val), y_val),
                     **{label: errors(result.model, *data) for label, data in sets.items()}}
            for key, value in found.items():
                counts[name][key] = counts[name].get(key, 0) + value
            validation_size += len(y_val) if name == chosen[0] else 0
            print(f"{name}, seed {seed}: {found}", flush=True)

    totals = {"validation": validation_size, **{label: len(data[1]) * args.seeds for label, data in sets.items()}}
    base = counts.get("baseline")
    print(f"\n{args.limit:,} training digits (a tenth for validation), {args.epochs} epochs, "
          f"{args.seeds} seed(s); errors summed over seeds, ratio to the baseline")
    print(f"| variant | {' | '.join(f'{key} errors' for key in totals)} |")
    print(f"|---|{'---:|' * len(totals)}")
    for name, found in counts.items():
        cells = []
        for key, total in totals.items():
            cell = f"{found[key]} ({found[key] / total:.2%})"
            if base is not None and name != "baseline":
                cell += f", {found[key] / max(base[key], 1):.2f}x"
            cells.append(cell)
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
