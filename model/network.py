"""The convolutional network: 784 - [32C3-32C3-32C5S2] - [64C3-64C3-64C5S2] - 128 - 10.

Chris Deotte's "How to choose CNN architecture MNIST": two blocks of two 3x3
convolutions followed by a strided 5x5 convolution that learns its own pooling,
BatchNorm after every convolution, 40 % dropout after each block, and a 4x4
convolution down to 128 features before the softmax.
"""

from __future__ import annotations

import keras
from keras import layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
DROPOUT = 0.4


def _conv_bn(filters: int, kernel_size: int, name: str, strides: int = 1, padding: str = "valid"):
    return [
        layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, activation="relu",
                      name=name),
        layers.BatchNormalization(name=f"{name}_bn"),
    ]


def build_cnn() -> keras.Model:
    """Return the uncompiled CNN; it takes float32 [N, 28, 28, 1] in [0, 1], white on black."""
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            # Block 1: 28x28 -> 26 -> 24 -> 12
            *_conv_bn(32, 3, "conv1a"),
            *_conv_bn(32, 3, "conv1b"),
            *_conv_bn(32, 5, "conv1c", strides=2, padding="same"),
            layers.Dropout(DROPOUT, name="drop1"),
            # Block 2: 12x12 -> 10 -> 8 -> 4
            *_conv_bn(64, 3, "conv2a"),
            *_conv_bn(64, 3, "conv2b"),
            *_conv_bn(64, 5, "conv2c", strides=2, padding="same"),
            layers.Dropout(DROPOUT, name="drop2"),
            # 4x4x64 -> 1x1x128
            *_conv_bn(128, 4, "conv3"),
            layers.Flatten(name="flatten"),
            layers.Dropout(DROPOUT, name="drop3"),
            layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities"),
        ],
        name="digits_cnn",
    )
