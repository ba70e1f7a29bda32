"""Numbers, not just digits: the page reads a number drawn with mouse strokes in both modes,
shows it in large type with each digit's confidence, boxes the digits on the drawing, shows
what the model saw for each, names the digit it is not sure of by its place, shows a mark
that is no digit as "?" and names it by its place too, and lets the chart show any digit;
a single digit still shows as it always did."""

from __future__ import annotations

import itertools
import json
from urllib.parse import urlparse

import pytest

from tests.support import browser as support
from tests.support.servers import WEB_DIR

CARD = json.loads((WEB_DIR / "model/card.json").read_text())

TILES = "#model-view-frame .model-input"
BOXES = "#pad-boxes .digit-box"
CHOICES = "#digits .digit-choice"

# Each tile's lit pixels and its corner, as test_recognition reads the one tile.
TILE_INK = f"""() => [...document.querySelectorAll('{TILES}')].map(tile => {{
    const pixels = tile.getContext('2d').getImageData(0, 0, tile.width, tile.height).data;
    let lit = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i] > 128) lit++;
    return {{side: tile.width, lit, corner: pixels[0], visible: getComputedStyle(tile).visibility === 'visible'}};
}})"""


def digit_answer(digit: int, probabilities: dict[int, float], box: list[int], *, uncertain: bool,
                 not_a_digit: bool = False) -> dict:
    """One digit of a service answer, as POST /predict gives it (`not_a_digit` only when true)."""
    listed = [probabilities.get(index, 0.0) for index in range(10)]
    entry = {"digit": digit, "confidence": listed[digit], "probabilities": listed, "uncertain": uncertain,
             "box": box}
    if not_a_digit:
        entry["not_a_digit"] = True
    if uncertain:
        ranked = sorted((p, index) for index, p in probabilities.items() if p >= 0.05)[::-1][:3]
        entry["alternatives"] = [{"digit": index, "probability": p} for p, index in ranked]
    return entry


def number_answer(*digits: dict) -> dict:
    """A service answer for a number: the top-level fields are its least sure digit's."""
    least = min(digits, key=lambda entry: entry["confidence"])
    return {**least, "uncertain": any(entry["uncertain"] for entry in digits),
            "number": "".join(str(entry["digit"]) for entry in digits), "digits": list(digits),
            "model_version": CARD["version"]}


# 1449 on a 560 x 280 picture: sure of the 1 and the 9, not of the first 4 (or a 9?) nor,
# less so, of the second.
NOT_SURE_OF_TWO = number_answer(
    digit_answer(1, {1: 0.99, 7: 0.01}, [60, 60, 40, 160], uncertain=False),
    digit_answer(4, {4: 0.55, 9: 0.42, 7: 0.03}, [170, 60, 90, 160], uncertain=True),
    digit_answer(4, {4: 0.87, 1: 0.045, 9: 0.045, 7: 0.04}, [290, 60, 90, 160], uncertain=True),
    digit_answer(9, {9: 0.97, 4: 0.03}, [410, 60, 90, 160], uncertain=False),
)
# Near-uniform probabilities: what the model makes of a scribble.
SCRIBBLE = {5: 0.106, 8: 0.105, 9: 0.105, **dict.fromkeys((0, 1, 2, 3, 4, 6, 7), 0.098)}
# ?41? on a 560 x 280 picture: two marks that are no digit around a 4 it doubts and a sure 1.
TWO_MARKS = number_answer(
    digit_answer(5, SCRIBBLE, [40, 60, 90, 160], uncertain=True, not_a_digit=True),
    digit_answer(4, {4: 0.55, 9: 0.42, 7: 0.03}, [170, 60, 90, 160], uncertain=True),
    digit_answer(1, {1: 0.99, 7: 0.01}, [300, 60, 40, 160], uncertain=False),
    digit_answer(5, SCRIBBLE, [410, 60, 90, 160], uncertain=True, not_a_digit=True),
)
ALL_SURE = number_answer(
    digit_answer(3, {3: 0.9995, 5: 0.0005}, [80, 60, 100, 160], uncertain=False),
    digit_answer(0, {0: 0.97, 6: 0.03}, [230, 60, 100, 160], uncertain=False),
    digit_answer(5, {5: 0.99, 3: 0.01}, [380, 60, 100, 160], uncertain=False),
)


