"""The network's shape: Chris Deotte's 784 - [32C3-32C3-32C5S2] - [64C3-64C3-64C5S2] - 128 - 10."""

import numpy as np

from model.network import build_cnn

EXPECTED_OUTPUTS = [
    ("conv1a", (26, 26, 32)), ("conv1a_bn", (26, 26, 32)),
    ("conv1b", (24, 24, 32)), ("conv1b_bn", (24, 24, 32)),
    ("conv1c", (12, 12, 32)), ("conv1c_bn", (12, 12, 32)), ("drop1", (12, 12, 32)),
    ("conv2a", (10, 10, 64)), ("conv2a_bn", (10, 10, 64)),
    ("conv2b", (8, 8, 64)), ("conv2b_bn", (8, 8, 64)),
    ("conv2c", (4, 4, 64)), ("conv2c_bn", (4, 4, 64)), ("drop2", (4, 4, 64)),
    ("conv3", (1, 1, 128)), ("conv3_bn", (1, 1, 128)),
    ("flatten", (128,)), ("drop3", (128,)),
    ("logits", (10,)), ("temperature", (10,)), ("probabilities", (10,)),
]


def test_layer_output_shapes():
    model = build_cnn()
    assert [(layer.name, tuple(layer.output.shape[1:])) for layer in model.layers] == EXPECTED_OUTPUTS


def test_kernels_strides_and_regularisation():
    layers = {layer.name: layer for layer in build_cnn().layers}
    for name in ("conv1a", "conv1b", "conv2a", "conv2b"):
        assert layers[name].kernel_size == (3, 3) and layers[name].strides == (1, 1)
    for name in ("conv1c", "conv2c"):
        assert layers[name].kernel_size == (5, 5) and layers[name].strides == (2, 2)
    assert layers["conv3"].kernel_size == (4, 4)
    assert all(layers[name].rate == 0.4 for name in ("drop1", "drop2", "drop3"))
    assert sum(name.endswith("_bn") for name in layers) == 7  # after every convolution


def test_output_is_a_probability_distribution_over_ten_digits():
    model = build_cnn()
    images = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    probabilities = np.asarray(model(images, training=False))
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert model.count_params() == 327_242


def test_mlp_takes_the_same_input_and_gives_the_same_output_as_the_cnn():
    from model.network import build_mlp, describe

    model = build_mlp((64, 32))
    images = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    probabilities = np.asarray(model(images, training=False))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert model.layers[-1].name == "probabilities"
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [64, 32, 10]
    assert model.count_params() == 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10
    assert describe(model) == "multilayer perceptron 784 - 64 - 32 - 10, ReLU, 20 % dropout"


def test_card_description_comes_from_the_network():
    from model.network import CNN_DESCRIPTION, build_network, describe

    assert describe(build_network("cnn")) == CNN_DESCRIPTION
    assert "784 - 128 - 128 - 10" in describe(build_network("mlp"))
