"""The page says whether the model is sure, in words, in both modes: the service's own
judgement in server mode, the model card's rule in browser mode (served and from disk);
calm and accessible when it is not sure; "?" and no guesses for a scribble that is no
digit at all; and no made-up rule when the card has none."""

from __future__ import annotations

import json

import pytest

from tests.support import browser as support
from tests.support.cards import REMOVE, model_copy, web_copy
from tests.support.servers import WEB_DIR, api_server

CARD = json.loads((WEB_DIR / "model/card.json").read_text())
NOT_A_DIGIT_BELOW = CARD["uncertainty"]["not_a_digit_below"]
# A 4 and a 9 drawn over each other: no model is certain of that, so a threshold of 1 doubts it.
FOUR_AND_NINE = support.digit_strokes(4) + support.digit_strokes(9)
DOUBT_EVERYTHING = {"uncertainty": {"threshold": 1.0}}


def answer(digit: int, probabilities: dict[int, float], *, uncertain: bool, not_a_digit: bool = False) -> dict:
    """A service answer, as POST /predict gives it (`not_a_digit` only when true)."""
    listed = [probabilities.get(index, 0.0) for index in range(10)]
    body = {"digit": digit, "confidence": listed[digit], "probabilities": listed, "uncertain": uncertain,
            "model_version": CARD["version"]}
    if not_a_digit:
        body["not_a_digit"] = True
    if uncertain:
        ranked = sorted((p, index) for index, p in probabilities.items() if p >= 0.05)[::-1][:3]
        body["alternatives"] = [{"digit": index, "probability": p} for p, index in ranked]
    return body


def page_answering(open_page, server: str, body: dict):
    """The page in server mode, with the service's answer to every drawing replaced by `body`."""
    page = open_page("about:blank", ready=False, service_workers="block")
    page.route("**/predict", lambda route: route.fulfill(json=body))
    page.goto(f"{server}/?mode=server")
    support.wait_until_ready(page)
    return page


def shown(page) -> dict:
    return {"sure": page.get_attribute("#result", "data-sure"), "output": page.inner_text("#output"),
            "text": page.inner_text("#confidence"),
            "uncertain_style": "is-uncertain" in (page.get_attribute("#output", "class") or "")}


@pytest.mark.parametrize(("body", "words"), [
    (answer(4, {4: 0.55, 9: 0.40, 7: 0.05}, uncertain=True), "Not sure: a 4 (55.0%), a 9 (40.0%) or a 7 (5.0%)?"),
    (answer(4, {4: 0.55, 9: 0.45}, uncertain=True), "Not sure: a 4 (55.0%) or a 9 (45.0%)?"),
    (answer(6, {6: 0.86, 0: 0.04, 5: 0.1}, uncertain=True), "Not sure: a 6 (86.0%) or a 5 (10.0%)?"),
    (answer(1, {1: 0.87, 7: 0.03}, uncertain=True), "Not sure: probably a 1 (87.0%)."),
    # Low, but above the card's level for "not a digit": the service did not say it is none,
    # and the page has no level of its own.
    (answer(8, {8: 0.31, 3: 0.22, 0: 0.2, 2: 0.27}, uncertain=True),
     "Not sure: an 8 (31.0%), a 2 (27.0%) or a 3 (22.0%)?"),
], ids=["three", "two", "likely", "one", "low"])
def test_server_mode_says_when_the_service_is_not_sure(open_page, server, body, words):
    page = page_answering(open_page, server, body)
    support.draw_digit(page, body["digit"])
    assert support.recognise(page) == "done"
    assert shown(page) == {"sure": "false", "output": str(body["digit"]), "text": words, "uncertain_style": True}
    assert page.evaluate("document.documentElement.scrollHeight") <= support.LAPTOP["height"]