def page_answering(open_page, server: str, body: dict, **options):
    """The page in server mode, the service's answer to every drawing replaced by `body`."""
    page = open_page("about:blank", ready=False, service_workers="block", **options)
    page.route("**/predict", lambda route: route.fulfill(json=body))
    page.goto(f"{server}/?mode=server")
    support.wait_until_ready(page)
    page.uncheck("#live")
    return page


def shown_probabilities_are(page, probabilities: list[float]) -> bool:
    return support.probabilities(page) == pytest.approx(probabilities)


def drawn_digit_centres(page, digits: list[int]) -> list[tuple[float, float]]:
    """Where draw_number put each digit's strokes: the middle of their extent, in the viewport."""
    box = support.pad_box(page, "#canvas")
    strokes = support.number_strokes(digits, box["width"] / box["height"])
    per_digit = []
    for digit in digits:
        count = len(support.digit_strokes(digit))
        per_digit.append([point for stroke in strokes[:count] for point in stroke])
        strokes = strokes[count:]
    centres = []
    for points in per_digit:
        placed = [support.on_pad(box, x, y) for x, y in points]
        xs, ys = [x for x, _ in placed], [y for _, y in placed]
        centres.append(((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2))
    return centres


def wait_for_the_model(page) -> None:
    page.wait_for_selector("#model-status[data-state='ready'], #model-status[data-state='failed']",
                           timeout=support.ANSWER_TIMEOUT_MS)
    assert page.get_attribute("#model-status", "data-state") == "ready", page.inner_text("#message")


@pytest.mark.parametrize("mode", ["server", "browser"])
@pytest.mark.parametrize("digits", [[1, 7], [3, 0, 5]], ids=["17", "305"])
def test_a_number_drawn_with_the_mouse_is_read_boxed_and_shown_digit_by_digit(open_page, server, mode, digits):
    """The real service (server mode) or the page's own reading (browser mode): the number in
    large type, one box on the drawing around each digit's strokes, one tile per digit, one
    button per digit with its confidence. Server mode sends the canvas as ever, and asks for
    a number (the service's default)."""
    number = "".join(map(str, digits))
    page = open_page(f"{server}/?mode={mode}")
    page.uncheck("#live")
    if mode == "browser":
        wait_for_the_model(page)
    support.draw_number(page, digits)
    requests = []
    page.on("request", lambda request: requests.append(request) if "/predict" in request.url else None)
    assert support.recognise(page) == "done", page.inner_text("#message")

    assert page.inner_text("#output") == number
    assert page.get_attribute("#result", "data-number") == number
    assert page.get_attribute("#result", "data-digits") == str(len(digits))
    text = page.inner_text("#confidence")
    assert text.startswith((f"It is {number}, each digit ", "Not sure of the ")), text
    if mode == "server":
        assert len(requests) == 1
        assert urlparse(requests[0].url).path == "/predict" and "read=" not in urlparse(requests[0].url).query
        assert json.loads(requests[0].post_data)["image"].startswith("data:image/png;base64,")
    else:
        assert requests == []

    # One box per digit, left to right, each around the strokes drawn for its digit.
    boxes = [page.locator(BOXES).nth(index).bounding_box() for index in range(page.locator(BOXES).count())]
    assert len(boxes) == len(digits)
    assert [page.locator(BOXES).nth(index).inner_text() for index in range(len(digits))] == list(number)
    for box, (x, y) in zip(boxes, drawn_digit_centres(page, digits), strict=True):
        assert box["x"] < x < box["x"] + box["width"] and box["y"] < y < box["y"] + box["height"], (box, x, y)
    assert all(left["x"] + left["width"] < right["x"] for left, right in itertools.pairwise(boxes))

    # One tile per digit, each a white digit on black.
    tiles = page.evaluate(TILE_INK)
    assert len(tiles) == len(digits)
    assert all(tile["side"] == 28 and tile["lit"] > 20 and tile["corner"] == 0 and tile["visible"] for tile in tiles)

    # Each digit with its confidence, one of them the chart's.
    choices = page.locator(CHOICES)
    assert choices.count() == len(digits)
    for index, digit in enumerate(digits):
        label = choices.nth(index).inner_text()
        assert label.startswith(str(digit)) and label.endswith("%"), label
    assert page.locator(f"{CHOICES}[aria-pressed='true']").count() == 1
    assert page.is_visible("#digit-picker")


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_a_one_touching_its_neighbour_is_read_on_a_second_look(open_page, server, mode):
    """A 3 touching a 1 (the shared vector), opened as a picture: one part too narrow to be cut
    at once, which the model reads as no digit, so it is cut on a second look and read as
    31, in both modes: the function's stages, or the page's port with the model in TF.js."""
    from tests.support.images import encode
    from tests.support.vectors import VECTORS_DIR, vector_pixels

    vector = json.loads((VECTORS_DIR / "numbers" / "mnist-touching-narrow.json").read_text())
    page = open_page(f"{server}/?mode={mode}")
    page.uncheck("#live")
    if mode == "browser":
        wait_for_the_model(page)
    assert support.open_picture(page, encode(vector_pixels(vector)), "31.png", "image/png") == "done", (
        page.inner_text("#message"))
    assert page.inner_text("#output") == vector["label"] == "31"
    assert page.locator("#picture-boxes .digit-box").count() == 2
    assert page.locator(TILES).count() == 2


PHONE = {"width": 390, "height": 844}


def test_a_number_written_with_a_finger_on_a_phone(open_page, server):
    """On a 390-pixel phone, a number written across the pad with a finger is read, and the
    answer comes into view."""
    page = open_page(f"{server}/?mode=server", viewport=PHONE, scale=2, touch=True)
    page.uncheck("#live")
    pad = support.pad_box(page, "#canvas")
    support.draw_digit_by_touch(page, None, strokes=support.number_strokes([4, 2], pad["width"] / pad["height"]))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("window.scrollY") == 0, "writing must not scroll the page"
    assert support.recognise(page) == "done", page.inner_text("#message")
    page.wait_for_function("""() => {
        const r = document.querySelector('#output').getBoundingClientRect();
        return r.top >= 0 && r.bottom <= innerHeight;
    }""")
    assert page.inner_text("#output") == "42"
    assert page.locator(BOXES).count() == 2 and page.locator(TILES).count() == 2


@pytest.mark.parametrize(("viewport", "least_width"), [(support.LAPTOP, 560), (PHONE, 340)], ids=["laptop", "phone"])
def test_the_pad_has_room_for_a_number(open_page, server, viewport, least_width):
    """Twice as wide as high on a laptop and on a phone, so the drawing has one shape; on a
    laptop at least as wide as the picture read (560 x 280), on a phone nearly all its width."""
    page = open_page(f"{server}/", viewport=viewport)
    pad = support.pad_box(page, "#canvas")
    assert pad["width"] == pytest.approx(2 * pad["height"], abs=1)
    assert pad["width"] >= least_width
    size = page.evaluate("""() => {
        const canvas = document.querySelector('#canvas');
        return [canvas.width, canvas.height];
    }""")
    assert size == [round(pad["width"]), round(pad["height"])]


def test_not_sure_names_each_digit_it_doubts_by_its_place(open_page, server):
    page = page_answering(open_page, server, NOT_SURE_OF_TWO)
    support.draw_number(page, [1, 4, 4, 9])
    assert support.recognise(page) == "done"
    assert page.inner_text("#output") == "1449"
    assert page.get_attribute("#result", "data-sure") == "false"
    assert "is-uncertain" in page.get_attribute("#output", "class")
    assert page.inner_text("#confidence") == (
        "Not sure of the second digit: a 4 (55.0%) or a 9 (42.0%)? "
        "Nor of the third: probably a 4 (87.0%).")
    # The digits it doubts are marked in the number, on their buttons and on their boxes.
    assert page.eval_on_selector_all("#output .is-unsure", "spans => spans.length") == 2
    unsure = [index for index in range(4) if "is-unsure" in page.locator(CHOICES).nth(index).get_attribute("class")]
    assert unsure == [1, 2]
    assert [index for index in range(4)
            if "is-unsure" in page.locator(BOXES).nth(index).get_attribute("class")] == [1, 2]
    assert page.locator(CHOICES).nth(1).get_attribute("aria-label") == "Second digit: 4, not sure, 55.0%"


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_a_mark_that_is_no_digit_shows_as_a_question_mark_named_by_its_place(open_page, server, mode):
    """A 2, a star and a 4 drawn with the mouse, read by the real service or in this browser:
    the star is below the card's level, so it is "?" in the number, on its button and on its
    box, and named by its place, with no guesses; the digits around it are read as ever."""
    page = open_page(f"{server}/?mode={mode}")
    page.uncheck("#live")
    if mode == "browser":
        wait_for_the_model(page)
    support.draw_number(page, [2, support.STAR, 4])
    assert support.recognise(page) == "done", page.inner_text("#message")
    assert page.inner_text("#output") == "2?4"
    assert page.get_attribute("#result", "data-number") == "2?4"
    assert page.inner_text("#confidence") == "The second mark does not look like a digit."
    # The chart starts on the mark: its likeliest digit is below the card's level.
    assert page.inner_text("#chart-caption") == "Probability of each digit, for the second mark"
    assert max(support.probabilities(page)) < CARD["uncertainty"]["not_a_digit_below"]
    assert page.locator("#probabilities li.is-best").count() == 0
    assert [page.locator(BOXES).nth(index).inner_text() for index in range(3)] == ["2", "?", "4"]
    assert [page.locator(CHOICES).nth(index).get_attribute("aria-label").split(":")[0] for index in range(3)] == [
        "First digit", "Second mark", "Third digit"]
    assert page.locator(CHOICES).nth(1).get_attribute("aria-label") == "Second mark: not a digit"
    assert page.locator(CHOICES).nth(1).inner_text().strip() == "?"
    assert page.evaluate("document.scrollingElement.scrollHeight") <= support.LAPTOP["height"]


def test_marks_that_are_no_digit_and_a_digit_it_doubts_are_named_together(open_page, server):
    page = page_answering(open_page, server, TWO_MARKS)
    support.draw_number(page, [support.STAR, 4, 1, support.STAR])
    assert support.recognise(page) == "done"
    assert page.inner_text("#output") == "?41?"
    assert page.inner_text("#confidence") == (
        "The first and fourth marks do not look like digits. Not sure of the second digit: a 4 (55.0%) or a 9 (42.0%)?")
    # The "?" of each mark is the number's own: no question mark is added after it.
    assert page.evaluate("getComputedStyle(document.querySelector('#output'), '::after').content") == "none"
    assert [page.locator(CHOICES).nth(index).inner_text().split() for index in range(4)] == [
        ["?"], ["4", "55.0%"], ["1", "99.0%"], ["?"]]


def test_a_number_of_marks_none_of_them_a_digit(open_page, server):
    body = number_answer(digit_answer(5, SCRIBBLE, [60, 60, 160, 160], uncertain=True, not_a_digit=True),
                         digit_answer(5, SCRIBBLE, [320, 60, 160, 160], uncertain=True, not_a_digit=True))
    page = page_answering(open_page, server, body)
    support.draw_number(page, [support.STAR, support.STAR])
    assert support.recognise(page) == "done"
    assert page.inner_text("#output") == "??"
    assert page.inner_text("#confidence") == "None of these marks looks like a digit."


def test_the_chart_shows_the_least_sure_digit_and_any_digit_chosen(open_page, server):
    page = page_answering(open_page, server, NOT_SURE_OF_TWO)
    support.draw_number(page, [1, 4, 4, 9])
    assert support.recognise(page) == "done"
    digits = NOT_SURE_OF_TWO["digits"]
    # First the digit it is least sure of: the second.
    assert shown_probabilities_are(page, digits[1]["probabilities"])
    assert page.inner_text("#chart-caption") == "Probability of each digit, for the second digit"
    assert page.get_attribute(f"{CHOICES} >> nth=1", "aria-pressed") == "true"
    assert "is-selected" in page.locator(TILES).nth(1).get_attribute("class")

    # A click on the last digit's button, then the keyboard on the first's.
    page.locator(CHOICES).nth(3).click()
    assert shown_probabilities_are(page, digits[3]["probabilities"])
    assert page.inner_text("#chart-caption") == "Probability of each digit, for the fourth digit"
    assert [page.locator(CHOICES).nth(index).get_attribute("aria-pressed") for index in range(4)] == [
        "false", "false", "false", "true"]
    assert "is-selected" in page.locator(BOXES).nth(3).get_attribute("class")
    page.locator(CHOICES).nth(0).focus()
    page.keyboard.press("Enter")
    assert shown_probabilities_are(page, digits[0]["probabilities"])
    assert page.get_attribute(f"{CHOICES} >> nth=0", "aria-pressed") == "true"
    # Enter on a digit's button chose the digit; it did not recognise again.
    assert support.answers_shown(page) == 1


def test_a_number_it_is_sure_of_and_the_number_announced(open_page, server):
    page = page_answering(open_page, server, ALL_SURE)
    support.draw_number(page, [3, 0, 5])
    assert support.recognise(page) == "done"
    assert page.get_attribute("#result", "data-sure") == "true"
    assert page.inner_text("#output") == "305"
    assert page.inner_text("#confidence") == "It is 305, each digit at least 97.0% sure."
    assert [page.locator(CHOICES).nth(index).inner_text().split() for index in range(3)] == [
        ["3", ">99.9%"], ["0", "97.0%"], ["5", "99.0%"]]
    # Screen readers hear the number and the sentence: both are in the live region.
    live = page.eval_on_selector("#output", "output => output.closest('[aria-live]').textContent")
    assert "305" in live and "It is 305" in live


def test_the_boxes_go_when_the_drawing_changes_and_everything_when_it_is_cleared(open_page, server):
    page = page_answering(open_page, server, ALL_SURE)
    support.draw_number(page, [3, 0, 5])
    assert support.recognise(page) == "done"
    assert page.locator(BOXES).count() == 3
    # Boxes sit where the answer put them: the second box's middle at (280, 140) of the 560 x
    # 280 picture, which is centred on the pad and as high as it.
    pad, second = support.pad_box(page, "#canvas"), page.locator(BOXES).nth(1).bounding_box()
    assert abs(second["x"] + second["width"] / 2 - (pad["x"] + pad["width"] / 2)) < 2
    assert abs(second["y"] + second["height"] / 2 - (pad["y"] + pad["height"] / 2)) < 2

    support.draw_digit(page, 1)  # one more stroke: the boxes are no longer the drawing's
    assert page.locator(BOXES).count() == 0
    assert page.inner_text("#output") == "305"

    support.clear_pad(page)
    assert page.inner_text("#output") == ""
    assert page.is_hidden("#digit-picker")
    assert page.locator(TILES).count() == 1
    assert "is-empty" in page.get_attribute("#model-view-frame", "class")
    assert page.inner_text("#chart-caption") == "Probability of each digit"
    assert page.inner_text("#confidence") == "Draw a number, then press Recognise."


def test_a_single_digit_shows_as_it_always_did(open_page, server):
    """One digit, read by the real service: one tile, the sentence and chart of a digit, no
    list of digits."""
    page = open_page(f"{server}/?mode=server")
    page.uncheck("#live")
    support.draw_digit(page, 7)
    assert support.recognise(page) == "done"
    assert page.inner_text("#output") == "7"
    assert page.inner_text("#confidence").startswith("It is a 7, ")
    assert page.is_hidden("#digit-picker")
    assert page.locator(TILES).count() == 1
    assert "is-several" not in page.get_attribute(".model-view", "class")
    assert page.inner_text("#chart-caption") == "Probability of each digit"
    assert page.get_attribute("#probabilities li.is-best", "data-digit") == "7"


def test_a_service_that_reads_one_digit_only_still_answers(open_page, server):
    """An older service (no number, no digits): its one digit, without a box."""
    body = {key: value for key, value in ALL_SURE["digits"][1].items() if key != "box"}
    page = page_answering(open_page, server, {**body, "model_version": CARD["version"]})
    support.draw_digit(page, 0)
    assert support.recognise(page) == "done"
    assert page.inner_text("#output") == "0"
    assert page.inner_text("#confidence") == "It is a 0, 97.0% sure."
    assert page.locator(BOXES).count() == 0 and page.locator(TILES).count() == 1


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_more_digits_than_a_number_may_have_are_refused_in_words(open_page, server, mode):
    """Thirteen ones, apart: the service (422) and the page's own reading both refuse them,
    saying why, and nothing of an answer is shown."""
    page = open_page(f"{server}/?mode={mode}")
    page.uncheck("#live")
    if mode == "browser":
        wait_for_the_model(page)
    support.draw_number(page, [1] * 13)
    assert support.recognise(page) == "error"
    message = page.inner_text("#message")
    assert "13" in message and "at most 12 digits" in message, message
    if mode == "server":
        assert "could not use the drawing" in message and "(error 422)" in message
    assert page.inner_text("#output") == "" and page.locator(BOXES).count() == 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_number_has_no_accessibility_failures(open_page, server, scheme):
    page = page_answering(open_page, server, NOT_SURE_OF_TWO, color_scheme=scheme, bypass_csp=True)
    support.draw_number(page, [1, 4, 4, 9])
    assert support.recognise(page) == "done"
    assert page.locator(BOXES).count() == 4 and page.locator(CHOICES).count() == 4
    assert support.accessibility_violations(page) == []
