"""How the page looks and reads: it fits a laptop screen in every state, says what it has
not seen yet, writes every percentage one way (the bars' too, each within its row), shows
the model's version once, describes the network its card names in plain words with the
details on request, stays calm in dark mode, keeps the answer in view on a phone, and has
no accessibility failures axe-core can find."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.support import PROJECT_ROOT, drawing
from tests.support import browser as support
from tests.support.images import encode

CARD = json.loads((PROJECT_ROOT / "web/model/card.json").read_text())

FITS_IN_VIEWPORT = """selector => {
    const r = document.querySelector(selector).getBoundingClientRect();
    return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
}"""

CORNER_AND_INK = """() => {
    const canvas = document.querySelector('#canvas');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const luminance = i => 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
    let darkest = 255, lightest = 0;
    for (let i = 0; i < data.length; i += 4) {
        darkest = Math.min(darkest, luminance(i));
        lightest = Math.max(lightest, luminance(i));
    }
    return {paper: luminance(0), darkest, lightest};
}"""


def test_everything_fits_a_laptop_screen_before_and_after_an_answer(open_page, server):
    page = open_page(f"{server}/?mode=browser")
    page.wait_for_selector("#model-status[data-state='ready']", timeout=support.ANSWER_TIMEOUT_MS)
    for _ in ("before", "after"):
        assert page.evaluate("document.documentElement.scrollHeight") <= support.LAPTOP["height"]
        for selector in ("#canvas", "#recognise", "#mode", "#live", ".shortcuts", "#model-status", "#output",
                         "#probabilities", "#model-view-frame"):
            assert page.evaluate(FITS_IN_VIEWPORT, selector), f"{selector} is not fully on screen"
        support.draw_digit(page, 3)
        assert support.recognise(page) == "done"


def photo_of_a_number(digits=(3, 7), width: int = 4000, height: int = 3000) -> bytes:
    """A picture as large as a phone's photo: dark digits written on white paper, as JPEG."""
    sheet = Image.new("L", (width, height), 255)
    pen = ImageDraw.Draw(sheet)
    size = 0.4 * height
    for index, digit in enumerate(digits):
        for stroke in drawing.strokes(digit, size=size, left=0.3 * width + index * size, top=0.3 * height):
            pen.line([tuple(point) for point in stroke], fill=20, width=round(size / 10), joint="curve")
    return encode(np.asarray(sheet), "JPEG", quality=90)


# A 0 and an 8 drawn over each other: a digit, but the model cannot tell which (in a
# number: the same in the unit square, placed as a digit is).
ZERO_AND_EIGHT = support.digit_strokes(0) + support.digit_strokes(8)
ZERO_AND_EIGHT_MARK = drawing.STROKES[0] + drawing.STROKES[8]


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_everything_fits_a_laptop_screen_in_every_state(open_page, server, mode):
    """At 1280 x 800 the page never scrolls, whatever it shows: the nudge on an empty pad,
    not sure, not a digit, a number with a digit it is not sure of, a photo with its note,
    and errors (in browser mode with the model's own line under the settings)."""
    page = open_page(f"{server}/?mode={mode}", service_workers="block")
    page.uncheck("#live")
    if mode == "browser":
        page.wait_for_selector("#model-status[data-state='ready']", timeout=support.ANSWER_TIMEOUT_MS)
    seen = {}

    def fits(state: str) -> None:
        page.mouse.move(0, 0)
        seen[state] = page.evaluate("document.scrollingElement.scrollHeight")

    fits("before any drawing")
    assert support.recognise(page) == "hint"
    fits("empty pad")
    for state, strokes, said in [("not sure", ZERO_AND_EIGHT, "Not sure: "),
                                 ("not a digit", support.W, "That does not look like a digit.")]:
        support.clear_pad(page)
        support.draw_digit(page, None, strokes=strokes)
        assert support.recognise(page) == "done"
        assert page.inner_text("#confidence").startswith(said)
        fits(state)
    support.clear_pad(page)
    support.draw_number(page, [2, ZERO_AND_EIGHT_MARK, 4])
    assert support.recognise(page) == "done"
    assert page.inner_text("#confidence").startswith("Not sure of the second digit: ")
    fits("number with a digit it is not sure of")
    support.clear_pad(page)
    support.draw_number(page, [1] * 13)
    assert support.recognise(page) == "error"
    assert "at most 12 digits" in page.inner_text("#message")
    fits("a number too long")
    if mode == "server":
        page.route("**/predict", lambda route: route.abort("connectionrefused"))
        assert support.recognise(page) == "error"
        assert page.inner_text("#message").startswith("Connection lost")
        fits("connection lost")
        page.unroute("**/predict")
    support.clear_pad(page)
    assert support.open_picture(page, photo_of_a_number(), "IMG_0001.jpg", "image/jpeg") == "done"
    assert "shrunk to 1024" in page.inner_text("#picture-note")
    fits("photo with its note")
    assert {state: height for state, height in seen.items() if height > support.LAPTOP["height"]} == {}, seen


