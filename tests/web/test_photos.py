"""Pictures opened in the page: a photo of a number on paper, chosen with "Open a picture",
dropped on the pad or pasted, is read upright (EXIF orientation), shrunk to the size the
service reads before it is sent, and shown in the pad's place with a box per digit, in
server mode and in browser mode, with the ink its reading found beside it (a photo's light
and paper taken out: the function's ink, pixel for pixel); a file that is not a picture, a
picture the service refuses and a blank sheet are answered in words; Clear returns to the
drawing pad.

Most numbers are written with MNIST's test digits (model/written_numbers.py) on a
clean white sheet; the photos of paper, in a shadow and on ruled lines, are
tests/support/photos.py's."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass

import httpx
import numpy as np
import pytest
from PIL import Image

import decoding  # the function's: the largest side it reads a picture at
import paper
import preprocessing
import segmentation
from model.written_numbers import written_number
from tests.support import browser as support
from tests.support import photos, servers
from tests.support.images import encode

BOXES = "#picture-boxes .digit-box"
INK_BOXES = "#ink-boxes .digit-box"
TILES = "#model-view-frame .model-input"
ORIENTATION = 0x0112  # the EXIF tag
ROTATED_CLOCKWISE = 6  # its value for "turn the stored pixels a quarter clockwise to show them"
BY = " \N{MULTIPLICATION SIGN} "  # between a picture's width and height, as the page writes them


@pytest.fixture(scope="module")
def mnist():
    from model.data import load_mnist

    return load_mnist(allow_download=False)


@dataclass(frozen=True)
class Sheet:
    pixels: np.ndarray  # grey, upright: dark ink on white
    text: str
    boxes: list[tuple[float, float, float, float]]  # each digit's ink: [x, y, width, height] in the sheet's pixels

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def height(self) -> int:
        return self.pixels.shape[0]


def sheet(mnist, seed: int, width: int, height: int, digits: int = 4) -> Sheet:
    """A number of MNIST test digits, apart, in the middle of a white sheet, as large as fits
    in 80 % of its width and half its height."""
    rng = np.random.default_rng(seed)
    number = written_number(rng, rng.choice(len(mnist.x_test), digits, replace=False), mnist.x_test, mnist.y_test,
                            "apart")
    written = Image.fromarray(number.picture)
    scale = min(0.8 * width / written.width, 0.5 * height / written.height)
    scaled = np.asarray(written.resize((round(written.width * scale), round(written.height * scale)),
                                       Image.Resampling.BILINEAR))
    top, left = (height - scaled.shape[0]) // 2, (width - scaled.shape[1]) // 2
    pixels = np.full((height, width), 255, dtype=np.uint8)
    pixels[top:top + scaled.shape[0], left:left + scaled.shape[1]] = scaled
    ink = number.picture < 128
    boxes = []
    for start, end in number.spans:
        rows = np.flatnonzero(ink[:, start:end].any(axis=1))
        boxes.append((left + start * scale, top + rows[0] * scale, (end - start) * scale,
                      (rows[-1] + 1 - rows[0]) * scale))
    return Sheet(pixels, number.text, boxes)


def jpeg(pixels: np.ndarray, orientation: int | None = None) -> bytes:
    if orientation is None:
        return encode(pixels, "JPEG", quality=92)
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return encode(pixels, "JPEG", quality=92, exif=exif.tobytes())


def open_in(open_page, server: str, mode: str, **options):
    """The page in `mode`, recognising only when asked; in browser mode once the model is in."""
    page = open_page(f"{server}/?mode={mode}", **options)
    page.uncheck("#live")
    if mode == "browser":
        page.wait_for_selector("#model-status[data-state='ready'], #model-status[data-state='failed']",
                               timeout=support.ANSWER_TIMEOUT_MS)
        assert page.get_attribute("#model-status", "data-state") == "ready", page.inner_text("#message")
    return page


def sent_pictures(page) -> list[dict]:
    """Every picture the page sends to /predict from now on: its size in bytes and its image."""
    sent = []

    def seen(request):
        if request.url.endswith("/predict") and request.method == "POST":
            body = request.post_data
            image = json.loads(body)["image"]
            header, encoded = image.split(",", 1)
            picture = Image.open(io.BytesIO(base64.b64decode(encoded)))
            sent.append({"bytes": len(body), "type": header, "image": picture})

    page.on("request", seen)
    return sent


def overlap(a, b) -> float:
    """Intersection over union of two [x, y, width, height] boxes."""
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inner = max(0.0, right - left) * max(0.0, bottom - top)
    return inner / (a[2] * a[3] + b[2] * b[3] - inner)


def assert_read_with_a_box_per_digit(page, expected: Sheet) -> None:
    """The number in large type, one tile and one box per digit, each box on its digit of the
    picture shown: on screen (the box around the digit's middle) and in the picture's pixels."""
    assert page.inner_text("#output") == expected.text, page.inner_text("#message")
    assert page.locator(TILES).count() == len(expected.text)
    boxes = page.locator(BOXES)
    assert boxes.count() == len(expected.text)
    assert [boxes.nth(index).inner_text() for index in range(boxes.count())] == list(expected.text)
    shown = page.locator("#picture").bounding_box()
    to_screen = shown["width"] / expected.width
    assert shown["height"] / expected.height == pytest.approx(to_screen, rel=0.01), "the picture keeps its shape"
    for index, (x, y, width, height) in enumerate(expected.boxes):
        box = boxes.nth(index).bounding_box()
        middle = (shown["x"] + (x + width / 2) * to_screen, shown["y"] + (y + height / 2) * to_screen)
        assert box["x"] < middle[0] < box["x"] + box["width"], (index, box, middle)
        assert box["y"] < middle[1] < box["y"] + box["height"], (index, box, middle)
        # The box's place in the picture, as the page laid it out (percentages of the picture).
        placed = boxes.nth(index).evaluate("""box => ['left', 'top', 'width', 'height']
            .map(side => parseFloat(box.style[side]) / 100)""")
        fractions = (x / expected.width, y / expected.height, width / expected.width, height / expected.height)
        assert overlap(placed, fractions) > 0.6, (index, placed, fractions)


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_a_photo_of_a_number_is_read_with_a_box_per_digit(open_page, server, mode, mnist):
    """A picture of a number on white paper, chosen with the file input: it takes the pad's
    place, is read right, with a box on each digit, in either mode; the same pixels go to the
    service (here a PNG, as opened: small enough to send as it is), within the page's content
    security policy (the function's, which serves it)."""
    expected = sheet(mnist, seed=0, width=1000, height=750)
    page = open_in(open_page, server, mode)
    sent = sent_pictures(page)
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    assert support.open_picture(page, encode(expected.pixels), "number.png", "image/png") == "done", (
        page.inner_text("#message"))
    assert page.is_visible("#picture")
    assert page.inner_text("#picture-note") == f"number.png: 1000{BY}750 pixels."
    assert_read_with_a_box_per_digit(page, expected)
    if mode == "server":
        assert len(sent) == 1
        assert sent[0]["type"] == "data:image/png;base64"
        assert sent[0]["image"].size == (expected.width, expected.height)
        assert np.array_equal(np.asarray(sent[0]["image"].convert("L")), expected.pixels)
    else:
        assert sent == []
        assert "in this browser" in page.inner_text("#details")
    assert refused == [], "the page's content security policy allows all it does with a picture"


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_a_photo_taken_sideways_is_read_upright(open_page, server, mode, mnist):
    """A phone's JPEG stores a portrait photo's pixels sideways and says so in EXIF
    (Orientation 6): the page reads it upright, shows it upright, sends it upright, and the
    boxes are in the upright picture's coordinates."""
    upright = sheet(mnist, seed=1, width=600, height=800, digits=3)
    stored = np.ascontiguousarray(np.rot90(upright.pixels))  # a quarter turn anticlockwise
    page = open_in(open_page, server, mode)
    sent = sent_pictures(page)
    photo = jpeg(stored, ROTATED_CLOCKWISE)
    assert support.open_picture(page, photo, "portrait.jpg", "image/jpeg") == "done", page.inner_text("#message")
    assert page.inner_text("#picture-note") == f"portrait.jpg: 600{BY}800 pixels."
    assert page.evaluate("[document.querySelector('#picture').width, document.querySelector('#picture').height]") == [
        600, 800]
    assert_read_with_a_box_per_digit(page, upright)
    if mode == "server":
        assert len(sent) == 1
        assert sent[0]["image"].size == (600, 800)
        assert not sent[0]["image"].getexif().get(ORIENTATION), "upright pixels need no orientation"


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_a_large_photo_is_shrunk_before_it_is_sent(open_page, server, mode, mnist):
    """A 12-megapixel photo (4000 x 3000, with the grain of a camera's sensor) is shrunk to the
    largest side the service reads before it is sent, and read in browser mode from the same
    pixels; the page says so."""
    expected = sheet(mnist, seed=2, width=4000, height=3000)
    grain = np.random.default_rng(2).normal(0, 4, expected.pixels.shape)
    photo = jpeg(np.clip(expected.pixels * 0.96 + grain, 0, 255).astype(np.uint8))
    assert len(photo) > 2 * 1024 * 1024, "as large as a phone's photo"
    side = decoding.MAX_SIDE
    small = (side, side * 3 // 4)
    page = open_in(open_page, server, mode)
    sent = sent_pictures(page)
    assert support.open_picture(page, photo, "IMG_0001.jpg", "image/jpeg") == "done", page.inner_text("#message")
    why = "to send it" if mode == "server" else "to read it in this browser"
    assert page.inner_text("#picture-note") == (
        f"IMG_0001.jpg: 4000{BY}3000 pixels, shrunk to {small[0]}{BY}{small[1]} {why}.")
    assert page.evaluate("[document.querySelector('#picture').width, document.querySelector('#picture').height]") == [
        *small]
    assert_read_with_a_box_per_digit(page, expected)
    if mode == "server":
        assert len(sent) == 1
        assert sent[0]["type"] == "data:image/jpeg;base64"
        assert sent[0]["image"].size == small
        assert sent[0]["bytes"] < len(photo) / 4, (sent[0]["bytes"], len(photo))


def test_a_large_picture_on_a_transparent_background_is_sent_as_png(open_page, server, mnist):
    """Dark ink on a transparent background (a drawing app's export), shrunk: it goes as PNG,
    whose transparency the service reads as paper (as JPEG it would turn black, and the ink
    with it)."""
    expected = sheet(mnist, seed=11, width=2048, height=1024, digits=3)
    rgba = np.zeros((*expected.pixels.shape, 4), dtype=np.uint8)
    rgba[..., 3] = 255 - expected.pixels  # black ink, as opaque as it is dark
    page = open_in(open_page, server, "server")
    sent = sent_pictures(page)
    assert support.open_picture(page, encode(rgba), "drawing.png", "image/png") == "done", (
        page.inner_text("#message"))
    assert len(sent) == 1 and sent[0]["type"] == "data:image/png;base64"
    assert sent[0]["image"].size == (decoding.MAX_SIDE, decoding.MAX_SIDE // 2)
    assert_read_with_a_box_per_digit(page, expected)


def test_a_picture_is_read_on_the_page_opened_from_disk(open_page, disk_url, mnist):
    """From disk the page reads in this browser, TF.js on its own thread: a picture too. No
    worker starts there, so the ink is found on the page itself, once the answer is shown."""
    expected = sheet(mnist, seed=13, width=900, height=600, digits=3)
    page = open_page(disk_url)
    page.wait_for_selector("#model-status[data-state='ready']", timeout=support.ANSWER_TIMEOUT_MS)
    assert support.open_picture(page, jpeg(expected.pixels), "photo.jpg", "image/jpeg") == "done", (
        page.inner_text("#message"))
    assert page.get_attribute("#result", "data-mode") == "browser"
    assert_read_with_a_box_per_digit(page, expected)
    ink = shown_ink(page, "browser")
    assert page.get_attribute("#ink-view", "data-where") == "page"
    assert np.array_equal(ink, drawn(paper.ink_levels(support.canvas_pixels(page, "#picture")), 900, 600))


# --- photos of paper, and the ink their reading found ---------------------------------------------

# tests/support/photos.py's (kind, seed, digits, the table in view): a shadow over a third of the
# sheet, and ruled lines with a margin, each sheet filling a 1600 x 1200 photo. Seeds the function
# reads right, checked with pipeline.picture_stages on the photo and on a 1024 x 768 JPEG of it.
PAPER_PHOTOS = {"shadow": ("shadow", 2, 3, False), "ruled": ("ruled", 0, 3, False)}
MARGIN = 4  # pixels round a digit's box, where the faint rim of its strokes may still lie
PHOTO_TILT = 20  # pixels of the photo: how far a digit's ink may lie beyond its columns on the tilted sheet

INK_VIEW_FITS = """() => {
    const view = document.querySelector('#ink-view').getBoundingClientRect();
    return view.width > 0 && view.top >= 0 && view.left >= 0 && view.bottom <= innerHeight
        && view.right <= innerWidth;
}"""


def paper_photo(mnist, name: str) -> photos.Photo:
    kind, seed, digits, table = PAPER_PHOTOS[name]
    return photos.photo(np.random.default_rng(seed), kind, mnist.x_test, mnist.y_test, digits=digits, table=table)


def shown_ink(page, mode: str) -> np.ndarray:
    """The ink view's picture once it shows the ink of the reading in `mode`: its grey levels."""
    page.wait_for_selector(f"#ink-view[data-state='shown'][data-mode='{mode}']", timeout=support.ANSWER_TIMEOUT_MS)
    pixels = support.canvas_pixels(page, "#ink")
    assert (pixels[..., :3] == pixels[..., :1]).all() and (pixels[..., 3] == 255).all(), "opaque grey"
    return pixels[..., 0]


def drawn(ink: preprocessing.Ink, width: int, height: int) -> np.ndarray:
    """An ink as the page draws it (ui.js, showInk): dark on white in a picture of `width` x
    `height`, each pixel 255 - round(255 * level / span), halves rounded up."""
    picture = np.full((height, width), 255, dtype=np.int64)
    levels = ink.levels.astype(np.int64)
    picture[ink.top:ink.top + levels.shape[0], ink.left:ink.left + levels.shape[1]] = (
        255 - (510 * levels + ink.span) // (2 * ink.span))
    return picture.astype(np.uint8)


def placed_boxes(page, selector: str) -> list[list[float]]:
    """Each box's place as the page laid it out: [x, y, width, height] in fractions of the picture."""
    return page.eval_on_selector_all(selector, """boxes => boxes.map(box => ['left', 'top', 'width', 'height']
        .map(side => parseFloat(box.style[side]) / 100))""")


def covered(boxes: list[list[float]], height: int, width: int, margin: int = 0) -> np.ndarray:
    """Where `boxes` (fractions of the picture) lie in a picture of `height` x `width`, grown by `margin`."""
    mask = np.zeros((height, width), dtype=bool)
    for x, y, box_width, box_height in boxes:
        left, top = round(x * width) - margin, round(y * height) - margin
        right, bottom = round((x + box_width) * width) + margin, round((y + box_height) * height) + margin
        mask[max(top, 0):bottom, max(left, 0):right] = True
    return mask


@pytest.mark.parametrize("mode", ["server", "browser"])
@pytest.mark.parametrize("name", sorted(PAPER_PHOTOS))
def test_a_photo_of_paper_is_read_and_the_ink_it_found_is_shown(open_page, server, mnist, name, mode):
    """A phone's photo of a number in a shadow, or on ruled paper, chosen with the file input:
    read right in either mode, a box on each digit; beside the picture, the ink the reading
    found, the function's own pixel for pixel (in server mode in the JPEG the page sent, in
    browser mode in the pixels it read), with the same boxes on it: ink in each digit's box and
    none outside them, in the shadow or along the lines, where ink found without taking the
    light and the paper out would lie (the photo needs it). What the model saw is each digit on
    black, made from that ink as the function makes it. The page still fits a laptop's screen."""
    made = paper_photo(mnist, name)
    page = open_in(open_page, server, mode)
    sent = sent_pictures(page)
    assert support.open_picture(page, made.jpeg, f"{name}.jpg", "image/jpeg") == "done", page.inner_text("#message")
    assert page.inner_text("#output") == made.text
    boxes = page.locator(BOXES)
    assert [boxes.nth(index).inner_text() for index in range(boxes.count())] == list(made.text)
    placed = placed_boxes(page, BOXES)
    for (x, _, box_width, _), (left, right) in zip(placed, made.spans, strict=True):
        middle = (x + box_width / 2) * made.pixels.shape[1]
        assert left - PHOTO_TILT <= middle <= right + PHOTO_TILT, (middle, left, right)

    ink = shown_ink(page, mode)
    assert page.get_attribute("#ink-view", "data-where") == "worker", "found off the page's main thread"
    height, width = ink.shape
    assert (width, height) == (decoding.MAX_SIDE, decoding.MAX_SIDE * 3 // 4), "the picture as read"
    if mode == "server":
        assert len(sent) == 1 and sent[0]["type"] == "data:image/jpeg;base64"
        read = np.asarray(sent[0]["image"].convert("RGB"))
    else:
        read = support.canvas_pixels(page, "#picture")
    assert np.array_equal(ink, drawn(paper.ink_levels(read), width, height)), "the function's ink, pixel for pixel"

    assert placed_boxes(page, INK_BOXES) == placed
    for digit in range(len(made.text)):
        assert (ink[covered(placed[digit:digit + 1], height, width)] < 255).mean() > 0.1, f"no ink in box {digit}"
    beyond = ~covered(placed, height, width, MARGIN)
    assert (ink[beyond] < 255).mean() < 0.001, "ink outside the digits' boxes"
    plain = drawn(preprocessing.ink_levels(read), width, height)
    assert (plain[beyond] < 255).mean() > 0.2, f"without the light and paper taken out, the {name} would be ink"

    # What the model saw: the function's own input for each digit, the candidate of its box.
    found = segmentation.find(paper.ink_levels(read))
    candidates = {tuple(found.box(candidate)): candidate for candidate in found.candidates}
    for tile, (x, y, box_width, box_height) in enumerate(placed):
        box = tuple(round(side) for side in (x * width, y * height, box_width * width, box_height * height))
        model_saw = found.digit_image(candidates[box])
        seen = support.canvas_pixels(page, f"#model-view-frame .model-input:nth-child({tile + 1})")[..., 0] / 255
        # In server mode the page cuts each digit's ink by its box, the function by its strokes.
        assert np.abs(seen - model_saw).mean() < 0.01, f"digit {tile} is not what the model saw"

    assert page.evaluate("document.scrollingElement.scrollHeight") <= support.LAPTOP["height"]
    assert page.evaluate(INK_VIEW_FITS)


COUNT_INK_ON_THE_PAGE = """() => {
    window.inkFoundOnThePage = 0;
    const find = DigitsPaper.inkLevels;
    DigitsPaper.inkLevels = (...args) => { window.inkFoundOnThePage += 1; return find(...args); };
}"""


def test_in_browser_mode_a_photos_ink_is_found_once_and_off_the_main_thread(open_page, server, mnist):
    """The reading reads the ink the worker found for the ink view: the page's main thread,
    which a 1024 x 768 photo's ink would hold for a few hundred milliseconds, finds none."""
    made = paper_photo(mnist, "shadow")
    page = open_in(open_page, server, "browser")
    page.evaluate(COUNT_INK_ON_THE_PAGE)
    assert support.open_picture(page, made.jpeg, "shadow.jpg", "image/jpeg") == "done", page.inner_text("#message")
    assert page.inner_text("#output") == made.text
    shown_ink(page, "browser")
    assert page.get_attribute("#ink-view", "data-where") == "worker"
    assert page.evaluate("window.inkFoundOnThePage") == 0


def test_without_the_ink_worker_the_ink_is_found_on_the_page(open_page, server, mnist):
    """A worker that will not start (its script refused): the service's answer comes all the
    same, and the same ink, found on the page itself once the service has answered."""
    made = paper_photo(mnist, "shadow")
    page = open_in(open_page, server, "server", service_workers="block")
    page.route("**/ink-worker.js", lambda route: route.fulfill(status=404, body="not here"))
    sent = sent_pictures(page)
    assert support.open_picture(page, made.jpeg, "shadow.jpg", "image/jpeg") == "done", page.inner_text("#message")
    assert page.inner_text("#output") == made.text
    ink = shown_ink(page, "server")
    assert page.get_attribute("#ink-view", "data-where") == "page"
    assert np.array_equal(ink, drawn(paper.ink_levels(np.asarray(sent[0]["image"].convert("RGB"))), *ink.shape[::-1]))


@pytest.mark.parametrize("how", ["drop", "paste"])
def test_a_picture_dropped_on_the_pad_or_pasted_is_read(open_page, server, how, mnist):
    expected = sheet(mnist, seed=3, width=800, height=400, digits=3)
    page = open_in(open_page, server, "server")
    state = support.open_picture(page, encode(expected.pixels), "image.png", "image/png", how=how)
    assert state == "done", page.inner_text("#message")
    assert_read_with_a_box_per_digit(page, expected)
    assert "is-dropping" not in page.get_attribute("#pad", "class")


def test_a_file_dragged_over_the_pad_shows_where_it_goes(open_page, server):
    page = open_in(open_page, server, "server")
    assert page.is_hidden(".pad-drop")
    page.evaluate("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(['x'], 'photo.jpg', {type: 'image/jpeg'}));
        document.querySelector('#pad').dispatchEvent(
            new DragEvent('dragenter', {bubbles: true, cancelable: true, dataTransfer: transfer}));
    }""")
    assert page.is_visible(".pad-drop")
    assert page.inner_text(".pad-drop") == "Drop the picture to read it"


def test_the_button_opens_the_file_chooser_from_the_keyboard(open_page, server, mnist):
    """"Open a picture" is a button in the tab order: Enter on it opens the browser's file
    chooser (on a phone, the camera or the gallery: images only, the camera not forced)."""
    expected = sheet(mnist, seed=4, width=900, height=600, digits=2)
    page = open_in(open_page, server, "server")
    chooser_input = page.locator("#picture-input")
    assert chooser_input.get_attribute("accept") == "image/*"
    assert chooser_input.get_attribute("capture") is None
    assert page.get_by_role("button", name="Open a picture").is_visible()
    # Playwright takes over the browser's file dialog once a page listens for it, without
    # waiting for the browser to agree: listening early leaves it the steps below to do so.
    page.on("filechooser", lambda _chooser: None)
    page.focus("#reset")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "open-picture"
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    assert not chooser.value.is_multiple()
    before = support.answers_shown(page)
    chooser.value.set_files(files=[{"name": "two.png", "mimeType": "image/png", "buffer": encode(expected.pixels)}])
    assert support.wait_until_settled(page, before) == "done", page.inner_text("#message")
    assert page.inner_text("#output") == expected.text


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_clear_returns_to_the_drawing_pad(open_page, server, mode, mnist):
    expected = sheet(mnist, seed=5, width=800, height=500, digits=2)
    page = open_in(open_page, server, mode)
    assert support.open_picture(page, encode(expected.pixels), "number.png", "image/png") == "done"
    assert page.is_visible("#picture") and page.locator(BOXES).count() == 2
    assert page.is_disabled("#undo")
    shown_ink(page, mode)
    assert page.is_visible("#ink") and page.locator(INK_BOXES).count() == 2

    page.click("#reset")
    assert page.is_hidden("#picture") and page.is_hidden("#picture-note")
    assert page.is_hidden("#ink-view") and page.locator(INK_BOXES).count() == 0
    assert page.locator(BOXES).count() == 0 and page.inner_text("#output") == ""
    assert page.inner_text("#confidence") == "Draw a number, then press Recognise."
    # The pad is back, empty: what is drawn now is what is read.
    assert support.recognise(page) == "hint"
    support.draw_digit(page, 7)
    assert support.recognise(page) == "done", page.inner_text("#message")
    assert page.inner_text("#output") == "7"
    assert page.locator("#pad-boxes .digit-box").count() == 1


def test_changing_mode_reads_the_picture_again(open_page, server, mnist):
    expected = sheet(mnist, seed=6, width=800, height=500, digits=3)
    page = open_in(open_page, server, "server")
    page.check("#live")
    assert support.open_picture(page, encode(expected.pixels), "number.png", "image/png") == "done"
    assert "by the recognition service" in page.inner_text("#details")
    before = support.answers_shown(page)
    support.choose_mode(page, "browser")
    support.wait_for_new_answer(page, before)
    assert "in this browser" in page.inner_text("#details")
    assert page.inner_text("#picture-note") == f"number.png: 800{BY}500 pixels."
    assert_read_with_a_box_per_digit(page, expected)
    shown_ink(page, "browser")  # the ink view follows the reading
    assert page.locator(INK_BOXES).count() == 3


@pytest.mark.parametrize(("name", "mime", "content", "why"), [
    ("notes.txt", "text/plain", b"2024\n", "notes.txt is not a picture (text/plain)"),
    ("broken.png", "image/png", b"\x89PNG\r\n\x1a\n not really",
     "broken.png could not be opened as a picture in this browser"),
], ids=["text", "broken-png"])
def test_a_file_that_is_not_a_picture_is_refused_in_words(open_page, server, name, mime, content, why):
    page = open_in(open_page, server, "server")
    support.draw_digit(page, 3)
    requests = []
    page.on("request", lambda request: requests.append(request.url) if "/predict" in request.url else None)
    assert support.open_picture(page, content, name, mime) == "error"
    assert page.inner_text("#message") == f"{why}: open a photo, or a picture file such as a PNG or a JPEG."
    assert page.inner_text("#output") == ""
    assert requests == [], "nothing is sent"
    assert page.is_hidden("#picture")
    # The drawing is still there, and still read.
    assert support.recognise(page) == "done"
    assert page.inner_text("#output") == "3"


# Refusals the real service makes, asked for directly: a body over its limit, and a type of
# file it does not read. The page's request is then answered with the same words.
REFUSALS = {
    413: {"content": b"\0" * (5 * 1024 * 1024), "headers": {"Content-Type": "image/png"}},
    415: {"content": b"%PDF-1.7", "headers": {"Content-Type": "application/pdf"}},
}


@pytest.mark.parametrize("status", sorted(REFUSALS))
def test_a_picture_the_service_refuses_shows_its_words(open_page, server, mnist, status):
    refusal = httpx.post(f"{server}/predict", **REFUSALS[status])
    assert refusal.status_code == status
    detail = refusal.json()["detail"]
    expected = sheet(mnist, seed=7, width=800, height=500, digits=2)
    page = open_in(open_page, server, "server", service_workers="block")
    page.route("**/predict", lambda route: route.fulfill(status=status, content_type="application/json",
                                                         body=refusal.text))
    assert support.open_picture(page, encode(expected.pixels), "number.png", "image/png") == "error"
    assert page.inner_text("#message") == (
        f"The recognition service could not use the picture: {detail} (error {status}).")
    assert page.inner_text("#output") == "" and page.locator(BOXES).count() == 0
    assert page.is_visible("#picture"), "the picture stays, to be read again or cleared"


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_a_blank_sheet_says_no_digit_was_found(open_page, server, mode):
    blank = jpeg(np.full((900, 1200), 250, dtype=np.uint8))
    page = open_in(open_page, server, mode)
    assert support.open_picture(page, blank, "blank.jpg", "image/jpeg") == "error"
    message = page.inner_text("#message")
    if mode == "server":
        refusal = httpx.post(f"{server}/predict", content=blank, headers={"Content-Type": "image/jpeg"})
        assert refusal.status_code == 422
        assert message == f"The recognition service could not use the picture: {refusal.json()['detail']} (error 422)."
    else:
        assert message == "No digit found in this picture: it is blank, or its marks are too faint to read."
    assert page.inner_text("#output") == ""


def test_an_unreachable_service_offers_to_read_the_picture_in_the_browser(open_page, server, mnist):
    expected = sheet(mnist, seed=8, width=800, height=500, digits=3)
    dead = f"http://127.0.0.1:{servers.free_port()}"
    page = open_page(f"{server}/?api={dead}&mode=server")
    page.uncheck("#live")
    assert support.open_picture(page, encode(expected.pixels), "number.png", "image/png") == "error"
    assert page.inner_text("#message").startswith("Connection lost")
    before = support.answers_shown(page)
    page.click("#message button")
    support.wait_for_new_answer(page, before)
    assert page.input_value("#mode") == "browser"
    assert_read_with_a_box_per_digit(page, expected)


def test_a_picture_on_a_phone(open_page, server, mnist):
    """On a 360-pixel phone: the button on its own row, the picture inside the pad, nothing
    wider than the screen, and the answer brought into view."""
    expected = sheet(mnist, seed=9, width=900, height=1200, digits=3)
    page = open_page(f"{server}/?mode=server", viewport=support.PHONE, scale=2, touch=True)
    button, pad = page.locator("#open-picture").bounding_box(), support.pad_box(page, "#pad")
    assert button["width"] > 0.9 * pad["width"] and button["height"] >= 44
    assert support.open_picture(page, jpeg(expected.pixels), "photo.jpg", "image/jpeg") == "done"
    shown = page.locator("#picture").bounding_box()
    pad = page.locator("#pad").bounding_box()
    assert pad["x"] - 1 <= shown["x"] and shown["x"] + shown["width"] <= pad["x"] + pad["width"] + 1
    assert pad["y"] - 1 <= shown["y"] and shown["y"] + shown["height"] <= pad["y"] + pad["height"] + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= support.PHONE["width"]
    assert_read_with_a_box_per_digit(page, expected)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_picture_shown_has_no_accessibility_failures(open_page, server, scheme, mnist):
    """A photo of paper with the ink found in it beside it, each named for a screen reader."""
    made = paper_photo(mnist, "ruled")
    page = open_in(open_page, server, "server", color_scheme=scheme, bypass_csp=True)
    assert support.open_picture(page, made.jpeg, "ruled.jpg", "image/jpeg") == "done"
    shown_ink(page, "server")
    assert page.locator(BOXES).count() == page.locator(INK_BOXES).count() == len(made.text)
    assert page.is_visible("#picture-note") and page.is_visible("#ink")
    assert page.get_by_role("img", name="The ink the reading found in ruled.jpg", exact=False).is_visible()
    assert page.inner_text("#ink-view figcaption") == "The ink it found"
    assert support.accessibility_violations(page) == []