def test_server_mode_shows_no_guesses_when_the_service_finds_no_digit(open_page, server):
    body = answer(5, {5: 0.106, 9: 0.105, 8: 0.105, **dict.fromkeys((0, 1, 2, 3, 4, 6, 7), 0.098)}, uncertain=True,
                  not_a_digit=True)
    page = page_answering(open_page, server, body)
    support.draw_digit(page, None, strokes=support.W)
    assert support.recognise(page) == "done"
    assert shown(page) == {"sure": "false", "output": "?", "text": "That does not look like a digit.",
                           "uncertain_style": True}
    assert page.get_attribute("#result", "data-not-a-digit") == "true"
    # The chart still shows what the model made of it, with no digit singled out.
    assert support.probabilities(page) == pytest.approx(body["probabilities"])
    assert page.locator("#probabilities li.is-best").count() == 0


def drawn_top_probability(page) -> float:
    return max(support.probabilities(page))


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_a_scribble_is_not_a_digit_in_both_modes(open_page, server, mode):
    """A W drawn large with the mouse, read by the real service or in this browser with the
    real card: its likeliest digit is below the card's level, and the page says so, the same
    way in both modes, without guesses, and still fits a laptop's screen."""
    page = open_page(f"{server}/?mode={mode}")
    page.uncheck("#live")
    if mode == "browser":
        wait_for_the_model(page)
    support.draw_digit(page, None, strokes=support.W)
    if mode == "server":
        with page.expect_response("**/predict") as response:
            assert support.recognise(page) == "done", page.inner_text("#message")
        body = response.value.json()
        assert body["not_a_digit"] is True
        assert [digit.get("not_a_digit") for digit in body["digits"]] == [True]
    else:
        assert support.recognise(page) == "done", page.inner_text("#message")
    assert drawn_top_probability(page) < NOT_A_DIGIT_BELOW, "the drawing must be a scribble to the model"
    assert shown(page) == {"sure": "false", "output": "?", "text": "That does not look like a digit.",
                           "uncertain_style": True}
    assert page.evaluate("document.scrollingElement.scrollHeight") <= support.LAPTOP["height"]


def test_server_mode_says_when_the_service_is_sure_and_the_next_drawing_starts_afresh(open_page, server):
    page = page_answering(open_page, server, answer(3, {3: 0.97, 5: 0.03}, uncertain=False))
    support.draw_digit(page, 3)
    assert support.recognise(page) == "done"
    assert shown(page) == {"sure": "true", "output": "3", "text": "It is a 3, 97.0% sure.", "uncertain_style": False}
    support.clear_pad(page)
    assert shown(page)["sure"] == "" and not shown(page)["uncertain_style"]
    assert page.get_attribute("#result", "data-not-a-digit") == ""


def test_server_mode_with_a_real_service_whose_card_doubts_everything(open_page, tmp_path):
    """End to end: the function's own card sets the threshold, the page says what it answered."""
    with api_server(model_dir=model_copy(tmp_path / "model", **DOUBT_EVERYTHING)) as url:
        page = open_page(f"{url}/?mode=server")
        page.uncheck("#live")
        support.draw_digit(page, 4, strokes=FOUR_AND_NINE)
        with page.expect_response("**/predict") as response:
            assert support.recognise(page) == "done"
        body = response.value.json()
    assert body["uncertain"] is True
    state = shown(page)
    assert state["sure"] == "false" and state["uncertain_style"] and state["text"].startswith("Not sure: ")
    assert state["output"] == str(body["digit"])
    for alternative in body["alternatives"]:
        assert f"{alternative['digit']} (" in state["text"]


def wait_for_the_model(page) -> None:
    """Until browser mode's model is in, or has failed to load (then say why)."""
    page.wait_for_selector("#model-status[data-state='ready'], #model-status[data-state='failed']",
                           timeout=support.ANSWER_TIMEOUT_MS)
    assert page.get_attribute("#model-status", "data-state") == "ready", page.inner_text("#message")