def test_what_the_model_saw_is_an_empty_frame_before_any_drawing(open_page, server):
    page = open_page(f"{server}/")
    assert page.get_attribute("#model-view-frame", "class").split().count("is-empty") == 1
    assert page.is_hidden("#model-input") or page.evaluate(
        "getComputedStyle(document.querySelector('#model-input')).visibility") == "hidden"
    placeholder = page.evaluate("getComputedStyle(document.querySelector('#model-view-frame'), '::after').content")
    assert "Nothing drawn yet" in placeholder
    support.draw_digit(page, 1)
    assert support.recognise(page) == "done"
    assert "is-empty" not in page.get_attribute("#model-view-frame", "class")
    support.clear_pad(page)
    assert "is-empty" in page.get_attribute("#model-view-frame", "class")


# The one way the page writes a percentage: one decimal, never 100.0%, nor 0.0% for what is
# only small.
PERCENT = r"(?:>99\.9|<0\.1|\d{1,2}\.\d)%"

# Each bar's probability as written, and whether it fits its row without spilling into the next.
BAR_VALUES = """() => [...document.querySelectorAll('#probabilities li')].map(item => {
    const value = item.querySelector('.value'), row = item.getBoundingClientRect();
    const written = value.getBoundingClientRect();
    return {text: value.textContent, fits: value.scrollWidth <= value.clientWidth
            && written.left >= row.left - 0.5 && written.right <= row.right + 0.5};
})"""


@pytest.mark.parametrize("viewport", [support.LAPTOP, support.PHONE], ids=["laptop", "phone"])
def test_bar_labels_read_as_percentages_each_within_its_row(open_page, server, viewport):
    page = open_page(f"{server}/", viewport=viewport)
    page.uncheck("#live")
    support.draw_digit(page, 6)
    assert support.recognise(page) == "done"
    bars = page.evaluate(BAR_VALUES)
    assert len(bars) == len(CARD["classes"])
    assert all(re.fullmatch(PERCENT, bar["text"]) for bar in bars), bars
    # The widest the page writes, on every bar at once.
    page.evaluate("""() => document.querySelectorAll('#probabilities .value')
        .forEach((value, index) => { value.textContent = index % 2 ? '>99.9%' : '<0.1%'; })""")
    assert all(bar["fits"] for bar in page.evaluate(BAR_VALUES)), page.evaluate(BAR_VALUES)


def test_every_percentage_is_written_one_way(open_page, server):
    """The sentence, the likeliest digit's bar and, for a number, each digit's button write a
    probability the same way, and so does everything else on the page."""
    page = open_page(f"{server}/?mode=server")
    page.uncheck("#live")
    support.draw_digit(page, 1)
    assert support.recognise(page) == "done"
    best = page.inner_text("#probabilities li.is-best .value")
    assert page.inner_text("#confidence") == f"It is a 1, {best} sure."
    support.clear_pad(page)
    support.draw_number(page, [1, 7])
    assert support.recognise(page) == "done"
    for index in range(2):
        page.locator("#digits .digit-choice").nth(index).click()
        assert page.locator("#digits .digit-choice").nth(index).inner_text().split()[1] == page.inner_text(
            "#probabilities li.is-best .value")
    written = re.findall(r"[<>]?\d+(?:\.\d+)?\s?%", page.inner_text("body"))
    assert written and all(re.fullmatch(PERCENT, percent) for percent in written), written


