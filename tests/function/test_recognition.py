"""What users rely on: the shipped model, behind our decoding and preprocessing, reads digits.

MNIST's own test digits sent as 28x28 PNGs must score within 0.1 points of the model's own
accuracy, and drawings with every hard case must be read correctly.
"""

from __future__ import annotations

import numpy as np
import pytest

from decoding import decode_image
from preprocessing import to_mnist
from tests.support import hard_cases
from tests.support.drawing import canvas
from tests.support.hard_cases import HARD_CASES
from tests.support.images import encode
from tests.support.vectors import load_vectors, vector_pixels


@pytest.mark.slow
def test_mnist_test_digits_as_pngs_score_like_the_model_itself(mnist, classifier):
    own = classifier.predict(mnist.x_test / 255.0).argmax(1)
    through_api = np.stack([to_mnist(decode_image(encode(digit))) for digit in mnist.x_test])
    served = classifier.predict(through_api).argmax(1)
    own_accuracy, served_accuracy = (own == mnist.y_test).mean(), (served == mnist.y_test).mean()
    assert own_accuracy > 0.98, "the shipped model is not the trained one"
    assert abs(served_accuracy - own_accuracy) <= 0.001, (own_accuracy, served_accuracy)
    assert own_accuracy == pytest.approx(classifier.card.data["test"]["accuracy"], abs=1e-4)


@pytest.mark.parametrize("case", list(HARD_CASES))
def test_drawn_digits_are_read_in_every_hard_case(case, classifier):
    drawn = np.stack([to_mnist(picture) for picture in hard_cases.pictures(case)])
    assert list(classifier.predict(drawn).argmax(1)) == list(range(10))


def test_the_test_vectors_are_read_as_their_labels(classifier):
    vectors = [vector for vector in load_vectors() if vector["label"] is not None]
    pictures = np.stack([np.asarray(vector["expected"], dtype=np.float32) for vector in vectors])
    predicted = classifier.predict(pictures).argmax(1)
    read = {vector["name"]: int(digit) for vector, digit in zip(vectors, predicted, strict=True)}
    assert read == {vector["name"]: vector["label"] for vector in vectors}
    # and the expected outputs are what to_mnist gives for their pixels
    assert all(np.allclose(to_mnist(vector_pixels(v)), v["expected"], atol=1e-5) for v in vectors)


def test_resizing_the_canvas_naively_would_fail_where_mnist_preprocessing_succeeds(classifier):
    """Shrinking the whole canvas to 28x28 loses small, off-centre digits; cropping and centring finds them."""
    from PIL import Image

    pictures = [canvas(digit, size=90, left=180, top=8, stroke=10, mode="white-on-black") for digit in range(10)]
    naive = np.stack([np.asarray(Image.fromarray(p).resize((28, 28), Image.Resampling.BILINEAR)) / 255.0
                      for p in pictures])
    ours = np.stack([to_mnist(p) for p in pictures])
    naive_right = (classifier.predict(naive).argmax(1) == np.arange(10)).sum()
    ours_right = (classifier.predict(ours).argmax(1) == np.arange(10)).sum()
    assert ours_right == 10 and naive_right <= 5
