"""Scoring predictions: accuracy, per-class accuracy, the confusion matrix, confused pairs."""

from __future__ import annotations

import numpy as np

from model.network import NUM_CLASSES


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Rows are true digits, columns predicted digits."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    return matrix


def summarize(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, per-class accuracy and confusion matrix of (N, 10) probabilities."""
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    return {
        "digits": len(labels),
        "accuracy": float((predicted == labels).mean()),
        "errors": int((predicted != labels).sum()),
        "per_class_accuracy": {str(d): round(float(a), 6) for d, a in enumerate(per_class)},
        "confusion_matrix": matrix.tolist(),
    }


def most_confused(matrix: np.ndarray | list, top: int = 5) -> list[tuple[int, int, int]]:
    """The (true, predicted, count) pairs with the most mistakes, most first."""
    matrix = np.asarray(matrix).copy()
    np.fill_diagonal(matrix, 0)
    order = np.argsort(matrix, axis=None)[::-1][:top]
    pairs = [(int(i // NUM_CLASSES), int(i % NUM_CLASSES)) for i in order]
    return [(t, p, int(matrix[t, p])) for t, p in pairs if matrix[t, p] > 0]
