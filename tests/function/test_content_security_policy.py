"""The security headers' Content-Security-Policy checked where it matters, in Chromium: the
page served by the function recognises a drawing in both modes, and /docs renders the API,
with no policy violation (the browser reports each as a `securitypolicyviolation` event)."""

from __future__ import annotations

import pytest

from tests.support import browser as support
from tests.support.servers import api_server

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture(scope="module")
def server():
    with api_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    # Closed when this module ends: Playwright's event loop must not outlive it, or the
    # Lambda handler tests after it would find a loop already running.
    with support.chromium_or_skip() as chromium:
        yield chromium


def open_with_violation_log(browser, url: str):
    context = browser.new_context(viewport=support.LAPTOP)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(url)
    return context, page, errors


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_page_works_under_its_policy(browser, server, mode):
    context, page, errors = open_with_violation_log(browser, f"{server}/?mode={mode}")
    try:
        support.wait_until_ready(page)
        support.draw_digit(page, 7)
        assert support.recognise(page) == "done", page.inner_text("#message")
        assert page.inner_text("#output") == "7"
        page.wait_for_timeout(300)  # late workers and the service worker
        assert page.evaluate("window.__violations") == [] and errors == []
    finally:
        context.close()


def test_docs_render_offline_under_their_policy(browser, server):
    context, page, errors = open_with_violation_log(browser, f"{server}/docs")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.reload()
        page.wait_for_selector("text=/predict", timeout=30_000)
        page.click("#operations-Read_a_picture-predict_predict_post .opblock-summary")  # its schemas and examples
        page.wait_for_selector("#operations-Read_a_picture-predict_predict_post .opblock-body", timeout=10_000)
        page.wait_for_timeout(300)
        assert page.evaluate("window.__violations") == [] and errors == []
        assert all(url.startswith(server) for url in requests), requests
    finally:
        context.close()
