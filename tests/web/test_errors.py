"""What a person reads when something goes wrong, and that the page keeps working after:
one message at a time, a footer that says what the service did last, and a page that still
fits a laptop's screen."""

from __future__ import annotations

import base64
import json
import shutil

import httpx
import numpy as np

from tests.support import browser as support
from tests.support import servers
from tests.support.images import encode


def said_once(page, words: str) -> bool:
    """Whether the answer's panel says `words` exactly once (the pad's own "Draw a number
    here" is the pad's label, not the panel's)."""
    return page.inner_text("#result").count(words) == 1


def test_recognising_an_empty_pad_asks_for_a_number_once(open_page, server):
    page = open_page(server + "/")
    assert said_once(page, "Draw a number")  # before: the idle sentence
    for mode in ("server", "browser"):
        support.choose_mode(page, mode)
        assert support.recognise(page) == "hint"
        assert page.inner_text("#message") == "Draw a number first, then press Recognise."
        assert said_once(page, "Draw a number") and said_once(page, "press Recognise")
        assert page.inner_text("#confidence") == ""
        assert page.inner_text("#output") == ""
        assert page.evaluate("document.scrollingElement.scrollHeight") <= support.LAPTOP["height"]
    # Enter does the same as the button, once focus has left the controls.
    page.evaluate("document.activeElement.blur()")
    assert support.recognise(page, press="Enter") == "hint"
    assert said_once(page, "Draw a number first")
    # Drawing and recognising then answers, the nudge gone.
    support.draw_digit(page, 3)
    assert support.recognise(page) == "done"
    assert page.is_hidden("#message") and page.inner_text("#output") == "3"


def service_line(page) -> str:
    return page.inner_text("#about-service")


def test_the_footer_follows_what_the_service_did_last(open_page, server):
    """Answering at first; the connection lost, then a failure, then answering again: the
    footer says each, not what the check at start found."""
    page = open_page(f"{server}/?mode=server", service_workers="block")
    page.uncheck("#live")
    page.wait_for_function("() => document.querySelector('#about-service').dataset.state === 'answering'")
    support.draw_digit(page, 3)

    page.route("**/predict", lambda route: route.abort("connectionrefused"))
    assert support.recognise(page) == "error"
    assert page.inner_text("#message").startswith("Connection lost")
    page.wait_for_function("() => document.querySelector('#about-service').dataset.state === 'unreachable'")
    text = service_line(page)
    assert text == f"Recognition service: {server} (not answering; this browser can still recognise digits)"
    assert "answering)" not in text
    assert page.evaluate("document.scrollingElement.scrollHeight") <= support.LAPTOP["height"]

    page.unroute("**/predict")
    page.route("**/predict", lambda route: route.fulfill(status=502, content_type="application/json",
                                                         body='{"message": "Internal server error"}'))
    assert support.recognise(page) == "error"
    page.wait_for_function("() => document.querySelector('#about-service').dataset.state === 'failing'")
    assert service_line(page) == f"Recognition service: {server} (failing; this browser can still recognise digits)"

    page.unroute("**/predict")
    assert support.recognise(page) == "done"
    page.wait_for_function("() => document.querySelector('#about-service').dataset.state === 'answering'")
    assert service_line(page) == f"Recognition service: {server} (answering)"


def test_unreachable_service_says_connection_lost_and_offers_the_browser(open_page, server):
    dead = f"http://127.0.0.1:{servers.free_port()}"
    page = open_page(f"{server}/?api={dead}")
    page.uncheck("#live")
    support.draw_digit(page, 3)
    assert support.recognise(page) == "error"
    message = page.inner_text("#message")
    assert message.startswith("Connection lost")
    assert dead in message
    assert page.inner_text("#output") == ""
    page.wait_for_function("() => document.querySelector('#about-service').textContent.includes('not answering')")

    # Still usable: one press recognises the same drawing in the browser instead.
    before = support.answers_shown(page)
    page.click("#message button")
    support.wait_for_new_answer(page, before)
    assert page.input_value("#mode") == "browser"
    assert page.inner_text("#output") == "3"
    assert page.is_hidden("#message")


