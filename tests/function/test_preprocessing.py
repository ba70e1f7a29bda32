"""to_mnist: the shared test vectors, and what makes real drawings look like MNIST."""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from preprocessing import (
    BOX,
    HALF_INK,
    INK_THRESHOLD,
    SIZE,
    WORK_SIDE,
    BlankImageError,
    ink_box,
    ink_levels,
    least_level,
    resize,
    thickening_radius,
    to_mnist,
)
from tests.support import PROJECT_ROOT
from tests.support.drawing import canvas, crossed_hairlines
from tests.support.images import jpeg_round_trip
from tests.support.vectors import VECTORS_DIR, load_vectors, vector_pixels

VECTORS = load_vectors()
# The cases the page's JavaScript port must agree on; each needs at least one vector.
REQUIRED_CASES = ["canvas-transparent", "dark-on-light", "light-on-dark", "off-centre", "tiny", "huge",
                  "thin-stroke", "thick-stroke", "jpeg-noise", "blank", "mnist", "pooled-thin", "pooled-thick",
                  "pooled-crossed-hairlines"]


def ink_bounds(digit: np.ndarray, threshold: float = 0.05) -> tuple[int, int, int, int]:
    rows, columns = np.flatnonzero((digit > threshold).any(1)), np.flatnonzero((digit > threshold).any(0))
    return rows[0], rows[-1], columns[0], columns[-1]


def centre_of_mass(digit: np.ndarray) -> tuple[float, float]:
    total = digit.sum()
    return (digit.sum(1) @ np.arange(SIZE)) / total, (digit.sum(0) @ np.arange(SIZE)) / total


# --- the shared test vectors ---------------------------------------------------------


def test_vectors_cover_every_hard_case():
    names = [vector["name"] for vector in VECTORS]
    missing = [case for case in REQUIRED_CASES if not any(case in name for name in names)]
    assert not missing, f"no test vector for {missing}; run `make vectors`"


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_vector_is_well_formed(vector):
    assert set(vector) >= {"name", "description", "width", "height", "channels", "pixels_base64", "expected", "error"}
    assert vector["channels"] in (1, 3, 4)
    assert vector_pixels(vector).size == vector["width"] * vector["height"] * vector["channels"]
    assert (vector["expected"] is None) == (vector["error"] == "blank")
    if vector["expected"] is not None:
        assert np.asarray(vector["expected"]).shape == (SIZE, SIZE)


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_to_mnist_gives_the_vector_answer(vector):
    pixels = vector_pixels(vector)
    if vector["error"] == "blank":
        with pytest.raises(BlankImageError, match="no digit found"):
            to_mnist(pixels)
    else:
        np.testing.assert_allclose(to_mnist(pixels), np.asarray(vector["expected"]), rtol=0, atol=1e-5,
                                   err_msg=f"{VECTORS_DIR / vector['name']}.json is stale or the algorithm changed;"
                                           " regenerate with `make vectors` and tell web/")


# --- what MNIST's own recipe promises --------------------------------------------------


@pytest.mark.parametrize("digit", range(10))
def test_digit_fits_the_box_and_is_centred_by_mass(digit):
    result = to_mnist(canvas(digit))
    assert result.shape == (SIZE, SIZE) and result.dtype == np.float32
    assert result.min() >= 0 and result.max() <= 1
    top, bottom, left, right = ink_bounds(result, 0)
    assert max(bottom - top + 1, right - left + 1) in (BOX, BOX + 1)  # the antialiased rim may add one
    row, column = centre_of_mass(result)
    assert abs(row - SIZE / 2) <= 0.501 and abs(column - SIZE / 2) <= 0.501  # whole-pixel placement
    assert result.max() > 0.95


def test_mnist_digits_pass_through_almost_unchanged(mnist):
    digits = mnist.x_test[:1000]
    results = np.stack([to_mnist(digit) for digit in digits])
    difference = np.abs(results - digits / 255.0).reshape(len(digits), -1).max(1)
    assert (difference < 1e-6).mean() > 0.85
    assert np.abs(results - digits / 255.0).mean() < 0.005


def test_aspect_ratio_is_kept():
    tall = to_mnist(canvas(1, width=120, height=360, stroke=9))
    top, bottom, left, right = ink_bounds(tall, 0.05)
    assert bottom - top + 1 >= BOX - 1
    assert right - left + 1 <= 10