def test_the_model_is_described_once_from_its_card_in_plain_words(open_page, server):
    """The footer names the model in words every visitor reads ("a convolutional network,
    99.6% right on MNIST's 10,000 test digits"); how it is built (its parameters, its
    architecture in the card's notation, its levels for "not sure" and "not a digit") only
    on request."""
    page = open_page(f"{server}/")
    page.wait_for_function("() => document.querySelector('#about-model').dataset.version")
    accuracy = f"{CARD['test']['accuracy'] * 100:.1f}%"
    assert page.inner_text("#about-model") == (
        f"Model {CARD['version']}: a convolutional network, {accuracy} right on MNIST's "
        f"{CARD['test']['digits']:,} test digits.")
    architecture = CARD["architecture"]["description"]
    assert page.is_hidden("#model-build")
    assert architecture not in page.inner_text("body")
    assert page.get_attribute("#model-details", "open") is None

    page.click("#model-details summary")
    built = page.inner_text("#model-build")
    assert page.is_visible("#model-build")
    assert f"A convolutional network with {CARD['architecture']['parameters']:,} parameters: {architecture}." in built
    rule = CARD["uncertainty"]
    assert (f"It is not sure of an answer below {rule['threshold'] * 100:.1f}% and says a mark is not a digit "
            f"below {rule['not_a_digit_below'] * 100:.1f}%.") in built
    assert page.get_attribute("#model-details a", "href") == "model/card.json"
    page.wait_for_function("() => document.querySelector('#about-service').dataset.state === 'answering'")
    assert page.inner_text("body").count(CARD["version"]) == 1


def test_another_network_and_other_class_names_come_from_the_card(open_page, server):
    """Nothing about the model is written into the page: a card naming an MLP and other
    class names changes the footer and the chart."""
    card = {**CARD, "classes": [f"c{index}" for index in range(10)],
            "architecture": {"name": "digits_mlp", "description": "784 - 128 - 128 - 10", "parameters": 118282}}
    page = open_page("about:blank", ready=False, service_workers="block")
    page.route("**/model/card.json", lambda route: route.fulfill(json=card))
    page.goto(f"{server}/?mode=server")
    support.wait_until_ready(page)
    page.wait_for_function("() => document.querySelector('#about-model').dataset.version")
    assert page.inner_text("#about-model").startswith(f"Model {CARD['version']}: a multilayer perceptron, ")
    page.click("#model-details summary")
    assert "A multilayer perceptron with 118,282 parameters: 784 - 128 - 128 - 10." in page.inner_text("#model-build")
    assert "convolutional" not in page.inner_text("body")
    labels = page.eval_on_selector_all("#probabilities .label", "items => items.map(item => item.textContent)")
    assert labels == card["classes"]
    support.draw_digit(page, 7)
    assert support.recognise(page) == "done"
    assert page.inner_text("#output") == "c7"


def test_dark_mode_has_a_dim_pad_with_light_ink_and_answers_the_same(open_page, server):
    answers = {}
    for scheme in ("light", "dark"):
        page = open_page(f"{server}/", color_scheme=scheme)
        support.draw_digit(page, 2)
        pixels = page.evaluate(CORNER_AND_INK)
        if scheme == "dark":
            assert pixels["paper"] < 60, "the pad should be dim in dark mode"
            assert pixels["lightest"] > 200, "the ink should be light in dark mode"
        else:
            assert pixels["paper"] > 240 and pixels["darkest"] < 60
        assert support.recognise(page) == "done"
        answers[scheme] = support.probabilities(page)
    # Recognition reads dark ink on white whatever the screen shows.
    assert answers["light"] == answers["dark"]


def test_on_a_phone_the_answer_is_in_view_after_recognise_and_no_keyboard_hint(open_page, server):
    page = open_page(f"{server}/", viewport=support.PHONE, scale=2, touch=True)
    page.uncheck("#live")
    support.draw_digit_by_touch(page, 9)
    assert support.recognise(page) == "done"
    page.wait_for_function(FITS_IN_VIEWPORT, arg="#output")
    assert page.inner_text("#output") == "9"
    assert page.is_hidden(".shortcuts")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_accessibility_failures(open_page, server, scheme):
    page = open_page(f"{server}/?mode=browser", color_scheme=scheme, bypass_csp=True)
    page.wait_for_selector("#model-status[data-state='ready']", timeout=support.ANSWER_TIMEOUT_MS)
    support.draw_digit(page, 4)
    assert support.recognise(page) == "done"
    page.click("#model-details summary")  # how the model is built, shown too
    assert page.is_visible("#model-build")
    assert support.accessibility_violations(page) == []
