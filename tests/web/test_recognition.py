"""Drawing digits with a real mouse in Chromium and reading the answer, in both modes,
with the page served by uvicorn and opened from disk."""

from __future__ import annotations

import httpx
import pytest

from tests.support import browser as support
from tests.support.drawing import STROKES

DIGITS = sorted(STROKES)
SAID_WHERE = {"server": "by the recognition service", "browser": "in this browser"}


def recognise_drawing(page, digit: int) -> str:
    support.clear_pad(page)
    support.draw_digit(page, digit)
    assert support.recognise(page) == "done", page.inner_text("#message")
    return page.inner_text("#output")


@pytest.mark.parametrize("mode", ["server", "browser"])
@pytest.mark.parametrize("opened", ["served", "from disk"])
def test_every_drawn_digit_is_recognised(open_page, server, disk_url, opened, mode):
    """A run of drawings on one page, as a person uses it: draw, recognise, clear. From disk,
    server mode asks the service that ?api= names, from `Origin: null`, which its CORS allows."""
    page = open_page(f"{server}/?mode={mode}" if opened == "served" else f"{disk_url}?api={server}&mode={mode}")
    assert page.input_value("#mode") == mode
    answers = {}
    for digit in DIGITS:
        answers[digit] = recognise_drawing(page, digit)
        assert page.get_attribute("#result", "data-mode") == mode
        assert SAID_WHERE[mode] in page.inner_text("#details")
    assert answers == {digit: str(digit) for digit in DIGITS}


def test_the_answer_comes_with_its_probabilities_model_input_time_and_version(open_page, server):
    page = open_page(f"{server}/?mode=server")
    recognise_drawing(page, 7)
    shown = support.probabilities(page)
    assert len(shown) == 10 and abs(sum(shown) - 1) < 1e-3
    assert max(range(10), key=shown.__getitem__) == 7
    assert page.get_attribute("#probabilities li.is-best", "data-digit") == "7"
    # Rounding never claims certainty: 99.996% reads ">99.9%".
    percent = shown[7] * 100
    assert page.inner_text("#confidence") == (
        f"It is a 7, {'>99.9' if percent > 99.9 else f'{percent:.1f}'}% sure.")
    # The 28x28 image the model saw: a white digit on black, drawn in the page.
    ink = page.evaluate("""() => {
        const pixels = document.querySelector('#model-input').getContext('2d').getImageData(0, 0, 28, 28).data;
        let lit = 0;
        for (let i = 0; i < pixels.length; i += 4) if (pixels[i] > 128) lit++;
        return {lit, corner: pixels[0]};
    }""")
    assert ink["lit"] > 20 and ink["corner"] == 0
    assert float(page.get_attribute("#result", "data-elapsed-ms")) > 0
    details = page.inner_text("#details")
    assert "Answered in" in details
    version = page.get_attribute("#result", "data-model-version")
    assert httpx.get(server + "/health").json()["model_version"] == version
    # The version is shown once, in the footer, read from the model card.
    assert version not in details
    assert page.inner_text("body").count(version) == 1
    assert version in page.inner_text("#about-model")


def test_server_and_browser_modes_agree_on_the_same_drawing(open_page, server):
    page = open_page(f"{server}/")
    for digit in (2, 5, 8):
        support.clear_pad(page)
        support.draw_digit(page, digit)
        answers = {}
        for mode in ("server", "browser"):
            support.choose_mode(page, mode)
            assert support.recognise(page) == "done", page.inner_text("#message")
            answers[mode] = (page.inner_text("#output"), support.probabilities(page),
                             page.get_attribute("#result", "data-model-version"))
        (server_digit, server_p, server_version), (browser_digit, browser_p, browser_version) = answers.values()
        assert server_version == browser_version
        assert server_digit == browser_digit
        assert max(abs(a - b) for a, b in zip(server_p, browser_p, strict=True)) <= 0.01, (server_p, browser_p)


def test_page_opened_from_disk_starts_in_browser_mode_and_talks_to_sam_local(open_page, disk_url):
    page = open_page(disk_url)
    # From disk there is usually no service, so the page starts in browser mode.
    assert page.input_value("#mode") == "browser"
    assert page.get_attribute("#about-service", "data-api") == "http://127.0.0.1:3000"
    # The card comes from model/model.js, fetch() being refused to a file:// page.
    page.wait_for_function("() => document.querySelector('#about-model').dataset.version")
    assert "right on MNIST" in page.inner_text("#about-model")


def test_page_talks_to_its_own_origin(open_page, server):
    page = open_page(server + "/")
    assert page.input_value("#mode") == "server"
    assert page.get_attribute("#about-service", "data-api") == server
    page.wait_for_function("() => document.querySelector('#about-service').textContent.includes('answering')")


def test_recognises_as_you_draw(open_page, server):
    page = open_page(server + "/")
    assert page.is_checked("#live")
    before = support.answers_shown(page)
    support.draw_digit(page, 4)
    support.wait_for_new_answer(page, before)
    assert page.inner_text("#output") == "4"


def test_mode_and_live_choice_survive_a_reload(open_page, server):
    page = open_page(server + "/")
    support.choose_mode(page, "browser")
    page.uncheck("#live")
    page.reload()
    support.wait_until_ready(page)
    assert page.input_value("#mode") == "browser"
    assert not page.is_checked("#live")