# --- the hard cases -----------------------------------------------------------------------


@pytest.mark.parametrize("digit", [2, 5, 8])
def test_polarity_does_not_matter(digit):
    white_on_black = canvas(digit, mode="white-on-black")
    np.testing.assert_allclose(to_mnist(255 - white_on_black), to_mnist(white_on_black), atol=1e-6)
    np.testing.assert_allclose(to_mnist(canvas(digit, mode="black-on-white")), to_mnist(white_on_black), atol=1e-6)


@pytest.mark.parametrize("mode", ["transparent-black", "transparent-white"])
def test_transparent_canvas_is_read_like_paper(mode):
    np.testing.assert_allclose(to_mnist(canvas(6, mode=mode)), to_mnist(canvas(6, mode="white-on-black")), atol=1e-6)


def test_coloured_ink_on_tinted_paper():
    ink = canvas(3, mode="white-on-black") / 255.0
    paper, pen = np.array([205, 198, 180]), np.array([20, 40, 140])
    picture = np.rint(paper * (1 - ink[..., None]) + pen * ink[..., None]).astype(np.uint8)
    assert np.abs(to_mnist(picture) - to_mnist(canvas(3, mode="white-on-black"))).max() < 0.05


def test_position_does_not_matter():
    centred = to_mnist(canvas(4, size=100, left=90, top=90, stroke=8))
    corner = to_mnist(canvas(4, size=100, left=4, top=170, stroke=8))
    np.testing.assert_allclose(corner, centred, atol=1e-6)


@pytest.mark.parametrize("size", [12, 40, 600])
def test_tiny_and_huge_digits_come_out_the_same_size(size):
    picture = canvas(9, width=int(size * 1.2) + 8, height=int(size * 1.2) + 8, size=size, stroke=max(2, size / 12))
    result = to_mnist(picture)
    top, bottom, _, _ = ink_bounds(result, 0.05)
    assert bottom - top + 1 >= BOX - 1
    assert np.allclose(centre_of_mass(result), (14, 14), atol=0.501)


def test_digit_touching_the_edges():
    result = to_mnist(canvas(0, width=160, height=160, size=160, left=20, top=0, stroke=16))
    assert np.allclose(centre_of_mass(result), (14, 14), atol=0.5)


@pytest.mark.parametrize("stroke", [1, 2, 5])
def test_thin_pens_come_out_as_thick_as_mnist_strokes(stroke):
    result = to_mnist(canvas(6, stroke=stroke))
    reference = to_mnist(canvas(6, stroke=18))  # a usual canvas pen, MNIST-like already
    assert result.max() > 0.9
    assert result.sum() > 0.7 * reference.sum()


def crop_of(pixels: np.ndarray) -> np.ndarray:
    ink = ink_levels(pixels)
    top, bottom, left, right = ink_box(ink)
    return ink.levels[top:bottom + 1, left:right + 1]


def test_mnist_strokes_are_never_thickened(mnist):
    radii = [thickening_radius(crop, int(crop.max())) for crop in map(crop_of, mnist.x_test)]
    assert max(radii) < 1


@pytest.mark.parametrize("stroke", [2, 44])
def test_thin_and_thick_strokes_stay_in_the_box(stroke):
    result = to_mnist(canvas(6, stroke=stroke))
    top, bottom, left, right = ink_bounds(result, 0)
    assert top >= 2 and left >= 2 and bottom <= 25 and right <= 25


def test_jpeg_noise_changes_little_and_does_not_widen_the_box():
    clean = canvas(9, width=200, height=200, stroke=13)
    noisy = jpeg_round_trip(clean, 40)
    assert np.abs(noisy.astype(int) - clean).max() > 20  # the JPEG really is noisy
    clean_result, noisy_result = to_mnist(clean), to_mnist(noisy)
    assert np.abs(noisy_result - clean_result).mean() < 0.02
    assert ink_bounds(noisy_result, 0.2) == ink_bounds(clean_result, 0.2)


def test_a_speck_of_faint_noise_far_away_is_ignored():
    picture = canvas(7, mode="white-on-black")
    speckled = picture.copy()
    speckled[5, 5] = speckled[270, 10] = 40  # ink 0.16: below the threshold
    np.testing.assert_allclose(to_mnist(speckled), to_mnist(picture), atol=1e-6)


# --- blank pictures and wrong arrays ------------------------------------------------


