"""The optional augmentations of the training digits: each changes every digit its own way,
inside the tf.data pipeline training runs, and the command line names what it accepts."""

import numpy as np
import pytest

from model import augmentation, training
from model.config import EXTRA_AUGMENTATIONS, TrainingConfig, parse_augmentations
from tests.support.drawing import canvas, varied_hands
from tests.support.generator import run_generator


def digits(count: int = 12) -> np.ndarray:
    """uint8 (count, 28, 28) white-on-black drawn digits 0-9, 0-9, ..."""
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(canvas(digit % 10, mode="white-on-black"))
                                .resize((28, 28), Image.Resampling.BILINEAR)) for digit in range(count)])


def first_batch(extras, images: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """The batches training would see: `extras` names augmentations, or is a Keras model."""
    import keras

    augmenter = extras if isinstance(extras, keras.Model) else augmentation.build_augmenter(0, extras)
    dataset = training.make_dataset(images, np.arange(len(images)) % 10, batch_size, shuffle=False,
                                    augmenter=augmenter)
    return [x.numpy() for x, _y, _w in dataset]


def test_the_command_line_reads_a_list_and_names_the_choices_on_a_mistake():
    assert parse_augmentations("slant, stroke-width,slant") == ("slant", "stroke-width")
    assert parse_augmentations("none") == ()
    completed = run_generator("--extra-augmentations", "stroke-width,blur", "--epochs", "1", timeout=60)
    assert completed.returncode == 2
    assert "unknown augmentation blur" in completed.stderr
    assert all(name in completed.stderr for name in EXTRA_AUGMENTATIONS)
    assert TrainingConfig.from_dict({"extra_augmentations": ["slant"]}).extra_augmentations == ("slant",)


def test_stroke_width_thickens_some_digits_and_thins_others_within_one_pixel():
    import tensorflow as tf

    one = digits(1).astype(np.float32)[..., np.newaxis] / 255
    batch = tf.constant(np.repeat(one, 64, axis=0))
    layer = augmentation.RandomStrokeWidth(seed=3)
    changed = layer(batch, training=True).numpy()
    thicker = tf.nn.max_pool2d(batch, 3, 1, "SAME").numpy()
    thinner = -tf.nn.max_pool2d(-batch, 3, 1, "SAME").numpy()
    assert np.all(changed <= thicker + 1e-6) and np.all(changed >= thinner - 1e-6)
    ink = changed.sum(axis=(1, 2, 3))
    assert (ink > one.sum() * 1.1).sum() >= 10 and (ink < one.sum() * 0.9).sum() >= 10, ink
    np.testing.assert_array_equal(layer(batch, training=False).numpy(), batch.numpy())


def test_elastic_distortion_gives_each_digit_of_a_pipeline_batch_its_own_field():
    import keras

    images = digits(10)  # all different
    elastic_only = keras.Sequential([augmentation.RandomElastic(
        augmentation.ELASTIC_SHARE, augmentation.ELASTIC_ALPHA, augmentation.ELASTIC_SIGMA, seed=1)])
    batches = first_batch(elastic_only, images, batch_size=10)
    inputs = images.astype(np.float32) / 255
    out = batches[0][..., 0]
    distorted = [i for i in range(10) if not np.allclose(out[i], inputs[i], atol=1e-3)]
    assert 2 <= len(distorted) <= 8, distorted  # about half the digits
    for i in distorted:
        # Each is still its own digit, moved a little, and not a copy of another one.
        closeness = [np.corrcoef(out[i].ravel(), inputs[j].ravel())[0, 1] for j in range(10)]
        assert int(np.argmax(closeness)) == i, closeness


def test_elastic_distortion_keeps_batches_whole_so_its_fields_are_per_digit():
    batches = first_batch(("elastic",), digits(20), batch_size=8)
    assert [len(batch) for batch in batches] == [8, 8]
    assert [len(batch) for batch in first_batch((), digits(20), batch_size=8)] == [8, 8, 4]


@pytest.mark.parametrize("extras", [("slant",), EXTRA_AUGMENTATIONS])
def test_every_augmentation_keeps_the_digits_white_on_black_in_range(extras):
    out = np.concatenate(first_batch(extras, digits(16), batch_size=8))
    assert out.shape == (16, 28, 28, 1)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.all(out[:, 0, 0, 0] < 0.05)  # corners stay background


def test_varied_hands_are_repeatable_and_stay_on_the_canvas():
    pictures, labels = varied_hands(40, seed=5)
    again, labels_again = varied_hands(40, seed=5)
    np.testing.assert_array_equal(labels, labels_again)
    assert all(np.array_equal(a, b) for a, b in zip(pictures, again, strict=True))
    assert set(labels) == set(range(10))
    for picture in pictures:
        assert picture.shape == (280, 280) and picture.max() == 255
        border = np.concatenate([picture[0], picture[-1], picture[:, 0], picture[:, -1]])
        assert border.sum() < 0.02 * picture.sum()  # the whole digit is on the canvas