def test_service_refusal_shows_its_detail(open_page, server):
    # A real 4xx from the real service: a page pointed at a path the API does not have.
    wrong_base = f"{server}/no-such-stage"
    refusal = httpx.post(f"{wrong_base}/predict", json={"image": "data:image/png;base64,"})
    assert 400 <= refusal.status_code < 500
    page = open_page(f"{server}/?api={wrong_base}&mode=server")
    page.uncheck("#live")
    support.draw_digit(page, 1)
    assert support.recognise(page) == "error"
    assert (f"The recognition service could not use the drawing: {refusal.json()['detail']} "
            f"(error {refusal.status_code}).") in page.inner_text("#message")

    # The service's own words for a drawing it cannot read (a blank one, which the page
    # itself never sends) come through as they are.
    blank = base64.b64encode(encode(np.full((280, 280), 255, dtype=np.uint8))).decode()
    blank_answer = httpx.post(f"{server}/predict", json={"image": f"data:image/png;base64,{blank}"})
    assert blank_answer.status_code == 422
    detail = blank_answer.json()["detail"]
    page.route("**/predict", lambda route: route.fulfill(
        status=422, content_type="application/json", body=json.dumps({"detail": detail})))
    assert support.recognise(page) == "error"
    assert f"could not use the drawing: {detail} (error 422)" in page.inner_text("#message")

    # Once the service answers again, so does the page.
    page.unroute("**/predict")
    page.goto(f"{server}/?mode=server")
    support.wait_until_ready(page)
    support.draw_digit(page, 1)
    assert support.recognise(page) == "done"
    assert page.inner_text("#output") == "1"


def test_failing_service_says_so_in_plain_words(open_page, server):
    page = open_page(f"{server}/?mode=server")
    page.uncheck("#live")
    page.route("**/predict", lambda route: route.fulfill(status=502, content_type="application/json",
                                                         body='{"message": "Internal server error"}'))
    support.draw_digit(page, 7)
    assert support.recognise(page) == "error"
    assert "The recognition service failed (error 502" in page.inner_text("#message")
    assert "Try again in a moment." in page.inner_text("#message")


def test_model_that_fails_to_load_is_reported_and_the_service_still_answers(open_page, server):
    page = open_page(f"{server}/?mode=server", service_workers="block")
    # The context's route also sees the inference worker's requests.
    page.context.route("**/model/model.json", lambda route: route.fulfill(status=404, body="Not Found"))
    page.uncheck("#live")
    support.draw_digit(page, 2)
    support.choose_mode(page, "browser")
    page.wait_for_selector("#model-status[data-state='failed']")
    assert support.recognise(page) == "error"
    message = page.inner_text("#message")
    assert "The model could not be loaded into this browser" in message
    assert "model/model.json could not be loaded" in message
    assert "The recognition service can still answer." in message

    before = support.answers_shown(page)
    page.click("#message button")
    support.wait_for_new_answer(page, before)
    assert page.input_value("#mode") == "server"
    assert page.inner_text("#output") == "2"


def test_page_from_disk_without_its_model_script_says_so(open_page, web_dir, tmp_path):
    copy = tmp_path / "web"
    shutil.copytree(web_dir, copy, ignore=shutil.ignore_patterns("model.js"))
    page = open_page((copy / "index.html").as_uri())
    support.draw_digit(page, 5)
    assert support.recognise(page) == "error"
    assert "model/model.js could not be loaded" in page.inner_text("#message")
    # Drawing, clearing and the controls still work.
    support.clear_pad(page)
    assert page.inner_text("#output") == ""
    assert page.is_hidden("#message")


def test_page_without_its_libraries_says_how_to_install_them(open_page, web_dir, tmp_path):
    copy = tmp_path / "web"
    shutil.copytree(web_dir, copy, ignore=shutil.ignore_patterns("vendor", "model"))
    page = open_page((copy / "index.html").as_uri(), ready=False)
    page.wait_for_selector("#boot-error", state="visible")
    assert "npm ci" in page.inner_text("#boot-error")
