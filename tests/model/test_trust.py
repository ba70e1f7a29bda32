"""Calibration, the "not sure" rule and the generated non-digits, on small made-up inputs."""

import numpy as np
import pytest

from model import calibration, outliers


def test_fitted_temperature_undoes_a_known_overconfidence():
    rng = np.random.default_rng(0)
    # Logits whose true temperature is 2.5: labels drawn from softmax(logits / 2.5).
    logits = rng.normal(0, 6, size=(20_000, 10))
    truth = calibration.softmax(logits, 2.5)
    labels = np.array([rng.choice(10, p=p) for p in truth])
    temperature = calibration.fit_temperature(logits, labels)
    assert temperature == pytest.approx(2.5, rel=0.05)
    before = calibration.expected_calibration_error(calibration.softmax(logits), labels)
    after = calibration.expected_calibration_error(calibration.softmax(logits, temperature), labels)
    assert after < 0.02 < before


def test_expected_calibration_error_of_known_bins():
    # Two digits at 0.95 (one right), two at 0.55 (both right): |0.5 - 0.95| and |1 - 0.55|.
    probabilities = np.full((4, 10), 0.0)
    probabilities[:2, 0], probabilities[:2, 1] = 0.95, 0.05
    probabilities[2:, 0], probabilities[2:, 1] = 0.55, 0.45
    labels = np.array([0, 1, 0, 0])
    bins = calibration.reliability(probabilities, labels)
    assert sum(bins["counts"]) == 4 and len(bins["counts"]) == calibration.ECE_BINS
    assert bins["ece"] == pytest.approx((2 * 0.45 + 2 * 0.45) / 4)


def test_threshold_flags_at_most_the_allowed_share():
    top = np.random.default_rng(1).uniform(0.3, 1.0, size=6000)
    threshold = calibration.choose_threshold(top, 0.01)
    assert (top < threshold).mean() <= 0.01
    assert (top <= threshold).mean() > 0.01  # the highest such threshold: one more digit would be flagged


def test_alternatives_are_the_likely_digits_likeliest_first():
    """The card's limits, applied by the function's rule (with a threshold no answer reaches)."""
    from uncertainty import Rule, judge

    rule = Rule(threshold=1.0, alternatives_min_probability=calibration.ALTERNATIVES_MIN_PROBABILITY,
                max_alternatives=calibration.MAX_ALTERNATIVES)
    probabilities = np.array([[0.5, 0.04, 0.3, 0.06, 0.1, 0, 0, 0, 0, 0],
                              [0.97, 0.03, 0, 0, 0, 0, 0, 0, 0, 0]])
    assert [[digit for digit, _ in judge(row.tolist(), rule).alternatives] for row in probabilities] == [[0, 2, 4], [0]]


def test_card_sections_have_the_shape_the_function_and_page_read():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 5, size=(500, 10))
    labels = logits.argmax(1)
    sections = calibration.card_sections(temperature=1.3, threshold=0.6, not_a_digit_below=0.3,
                                         validation=(logits, labels),
                                         test=(logits, labels), non_digits=logits[:50] / 10)
    assert sections["calibration"]["fitted_on"] == "validation"
    assert set(sections["calibration"]["ece_15_bins"]) == {"validation_before", "validation_after",
                                                            "test_before", "test_after"}
    assert {"rule", "threshold", "alternatives_min_probability", "max_alternatives",
            "validation_digits_flagged", "test_digits_flagged", "held_out_non_digits_flagged",
            "test_accuracy_when_sure", "not_a_digit_below", "validation_digits_not_a_digit",
            "test_digits_not_a_digit", "held_out_non_digits_not_a_digit"} <= set(sections["uncertainty"])
    assert sections["uncertainty"]["rule"] == "top probability below threshold"


def test_non_digits_are_repeatable_for_a_seed():
    first = outliers.generate(40, seed=5)
    assert first.shape == (40, 28, 28) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, outliers.generate(40, seed=5))
    assert not np.array_equal(first, outliers.generate(40, seed=6))


def test_held_out_non_digits_share_no_picture_kind_or_font_with_training():
    training_kinds, training_characters, training_fonts = outliers.SETS["training"]
    held_out_kinds, held_out_characters, held_out_fonts = outliers.SETS["held_out"]
    assert set(training_kinds) & set(held_out_kinds) == {"glyph"}  # glyphs differ by font
    assert not set(training_fonts) & set(held_out_fonts)
    assert "W" in held_out_characters and "W" not in training_characters
    training = outliers.generate(100, seed=42, which="training")
    held_out = outliers.generate(100, seed=43, which="held_out")
    assert not {bytes(image) for image in training} & {bytes(image) for image in held_out}


def test_non_digits_look_like_drawings_the_function_sends():
    images = outliers.generate(30, seed=0, which="held_out")
    for image in images:
        assert image.max() >= 200  # the brightest ink is 1 before the scaling to 20 pixels
        rows, columns = np.nonzero(image)
        # The longer side of the ink's box is 20 pixels (and the antialiased rim).
        assert max(rows.max() - rows.min(), columns.max() - columns.min()) + 1 in (20, 21, 22)


def test_no_digit_like_character_is_asked_to_be_a_non_digit():
    for which in ("training", "held_out"):
        assert not set(outliers.SETS[which][1]) & outliers.DIGIT_LIKE, which


@pytest.fixture(scope="module")
def training_digits():
    from model.data import load_mnist

    mnist = load_mnist(allow_download=False)
    return mnist.x_train[:200], mnist.y_train[:200]


def test_touching_pairs_are_two_training_digits_squeezed_into_one_box(training_digits):
    pairs = outliers.touching_pairs(30, 5, *training_digits)
    assert pairs.shape == (30, 28, 28) and pairs.dtype == np.uint8
    np.testing.assert_array_equal(pairs, outliers.touching_pairs(30, 5, *training_digits))
    assert not np.array_equal(pairs, outliers.touching_pairs(30, 6, *training_digits))
    shapes = []
    for image in pairs:
        rows, columns = np.nonzero(image > 0)
        shapes.append((rows.max() - rows.min() + 1, columns.max() - columns.min() + 1))
    # Preprocessed as a drawing sent to the function is: the longer side 20 pixels; two digits
    # side by side are mostly wider than tall (each has its own height and place on the line).
    assert all(max(shape) in (20, 21, 22) for shape in shapes)
    assert sum(width > height for height, width in shapes) >= 20


def test_the_non_digits_hold_touching_pairs_only_when_asked(training_digits):
    from model import training
    from model.config import TrainingConfig

    drawings = outliers.generate(20, 3, "training")
    alone = training.non_digit_pool(TrainingConfig(seed=3, touching_pairs=0), 10, training_digits)
    np.testing.assert_array_equal(alone, drawings)  # 2 a batch, 10 batches
    with_pairs = training.non_digit_pool(TrainingConfig(seed=3, touching_pairs=0.5), 10, training_digits)
    np.testing.assert_array_equal(with_pairs[:20], drawings)
    np.testing.assert_array_equal(with_pairs[20:], outliers.touching_pairs(10, 3, *training_digits))
    by_default = training.non_digit_pool(TrainingConfig(seed=3), 10, training_digits)  # one pair a drawing
    np.testing.assert_array_equal(by_default[20:], outliers.touching_pairs(20, 3, *training_digits))
