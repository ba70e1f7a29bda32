"""The PNG reports every run writes: training curves and the test-set confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import numpy as np


def plot_training_curves(history: dict, best_epoch: int | None, path: Path) -> None:
    """Loss and accuracy per epoch, training and validation, the kept epoch marked."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    for axes, metric, title in ((loss_axes, "loss", "Loss"), (accuracy_axes, "accuracy", "Accuracy")):
        axes.plot(epochs, history[metric], "o-", label="training (augmented)")
        if f"val_{metric}" in history:
            axes.plot(epochs, history[f"val_{metric}"], "o-", label="validation")
        if best_epoch:
            axes.axvline(best_epoch, color="grey", linestyle=":", label=f"kept: epoch {best_epoch}")
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        axes.legend()
    accuracy_axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=1))
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


def plot_confusion_matrix(matrix: list | np.ndarray, accuracy: float, path: Path | BinaryIO,
                          title: str = "Test set") -> None:
    """Counts of true (rows) against predicted (columns) digits; mistakes stand out in red.

    `path` may be a file object (the dashboard renders the picture in memory)."""
    matrix = np.asarray(matrix)
    mistakes = matrix.copy()
    np.fill_diagonal(mistakes, 0)
    figure, axes = plt.subplots(figsize=(6.4, 5.6))
    image = axes.imshow(mistakes, cmap="Reds", vmin=0, vmax=max(int(mistakes.max()), 1))
    for (row, column), count in np.ndenumerate(matrix):
        colour = "black" if row != column else "darkgreen"
        weight = "bold" if row == column else "normal"
        axes.text(column, row, str(count), ha="center", va="center", fontsize=8,
                  color=colour, fontweight=weight)
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    errors = int(mistakes.sum())
    axes.set_title(f"{title}: {accuracy:.2%} correct, {errors} mistakes")
    figure.colorbar(image, ax=axes, label="mistakes")
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)
