"""The PNG reports every run writes: training curves, the test-set confusion matrix, the
reliability diagram and examples of the "not sure" rule."""

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


def plot_reliability(before: dict, after: dict, temperature: float, path: Path) -> None:
    """Reliability diagrams of the test set before and after temperature scaling: accuracy
    against mean top probability per bin (see model.calibration.reliability)."""
    figure, axes_pair = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True)
    for axes, bins, title in ((axes_pair[0], before, "Before calibration"),
                              (axes_pair[1], after, f"After: softmax(logits / {temperature:.3f})")):
        count = len(bins["counts"])
        edges = np.linspace(0, 1, count + 1)
        filled = np.asarray(bins["counts"]) > 0
        centres = (edges[:-1] + edges[1:]) / 2
        axes.bar(centres[filled], np.asarray(bins["accuracy"])[filled], width=1 / count, edgecolor="black",
                 label="accuracy")
        axes.bar(centres[filled], (np.asarray(bins["confidence"]) - np.asarray(bins["accuracy"]))[filled],
                 bottom=np.asarray(bins["accuracy"])[filled], width=1 / count, color="tab:red", alpha=0.35,
                 edgecolor="tab:red", label="gap to mean top probability")
        axes.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
        for centre, digits, accuracy in zip(centres[filled], np.asarray(bins["counts"])[filled],
                                            np.asarray(bins["accuracy"])[filled], strict=True):
            axes.text(centre, min(accuracy + 0.02, 0.97), f"{digits:,}", ha="center", fontsize=6, rotation=90)
        axes.set(title=f"{title}\nECE {bins['ece']:.2%} (15 bins)", xlabel="top probability",
                 xlim=(0, 1), ylim=(0, 1))
        axes.legend(loc="upper left", fontsize=8)
    axes_pair[0].set_ylabel("accuracy (10,000 test digits)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_uncertainty_examples(images: np.ndarray, probabilities: np.ndarray, threshold: float,
                              captions: list[str], path: Path, columns: int = 8) -> None:
    """A grid of inputs as the network sees them, each with its answer or "not sure"."""
    rows = int(np.ceil(len(images) / columns))
    figure, grid = plt.subplots(rows, columns, figsize=(columns * 1.5, rows * 1.9))
    for axes in np.ravel(grid):
        axes.axis("off")
    for axes, image, row, caption in zip(np.ravel(grid), images, probabilities, captions, strict=False):
        axes.imshow(np.squeeze(image), cmap="gray", vmin=0, vmax=1)
        digit, top = int(row.argmax()), float(row.max())
        sure = top >= threshold
        answer = f"{digit} ({top:.0%})" if sure else f"not sure ({digit}: {top:.0%})"
        axes.set_title(f"{caption}\n{answer}", fontsize=7, color="black" if sure else "tab:red")
    figure.suptitle(f'Calibrated answers; "not sure" below {threshold:.0%}', fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