@pytest.mark.parametrize("picture", [
    np.zeros((280, 280, 4), np.uint8),
    np.full((100, 100, 3), 255, np.uint8),
    np.zeros((28, 28), np.uint8),
    np.full((50, 50), 30, np.uint8),
], ids=["transparent", "white", "black", "dark-grey"])
def test_blank_pictures_are_refused(picture):
    with pytest.raises(BlankImageError):
        to_mnist(picture)


@pytest.mark.parametrize("picture", [
    np.zeros((28, 28), np.float32),
    np.zeros((28, 28, 2), np.uint8),
    np.zeros((2, 28, 28, 1), np.uint8),
    np.zeros((0, 28), np.uint8),
])
def test_other_arrays_are_a_value_error(picture):
    with pytest.raises(ValueError, match=r"expected uint8 pixels|expected an H x W|the image is empty"):
        to_mnist(picture)


def test_single_channel_third_axis_is_accepted():
    picture = canvas(2, mode="white-on-black")
    np.testing.assert_array_equal(to_mnist(picture[:, :, None]), to_mnist(picture))


def test_ink_is_measured_from_the_paper_and_only_where_the_picture_differs_from_it():
    grey_paper = np.full((10, 10), 200, np.uint8)
    grey_paper[5, 5] = 0
    ink = ink_levels(grey_paper)
    assert (ink.top, ink.left, ink.levels.shape) == (5, 5, (1, 1))  # the rest is paper: no ink
    assert ink.levels[0, 0] / ink.span == 1


@pytest.mark.parametrize("span", [255, 510, 255_000, 509_999, 65_025_000, 130_050_000, 7, 1_000_003])
@pytest.mark.parametrize("fraction", [INK_THRESHOLD, HALF_INK])
def test_least_level_is_exactly_the_floating_point_decision(span, fraction):
    level = least_level(fraction, span)
    assert level / span >= fraction
    assert level == 0 or (level - 1) / span < fraction


# --- bounded cost: big pictures are pooled before thickening ---------------------------------


def test_hairlines_across_a_big_picture_cost_little_memory():
    picture = crossed_hairlines(1024)  # the most decoding hands on: an 8 KB PNG
    tracemalloc.start()
    try:
        result = to_mnist(picture)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024  # thickening at full size took about 1.5 GB
    assert result.max() > 0.99 and (result > 0.5).sum() > 40  # two strokes, thickened to be seen


@pytest.mark.parametrize("mode", ["white-on-black", "black-on-white", "transparent-white"])
def test_a_big_drawing_reads_like_the_same_drawing_on_the_page(mode):
    """Pooling keeps a thin pen thin-but-visible (maximum) and a thick pen as thick (mean)."""
    for digit, stroke in ((6, 1), (3, 18)):
        on_page = to_mnist(canvas(digit, stroke=stroke, mode=mode))
        big = to_mnist(canvas(digit, width=1000, height=1000, stroke=stroke * 1000 / 280, mode=mode))
        assert np.abs(big - on_page).mean() < 0.03, (digit, stroke)
    hairline = to_mnist(canvas(6, width=1000, height=1000, stroke=1, mode=mode))
    assert hairline.max() > 0.9 and hairline.sum() > 0.7 * to_mnist(canvas(6, mode=mode)).sum()


def test_a_digit_drawn_on_the_pages_pad_is_never_pooled():
    """The page sends its strokes redrawn EXPORT_HEIGHT pixels high (web/js/drawing.js), as
    wide as the pad: a digit as tall as the pad must reach the final resize unpooled."""
    drawing = (PROJECT_ROOT / "web" / "js" / "drawing.js").read_text()
    export_height = int(re.search(r"const EXPORT_HEIGHT = (\d+);", drawing)[1])
    assert export_height <= WORK_SIDE


# --- the resampling is Pillow's bilinear, which the page can reproduce exactly ----------


@pytest.mark.parametrize(("source", "target"), [((196, 147), (20, 15)), ((14, 9), (20, 13)), ((28, 28), (20, 20)),
                                            ((5, 300), (1, 20))])
def test_resize_matches_pillow_bilinear(source, target):
    image = np.random.default_rng(0).random(source)
    expected = np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize(
        (target[1], target[0]), Image.Resampling.BILINEAR))
    np.testing.assert_allclose(resize(image, *target), expected, atol=1e-5)