def browser_mode_page(open_page, server: str, card: dict):
    page = open_page("about:blank", ready=False, service_workers="block")
    page.route("**/model/card.json", lambda route: route.fulfill(json=card))
    page.goto(f"{server}/?mode=browser")
    support.wait_until_ready(page)
    page.uncheck("#live")
    return page


def test_browser_mode_applies_the_cards_threshold(open_page, server):
    """The same drawing in browser mode: doubted under a card whose threshold is 1, trusted
    under one whose threshold is below its probability."""
    doubting = browser_mode_page(open_page, server, {**CARD, "uncertainty": {**CARD["uncertainty"], "threshold": 1.0}})
    wait_for_the_model(doubting)
    support.draw_digit(doubting, 4, strokes=FOUR_AND_NINE)
    assert support.recognise(doubting) == "done"
    state = shown(doubting)
    assert state["sure"] == "false" and state["uncertain_style"] and state["text"].startswith("Not sure: ")
    top = max(support.probabilities(doubting))
    assert top < 1

    # A card's "not a digit" level lies below its threshold, or the page refuses the card.
    trusting = browser_mode_page(open_page, server, {**CARD, "uncertainty": {
        **CARD["uncertainty"], "threshold": top / 2, "not_a_digit_below": top / 4}})
    wait_for_the_model(trusting)
    support.draw_digit(trusting, 4, strokes=FOUR_AND_NINE)
    assert support.recognise(trusting) == "done"
    assert shown(trusting)["sure"] == "true" and shown(trusting)["text"].startswith(f"It is a {state['output']}, ")


def test_browser_mode_from_disk_reads_the_rule_from_model_js(open_page, tmp_path):
    page = open_page((web_copy(tmp_path / "web", **DOUBT_EVERYTHING) / "index.html").as_uri())
    wait_for_the_model(page)
    page.uncheck("#live")
    support.draw_digit(page, 4, strokes=FOUR_AND_NINE)
    assert support.recognise(page) == "done"
    assert shown(page)["sure"] == "false" and shown(page)["text"].startswith("Not sure: ")


def test_browser_mode_refuses_a_card_without_the_rule(open_page, server):
    card = {key: value for key, value in CARD.items() if key != "uncertainty"}
    page = browser_mode_page(open_page, server, card)
    page.wait_for_selector("#model-status[data-state='failed']", timeout=support.ANSWER_TIMEOUT_MS)
    page.wait_for_selector("#message[data-tone='error']")
    message = page.inner_text("#message")
    assert "does not say when an answer is not sure" in message and "Use the service" in message


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_not_sure_has_no_accessibility_failures(open_page, server, scheme):
    page = open_page("about:blank", ready=False, service_workers="block", color_scheme=scheme, bypass_csp=True)
    page.route("**/predict", lambda route: route.fulfill(json=answer(4, {4: 0.55, 9: 0.45}, uncertain=True)))
    page.goto(f"{server}/?mode=server")
    support.wait_until_ready(page)
    support.draw_digit(page, 4)
    assert support.recognise(page) == "done"
    assert page.get_attribute("#result", "data-sure") == "false"
    assert support.accessibility_violations(page) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_not_a_digit_has_no_accessibility_failures(open_page, server, scheme):
    page = open_page(f"{server}/?mode=server", color_scheme=scheme, bypass_csp=True)
    page.uncheck("#live")
    support.draw_digit(page, None, strokes=support.W)
    assert support.recognise(page) == "done"
    assert page.inner_text("#output") == "?"
    assert support.accessibility_violations(page) == []


def test_cards_copy_keeps_the_page_whole(tmp_path):
    """web_copy edits the card in both places the page reads it, and nothing else."""
    copy = web_copy(tmp_path / "web", uncertainty=REMOVE)
    assert "uncertainty" not in json.loads((copy / "model/card.json").read_text())
    assert '"uncertainty"' not in (copy / "model/model.js").read_text()
    assert (copy / "index.html").read_text() == (WEB_DIR / "index.html").read_text()
