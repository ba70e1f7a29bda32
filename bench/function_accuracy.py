"""What the preprocessing is worth, measured with the shipped model in one run.

    .venv/bin/python bench/function_accuracy.py

1. MNIST's 10,000 test digits sent as 28x28 PNGs through the function's decoding and
   preprocessing, against the model's own accuracy on the raw digits (the goal: within
   0.1 points).
2. Drawn digits in each hard case (drawing.py: strokes as a canvas draws them), read after
   our preprocessing against after a plain resize of the canvas to 28x28 (the simplest way,
   which loses small, thin or off-centre digits).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

import classifier
from decoding import decode_image
from model.data import load_mnist
from preprocessing import to_mnist
from tests.support import hard_cases
from tests.support.hard_cases import HARD_CASES
from tests.support.images import encode


def naive(pixels: np.ndarray) -> np.ndarray:
    """The plain way: the canvas shrunk to 28x28, inverted if it is dark on light."""
    grey = np.asarray(Image.fromarray(pixels).convert("L").resize((28, 28), Image.Resampling.BILINEAR)) / 255.0
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        alpha = np.asarray(Image.fromarray(pixels[:, :, 3]).resize((28, 28), Image.Resampling.BILINEAR)) / 255.0
        return alpha if pixels[:, :, :3].mean() < 128 else grey * alpha
    return 1.0 - grey if np.median(grey) > 0.5 else grey


def main() -> None:
    model = classifier.load()
    mnist = load_mnist(allow_download=False)
    own = (model.predict(mnist.x_test / 255.0).argmax(1) == mnist.y_test).mean()
    served = np.stack([to_mnist(decode_image(encode(digit))) for digit in mnist.x_test])
    through = (model.predict(served).argmax(1) == mnist.y_test).mean()
    print(f"MNIST test digits (10,000), model {model.version}")
    print(f"  {'model on the raw digits':44s}{own * 100:7.2f} %")
    print(f"  {'as 28x28 PNGs through the function':44s}{through * 100:7.2f} %   "
          f"difference {(through - own) * 100:+.2f} points (goal: within 0.1)")

    print("\nDrawn digits 0-9 per case: right answers after our preprocessing vs a plain 28x28 resize")
    total_ours = total_naive = 0
    for case in HARD_CASES:
        pictures = hard_cases.pictures(case)
        ours = (model.predict(np.stack([to_mnist(p) for p in pictures])).argmax(1) == np.arange(10)).sum()
        plain = (model.predict(np.stack([naive(p) for p in pictures])).argmax(1) == np.arange(10)).sum()
        total_ours, total_naive = total_ours + ours, total_naive + plain
        print(f"  {case:44s}{ours:4d}/10  {plain:4d}/10")
    count = 10 * len(HARD_CASES)
    print(f"  {'all cases':44s}{total_ours:4d}/{count}{total_naive:4d}/{count}   "
          f"({total_ours / max(total_naive, 1):.1f}x as many right)")


if __name__ == "__main__":
    main()
