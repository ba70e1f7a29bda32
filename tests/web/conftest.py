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


class PageProblems:
    """Uncaught errors in the page and requests that left the machine: both fail a test."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.remote_requests: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", self._check_request)

    def _check_request(self, request):
        url = request.url
        local = url.startswith(("file://", "data:", "blob:", "http://127.0.0.1", "http://localhost"))
        if not local:
            self.remote_requests.append(url)

    def check(self):
        assert not self.errors, f"uncaught errors in the page: {self.errors}"
        assert not self.remote_requests, f"the page fetched from outside this machine: {self.remote_requests}"


@pytest.fixture
def open_page(browser):
    """open_page(url, viewport=support.LAPTOP, scale=1, touch=False, ready=True, service_workers="allow",
    color_scheme="light") -> a page in a fresh context, by default once the page says it is ready."""
    contexts = []
    watchers = []

    def open_(url: str, *, viewport=support.LAPTOP, scale: float = 1, touch: bool = False, ready: bool = True,
              service_workers: str = "allow", color_scheme: str = "light"):
        # Tests that rewrite responses with page.route block the service worker, which would
        # otherwise answer from its cache before the route sees the request.
        context = browser.new_context(viewport=viewport, device_scale_factor=scale, has_touch=touch,
                                      is_mobile=touch, service_workers=service_workers,
                                      color_scheme=color_scheme)
        contexts.append(context)
        page = context.new_page()
        watchers.append(PageProblems(page))
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
