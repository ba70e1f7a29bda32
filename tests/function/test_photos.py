"""Photos of paper (lambda/paper.py): each kind of paper and light read right through the API,
a photo taken sideways read upright, every drawing and shared vector through unchanged, and
what the function says of a blank sheet and of a 12-megapixel photo.

The photos are made by tests/support/photos.py from MNIST's test digits; the seeds are ones
whose writing the model reads whole as a drawing (bench/function_photos.py's "ceiling"), so a
failure here is the photo's doing."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

import paper
import preprocessing
from decoding import decode_image
from input_errors import InputError
from tests.support import hard_cases, photos
from tests.support.hard_cases import HARD_CASES
from tests.support.images import encode
from tests.support.vectors import VECTORS_DIR, vector_pixels

# (seed, digits, the table in view): one digit on a sheet that fills the photo, three on a table.
SEEDS = [(0, 1, False), (0, 3, True), (2, 1, False), (2, 3, True)]


def photo(mnist, kind: str, seed: int, digits: int, table: bool, **options) -> photos.Photo:
    return photos.photo(np.random.default_rng(seed), kind, mnist.x_test, mnist.y_test, digits=digits, table=table,
                        **options)


def post_jpeg(client, body: bytes):
    return client.post("/predict", content=body, headers={"Content-Type": "image/jpeg"})


def read(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("kind", photos.KINDS)
@pytest.mark.parametrize(("seed", "digits", "table"), SEEDS, ids=[f"seed{s}-{d}digits{'-table' * t}"
                                                                   for s, d, t in SEEDS])
def test_each_kind_of_paper_and_light_is_read_whole(client, mnist, kind, seed, digits, table):
    made = photo(mnist, kind, seed, digits, table)
    body = read(post_jpeg(client, made.jpeg))
    assert body["number"] == made.text
    assert not any(entry["uncertain"] for entry in body["digits"])


def test_a_photo_taken_sideways_is_read_upright_with_its_boxes_upright(client, mnist):
    made = photo(mnist, "shadow", 0, 3, False, size=(1200, 900))
    upright = read(post_jpeg(client, made.jpeg))
    sideways = read(post_jpeg(client, photos.sideways(made)))
    assert sideways["number"] == upright["number"] == made.text
    # The stored pixels stand 900 wide and 1200 tall; the boxes are in the photo as it is seen.
    for entry, seen, (left, right) in zip(sideways["digits"], upright["digits"], made.spans, strict=True):
        x, y, width, height = entry["box"]
        assert x + width <= 1200 and y + height <= 900
        assert left - 20 <= x + width / 2 <= right + 20  # over its own digit (the sheet is tilted a little)
        assert np.abs(np.array(entry["box"]) - np.array(seen["box"])).max() <= 4  # JPEG saved twice


@pytest.mark.parametrize(("kind", "table"), [("plain", False), ("shadow", True), ("ruled", False),
                                             ("squared", True), ("gradient", False)])
def test_a_photo_of_a_blank_sheet_is_no_digit_found(client, mnist, kind, table):
    made = photo(mnist, kind, 1, 0, table)
    response = post_jpeg(client, made.jpeg)
    assert response.status_code == 422, response.text
    assert "no digit found" in response.json()["detail"]


def test_a_12_megapixel_photo_is_read_within_the_decoding_limits(client, mnist):
    made = photo(mnist, "ruled", 2, 3, True, size=(1600, 1200))
    big = Image.fromarray(made.pixels).resize((4000, 3000), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    big.save(buffer, format="JPEG", quality=85)
    body = read(post_jpeg(client, buffer.getvalue()))
    assert body["number"] == made.text
    assert all(entry["box"][0] + entry["box"][2] <= 4000 for entry in body["digits"])


# --- what must not change ---------------------------------------------------------------------------


def same_ink(pixels: np.ndarray) -> None:
    """paper.ink_levels gives preprocessing.ink_levels's Ink bit for bit, or refuses alike."""
    try:
        plain = preprocessing.ink_levels(pixels)
    except InputError as error:
        with pytest.raises(type(error)):
            paper.ink_levels(pixels)
        return
    ink = paper.ink_levels(pixels)
    assert (ink.span, ink.top, ink.left) == (plain.span, plain.top, plain.left)
    assert ink.levels.dtype == plain.levels.dtype and np.array_equal(ink.levels, plain.levels)


SHARED = sorted(VECTORS_DIR.glob("*.json")) + sorted((VECTORS_DIR / "numbers").glob("*.json"))


@pytest.mark.parametrize("path", SHARED, ids=[path.stem for path in SHARED])
def test_every_shared_vector_goes_through_unchanged(path):
    same_ink(vector_pixels(json.loads(path.read_text())))


@pytest.mark.parametrize("case", HARD_CASES)
def test_the_drawn_hard_cases_go_through_unchanged(case):
    for picture in hard_cases.pictures(case):
        same_ink(picture)


def test_mnist_digits_sent_as_pngs_go_through_unchanged(mnist):
    for digit in mnist.x_test[:1000]:
        same_ink(decode_image(encode(digit)))


def test_a_canvas_photographed_flat_is_a_drawing_but_with_noise_it_is_a_photo():
    from tests.support.drawing import canvas

    drawing = canvas(4, width=400, height=300)
    assert paper.photo_grey(drawing) is None
    noisy = np.clip(drawing.astype(int) + np.random.default_rng(0).integers(-3, 4, drawing.shape), 0, 255)
    assert paper.photo_grey(noisy.astype(np.uint8)) is not None


def test_printed_lines_go_and_a_stroke_that_crosses_them_stays_whole():
    """Ruled lines every 20 rows, a little tilted; one vertical stroke across six of them."""
    rng = np.random.default_rng(0)
    rows, columns = np.mgrid[0:300, 0:400]
    sheet = 235.0 - 20 * columns / 400  # the light falls a little across the sheet
    on_a_line = (rows - columns // 50) % 20 < 2  # 8 rows down over the width: 1.1 degrees
    sheet[on_a_line] *= 0.55  # as dark as a blue pen: above any threshold but for its shape
    stroke = (np.abs(columns - 200) <= 3) & (rows >= 90) & (rows < 210)
    sheet[stroke] = 40
    pixels = np.clip(np.rint(sheet + rng.normal(0, 2, sheet.shape)), 0, 255).astype(np.uint8)
    assert paper.photo_grey(pixels) is not None

    ink = paper.ink_levels(pixels)
    strong = np.zeros(pixels.shape, dtype=bool)
    height, width = ink.levels.shape
    strong[ink.top:ink.top + height, ink.left:ink.left + width] = \
        ink.levels >= preprocessing.least_level(preprocessing.INK_THRESHOLD, ink.span)
    assert strong[90:210, 198:203].all()  # the stroke's middle, on every row, lines crossed or not
    near = np.zeros_like(stroke)
    near[85:215, 193:208] = True
    assert not strong[~near].any()  # nothing left of the lines


def test_the_paper_stage_takes_every_size_the_function_decodes():
    """A photo is normalised up to the size decoding shrinks every picture to: the two limits
    are one (paper.py keeps its own copy so the page's port can be checked against it)."""
    import decoding
    import paper

    assert paper.MAX_SIDE == decoding.MAX_SIDE
