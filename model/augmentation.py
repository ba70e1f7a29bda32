"""Augmentation: the random changes every training digit goes through on its way to the network.

Always (with `TrainingConfig.augment`), the rotations, zooms and shifts of the Kaggle notebook
the network comes from; on request (`TrainingConfig.extra_augmentations`, named in
config.EXTRA_AUGMENTATIONS), a slant, an elastic distortion and a thicker or thinner pen.
Each is a Keras preprocessing layer that `model.training.make_dataset` applies inside the
tf.data pipeline, so the augmenter is never part of the network that is saved and exported.
"""

from __future__ import annotations

import keras
import tensorflow as tf

# Augmentation ranges of the Kaggle notebook: +-10 degrees, +-10 % zoom, +-10 % shift.
ROTATION_DEGREES = 10
ZOOM = 0.10
SHIFT = 0.10
# The further augmentations (TrainingConfig.extra_augmentations): how far each goes.
SLANT = 0.3  # shear, as a fraction of the width, either way
# Elastic distortion as Simard, Steinkraus and Platt (2003) describe it: a random displacement
# field smoothed by a Gaussian of SIGMA pixels and scaled by ALPHA, for a share of the digits.
# (Keras's RandomElasticTransform smooths by at most 1.4 pixels on 28x28: speckle, not a hand.)
ELASTIC_ALPHA = 4.0
ELASTIC_SIGMA = 4.0
ELASTIC_SHARE = 0.5


class RandomStrokeWidth(keras.layers.Layer):
    """Thickens or thins each digit's strokes by up to one pixel, a random amount each.

    Grey dilation (a 3x3 maximum) thickens, erosion (a 3x3 minimum) thins; a digit moves a
    random fraction t in [-1, 1] of the way to one of them, so pens of every width between
    appear, as on a canvas where people pick their own.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        amount = keras.random.uniform((tf.shape(images)[0], 1, 1, 1), -1.0, 1.0, seed=self.seed_generator)
        thicker = tf.nn.max_pool2d(images, 3, 1, "SAME")
        thinner = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
        return (images + tf.maximum(amount, 0.0) * (thicker - images)
                + tf.maximum(-amount, 0.0) * (thinner - images))


class RandomElastic(keras.layers.Layer):
    """Elastic distortion (keras.ops.image.elastic_transform) of a random share of the digits.

    The batches must have a known size (`make_dataset` drops a last, smaller one): on a batch
    of unknown size the op gives every digit the first one's distortion.
    """

    needs_whole_batches = True

    def __init__(self, share: float, alpha: float, sigma: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.share, self.alpha, self.sigma = share, alpha, sigma
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        distorted = keras.ops.image.elastic_transform(
            images, alpha=self.alpha, sigma=self.sigma, fill_mode="constant", fill_value=0.0,
            seed=self.seed_generator)
        chosen = keras.random.uniform((tf.shape(images)[0], 1, 1, 1), seed=self.seed_generator) < self.share
        return tf.where(chosen, tf.clip_by_value(distorted, 0.0, 1.0), images)

    def compute_output_shape(self, input_shape):
        return input_shape


def build_augmenter(seed: int, extras: tuple[str, ...] = ()) -> keras.Sequential:
    """Random rotation, zoom and shift of white-on-black digits, then the `extras`
    (config.EXTRA_AUGMENTATIONS) in a fixed order; new pixels are black."""
    fill = {"fill_mode": "constant", "fill_value": 0.0, "interpolation": "bilinear"}
    layers = [
        keras.layers.RandomRotation(ROTATION_DEGREES / 360, seed=seed, **fill),
        keras.layers.RandomZoom(ZOOM, seed=seed + 1, **fill),
        keras.layers.RandomTranslation(SHIFT, SHIFT, seed=seed + 2, **fill),
    ]
    if "slant" in extras:
        layers.append(keras.layers.RandomShear(x_factor=SLANT, seed=seed + 4, **fill))
    if "elastic" in extras:
        layers.append(RandomElastic(ELASTIC_SHARE, ELASTIC_ALPHA, ELASTIC_SIGMA, seed=seed + 5))
    if "stroke-width" in extras:
        layers.append(RandomStrokeWidth(seed=seed + 6))
    return keras.Sequential(layers, name="augmentation")
