"""The networks: the convolutional network that ships, and a multilayer perceptron baseline.

The CNN, 784 - [32C3-32C3-32C5S2] - [64C3-64C3-64C5S2] - 128 - 10, comes from Chris
Deotte's Kaggle notebook "How to choose CNN architecture MNIST": two blocks of two 3x3 convolutions followed
by a strided 5x5 convolution that learns its own pooling, BatchNorm after every
convolution, 40 % dropout after each block, and a 4x4 convolution down to 128 features
before the softmax.

Both take the same input and end in the same head: a dense layer of ten ``logits``, a
``temperature`` layer that divides them by the temperature fitted on the validation split
(1 while training; see model/calibration.py), and the softmax named ``probabilities``. So
every export returns calibrated probabilities and serves the function and the page unchanged.
"""

from __future__ import annotations

import keras
from keras import layers

from model.config import ARCHITECTURES, DEFAULT_HIDDEN

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
# The input and the output go by these names in every export (the SavedModel signature's
# too) and in the card; calibration finds the logits layer by its name.
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
LOGITS_NAME = "logits"
DROPOUT = 0.4
# Lighter than the CNN's: a small perceptron has little capacity to spare.
MLP_DROPOUT = 0.2
CNN_DESCRIPTION = ("784 - [32C3-32C3-32C5S2] - [64C3-64C3-64C5S2] - 128 - 10, "
                   "BatchNorm after each convolution, 40 % dropout")


def _conv_bn(filters: int, kernel_size: int, name: str, strides: int = 1, padding: str = "valid"):
    return [
        layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, activation="relu",
                      name=name),
        layers.BatchNormalization(name=f"{name}_bn"),
    ]


def head(temperature: float = 1.0) -> list:
    """Ten logits, divided by the temperature, then the softmax."""
    return [layers.Dense(NUM_CLASSES, name=LOGITS_NAME), *calibrated_softmax(temperature)]


def calibrated_softmax(temperature: float) -> list:
    return [layers.Rescaling(1.0 / temperature, name="temperature"),
            layers.Softmax(name=OUTPUT_NAME)]


def with_temperature(model: keras.Model, temperature: float) -> keras.Model:
    """The same network (sharing its weights) whose softmax divides the logits by `temperature`."""
    body = model.layers[:[layer.name for layer in model.layers].index(LOGITS_NAME) + 1]
    return keras.Sequential([keras.Input(shape=INPUT_SHAPE, name=INPUT_NAME), *body,
                             *calibrated_softmax(temperature)], name=model.name)


def logits_model(model: keras.Model) -> keras.Model:
    """The network up to its logits (sharing its weights)."""
    return keras.Model(model.inputs, model.get_layer(LOGITS_NAME).output, name=f"{model.name}_logits")


def build_cnn() -> keras.Model:
    """Return the uncompiled CNN; it takes float32 [N, 28, 28, 1] in [0, 1], white on black."""
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name=INPUT_NAME),
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
            *head(),
        ],
        name="digits_cnn",
    )


def build_mlp(hidden: tuple[int, ...] = DEFAULT_HIDDEN) -> keras.Model:
    """Return the uncompiled multilayer perceptron: the 784 pixels, `hidden` ReLU layers
    (each followed by dropout), then the same softmax as the CNN."""
    stack = [keras.Input(shape=INPUT_SHAPE, name=INPUT_NAME), layers.Flatten(name="flatten")]
    for index, units in enumerate(hidden, start=1):
        stack += [layers.Dense(units, activation="relu", name=f"dense{index}"),
                  layers.Dropout(MLP_DROPOUT, name=f"drop{index}")]
    stack += head()
    return keras.Sequential(stack, name="digits_mlp")


def build_network(arch: str = "cnn", hidden: tuple[int, ...] | None = None) -> keras.Model:
    if arch == "cnn":
        return build_cnn()
    if arch == "mlp":
        return build_mlp(tuple(hidden) if hidden else DEFAULT_HIDDEN)
    raise ValueError(f"unknown architecture {arch!r}; expected one of {ARCHITECTURES}")


def describe(model: keras.Model) -> str:
    """One line for the model card, read from the network itself (also for loaded models)."""
    if model.name == "digits_cnn":
        return CNN_DESCRIPTION
    if model.name != "digits_mlp":
        return f"{model.name}: {len(model.layers)} layers"
    sizes = " - ".join(str(layer.units) for layer in model.layers if isinstance(layer, layers.Dense))
    rates = [layer.rate for layer in model.layers if isinstance(layer, layers.Dropout)]
    dropout = f", {round(max(rates) * 100)} % dropout" if rates else ""
    return f"multilayer perceptron 784 - {sizes}, ReLU{dropout}"
