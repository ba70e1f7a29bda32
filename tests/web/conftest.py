"""Fixtures for the page's tests: Debian's Chromium driven by Playwright, the page served by
uvicorn (with the API) or opened from disk, and a check that nothing went wrong in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import browser as support
from tests.support import servers

WEB_TESTS = Path(__file__).resolve().parent
WEB_DIR = servers.WEB_DIR


@pytest.fixture(scope="session")
def web_dir() -> Path:
    missing = [name for name in ("index.html", "vendor/jquery.min.js", "vendor/tf-core.es2017.min.js",
                                 "vendor/tfjs-backend-wasm-simd.wasm",
                                 "model/model.json", "model/card.json", "model/model.js")
               if not (WEB_DIR / name).is_file()]
    assert not missing, (f"{WEB_DIR} lacks {', '.join(missing)}: `npm ci` copies the libraries into "
                         "web/vendor/, `make train` exports the model into web/model/")
    return WEB_DIR


@pytest.fixture(scope="session")
def browser():
    with support.chromium_or_skip() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def server(web_dir, browser) -> str:
    """The API and the page, served by uvicorn on a free loopback port."""
    with servers.api_server(web_dir) as url:
        yield url


@pytest.fixture(scope="session")
def disk_url(web_dir) -> str:
    return (web_dir / "index.html").as_uri()


@pytest.fixture
def open_page(browser):
    """open_page(url, viewport=support.LAPTOP, scale=1, touch=False, ready=True, service_workers="allow",
    color_scheme="light", bypass_csp=False) -> a page in a fresh context, by default once the page
    says it is ready; the test fails on an uncaught error in it or a request leaving the machine."""
    contexts = []
    watchers = []

    def open_(url: str, *, viewport=support.LAPTOP, scale: float = 1, touch: bool = False, ready: bool = True,
              service_workers: str = "allow", color_scheme: str = "light", bypass_csp: bool = False):
        # Tests that rewrite responses with page.route block the service worker, which would
        # otherwise answer from its cache before the route sees the request. `bypass_csp` for
        # tests that inject a script (axe-core), which the page's own policy rightly refuses.
        context = browser.new_context(viewport=viewport, device_scale_factor=scale, has_touch=touch,
                                      is_mobile=touch, service_workers=service_workers,
                                      color_scheme=color_scheme, bypass_csp=bypass_csp)
        contexts.append(context)
        page = context.new_page()
        watchers.append(support.PageProblems(page))
        page.goto(url)
        if ready:
            support.wait_until_ready(page)
        return page

    yield open_
    try:
        for watcher in watchers:
            watcher.check()
    finally:
        for context in contexts:
            context.close()
