"""The live training dashboard: TensorBoard, plus the validation confusion matrix per epoch.

Keras's TensorBoard callback logs the loss and accuracy curves; this callback adds, after
every epoch, a picture of the validation set's confusion matrix (tag `confusion_matrix`,
under the `validation` run), so `tensorboard --logdir ...` shows where the network still
errs while it trains.
"""

from __future__ import annotations

import io
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from model import plots
from model.evaluation import summarize

IMAGE_TAG = "confusion_matrix"


class ConfusionMatrixImages(keras.callbacks.Callback):
    def __init__(self, validation: tf.data.Dataset, labels: np.ndarray, log_dir: Path):
        super().__init__()
        self.validation = validation
        self.labels = np.asarray(labels).astype(np.int64)
        self.log_dir = Path(log_dir)
        self.writer = None

    def on_train_begin(self, logs=None):
        self.writer = tf.summary.create_file_writer(str(self.log_dir))

    def on_epoch_end(self, epoch, logs=None):
        probabilities = self.model.predict(self.validation, verbose=0)
        summary = summarize(self.labels, probabilities)
        picture = io.BytesIO()
        plots.plot_confusion_matrix(summary["confusion_matrix"], summary["accuracy"], picture,
                                    title=f"Validation, epoch {epoch + 1}")
        image = tf.image.decode_png(picture.getvalue(), channels=4)[tf.newaxis]
        with self.writer.as_default():
            # Keras's TensorBoard callback steps its epoch curves from 0; the pictures line up.
            tf.summary.image(IMAGE_TAG, image, step=epoch)
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()
