"""How the page looks and reads: it fits a laptop screen, says what it has not seen yet,
labels its bars as percentages, shows the model's version once, describes the network
its card names, stays calm in dark mode, keeps the answer in view on a phone, and has no
accessibility failures axe-core can find."""

from __future__ import annotations

import json
import re

import pytest

from tests.support import PROJECT_ROOT
from tests.support import browser as support

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


def test_bar_labels_read_as_percentages(open_page, server):
    page = open_page(f"{server}/")
    support.draw_digit(page, 6)
    assert support.recognise(page) == "done"
    values = page.eval_on_selector_all("#probabilities .value", "items => items.map(item => item.textContent)")
    assert len(values) == len(CARD["classes"])
    assert all(re.fullmatch(r"(<1|>99|\d{1,3})%", value) for value in values), values


def test_the_model_is_described_once_from_its_card(open_page, server):
    page = open_page(f"{server}/")
    page.wait_for_function("() => document.querySelector('#about-model').dataset.version")
    about = page.inner_text("#about-model")
    assert CARD["version"] in about
    assert f"{CARD['architecture']['parameters']:,}" in about
    assert "A convolutional network" in about
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
    about = page.inner_text("#about-model")
    assert "A multilayer perceptron with 118,282 parameters (784 - 128 - 128 - 10)" in about
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
    assert support.accessibility_violations(page) == []
