"""The page in a real browser: launching Debian's Chromium, drawing digits with real
strokes, and reading what the page shows. Used by the browser tests, the screenshot script
and the page benchmark.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import itertools
import math
import os
import shutil
from pathlib import Path

import numpy as np

from tests.support import PROJECT_ROOT, drawing

__all__ = ["PROJECT_ROOT"]  # re-exported: the tests and scripts that drive the page find files by it

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
# Generous, for a machine shared with training; nothing here asserts on speed.
ANSWER_TIMEOUT_MS = 120_000
AXE = PROJECT_ROOT / "node_modules/axe-core/axe.min.js"


def chromium_missing_reason() -> str | None:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return (f"Chromium is not installed at {CHROMIUM}: `apt-get install chromium` "
                "(or set CHROMIUM=/path/to/chromium) to run the browser tests")
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed: `make setup`"
    return None


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def chromium_or_skip():
    """Debian's Chromium under Playwright for a test fixture; skips, saying what is missing, without it."""
    import pytest

    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


class PageProblems:
    """Uncaught errors in the page and requests that left the machine, watched from the page's
    opening; `check()` fails the test on either."""

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


# --- digits and numbers drawn as a person draws them ---------------------------------------
# The strokes of tests/support/drawing.py, the digits the function's tests and the shared
# vectors draw, placed on the pad as there: 70 % of its height, centred. Points are in
# fractions of the pad's height (x right, y down), the square as high as the pad in its
# middle being (0, 0) to (1, 1): the pad is square on a phone and wider on a laptop, where x
# goes beyond 0 and 1.

# A number's digits: at most this fraction of the pad's height, this much apart (of their
# height), the whole number within NUMBER_WIDTH of the pad's width.
NUMBER_HEIGHT = 0.6
NUMBER_GAP = 0.3
NUMBER_WIDTH = 0.85
DIGIT_ASPECT = 0.75  # drawing.strokes' default: a digit 0.75 times as wide as tall


# Marks that are no digit, as a mouse draws them, in the unit square (x right, y down): the
# model puts them far below the level at which its card says an answer is not a digit (the
# tests that draw them check that they are).
W = [[(0.15, 0.2), (0.32, 0.8), (0.5, 0.35), (0.68, 0.8), (0.85, 0.2)]]
STAR = [[(0.5 + 0.45 * math.cos(math.radians(-90 + 144 * corner)),
          0.5 + 0.45 * math.sin(math.radians(-90 + 144 * corner))) for corner in range(6)]]


def digit_strokes(digit: int) -> list[list[tuple[float, float]]]:
    return [[(float(x), float(y)) for x, y in points] for points in drawing.strokes(digit)]


def number_strokes(digits, pad_aspect: float) -> list[list[tuple[float, float]]]:
    """The strokes of `digits` (e.g. [3, 0, 5]) side by side and apart, centred on a pad
    `pad_aspect` times as wide as high, as large as fits (at most NUMBER_HEIGHT of its height).
    An entry that is not a digit is a mark's strokes in the unit square (e.g. STAR), drawn in
    a digit's place and shape."""
    count = len(digits)
    size = min(NUMBER_HEIGHT, NUMBER_WIDTH * pad_aspect / (count * DIGIT_ASPECT + (count - 1) * NUMBER_GAP))
    step = size * (DIGIT_ASPECT + NUMBER_GAP)
    left = 0.5 - (count * DIGIT_ASPECT + (count - 1) * NUMBER_GAP) * size / 2
    top = (1 - size) / 2

    def placed(entry, at: float):
        if isinstance(entry, int | str):
            return drawing.strokes(int(entry), size=size, left=at, top=top)
        return [[(at + x * size * DIGIT_ASPECT, top + y * size) for x, y in stroke] for stroke in entry]

    return [[(float(x), float(y)) for x, y in points]
            for index, entry in enumerate(digits)
            for points in placed(entry, left + index * step)]


def pad_box(page, selector: str) -> dict:
    """The pad's place in the viewport, scrolled fully into view as a person would."""
    page.locator(selector).evaluate("element => element.scrollIntoView({block: 'center'})")
    return page.locator(selector).bounding_box()


def on_pad(box: dict, x: float, y: float) -> tuple[float, float]:
    """A point of the pad (see above) in the viewport."""
    return box["x"] + box["width"] / 2 + (x - 0.5) * box["height"], box["y"] + y * box["height"]


def draw_digit(page, digit: int | None, selector: str = "#canvas", strokes=None) -> None:
    """Draw with the mouse: press, move along each stroke in small steps, release."""
    box = pad_box(page, selector)
    for stroke in strokes or digit_strokes(digit):
        points = [on_pad(box, x, y) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=3)
        page.mouse.up()


def draw_number(page, digits, selector: str = "#canvas") -> None:
    """Draw the digits of a number with the mouse, each a group of strokes, apart."""
    box = pad_box(page, selector)
    draw_digit(page, None, selector, strokes=number_strokes(digits, box["width"] / box["height"]))


def draw_digit_by_touch(page, digit: int | None, selector: str = "#canvas", strokes=None) -> None:
    """Draw with a finger: touch events through the DevTools protocol, which Chromium turns
    into pointer events of type "touch", as on a phone."""
    box = pad_box(page, selector)
    session = page.context.new_cdp_session(page)
    for stroke in strokes or digit_strokes(digit):
        points = [on_pad(box, x, y) for x, y in stroke]
        dense = [points[0]]
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            dense += [(x0 + (x1 - x0) * t / 3, y0 + (y1 - y0) * t / 3) for t in (1, 2, 3)]
        start = {"x": dense[0][0], "y": dense[0][1]}
        session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [start]})
        for x, y in dense[1:]:
            session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()


def wait_until_ready(page) -> None:
    page.wait_for_selector("html[data-page-ready]", state="attached", timeout=30_000)


def answers_shown(page) -> int:
    return int(page.get_attribute("#result", "data-answers") or 0)


def wait_for_new_answer(page, before: int) -> None:
    """Wait until the page has shown more than `before` answers (see answers_shown)."""
    page.wait_for_function("before => Number(document.querySelector('#result').dataset.answers || 0) > before",
                           arg=before, timeout=ANSWER_TIMEOUT_MS)


def recognise(page, *, press: str | None = None) -> str:
    """Press Recognise (or a key) and wait for the page to settle; returns its state:
    "done" (an answer), "error" or "hint"."""
    before = answers_shown(page)
    if press:
        page.keyboard.press(press)
    else:
        page.click("#recognise")
    return wait_until_settled(page, before)


# A file handed to the page as a drop on the pad (dragenter, dragover, drop) or a paste, with
# a DataTransfer built in the page, as the browser builds one for a person's drop or Ctrl+V.
TRANSFER = """({data, name, type, how}) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, {type}));
    const options = {bubbles: true, cancelable: true};
    if (how === 'paste') {
        document.body.dispatchEvent(new ClipboardEvent('paste', {...options, clipboardData: transfer}));
        return;
    }
    const pad = document.querySelector('#pad');
    for (const kind of ['dragenter', 'dragover', 'drop']) {
        pad.dispatchEvent(new DragEvent(kind, {...options, dataTransfer: transfer}));
    }
}"""


def open_picture(page, data: bytes, name: str, mime: str, *, how: str = "input") -> str:
    """Open a picture file as a person does: chosen with the page's file input ("input"),
    dropped on the pad ("drop") or pasted ("paste"); waits for the page to settle and returns
    its state, as `recognise` does."""
    before = answers_shown(page)
    if how == "input":
        page.set_input_files("#picture-input", files=[{"name": name, "mimeType": mime, "buffer": data}])
    else:
        page.evaluate(TRANSFER, {"data": base64.b64encode(data).decode(), "name": name, "type": mime, "how": how})
    return wait_until_settled(page, before)


def wait_until_settled(page, before: int) -> str:
    """Wait until the page shows an error, a hint or more than `before` answers; returns its state."""
    page.wait_for_function(
        """before => {
             const result = document.querySelector('#result');
             const state = result.dataset.state;
             return state === 'error' || state === 'hint'
               || (state === 'done' && Number(result.dataset.answers || 0) > before);
           }""", arg=before, timeout=ANSWER_TIMEOUT_MS)
    return page.get_attribute("#result", "data-state")


# A canvas's pixels, as the page's own getImageData reads them: RGBA, base64 in one string.
CANVAS_PIXELS = """selector => {
    const canvas = document.querySelector(selector);
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let text = '';
    for (let start = 0; start < data.length; start += 0x8000) {
        text += String.fromCharCode.apply(null, data.subarray(start, start + 0x8000));
    }
    return {width: canvas.width, height: canvas.height, data: btoa(text)};
}"""


def canvas_pixels(page, selector: str):
    """The pixels of the canvas `selector`: uint8 (height, width, 4), RGBA."""
    read = page.evaluate(CANVAS_PIXELS, selector)
    return np.frombuffer(base64.b64decode(read["data"]), dtype=np.uint8).reshape(read["height"], read["width"], 4)


def probabilities(page) -> list[float]:
    return [float(value) for value in page.eval_on_selector_all(
        "#probabilities li", "items => items.map(item => item.dataset.probability)")]


def choose_mode(page, mode: str) -> None:
    page.select_option("#mode", mode)


def clear_pad(page) -> None:
    page.keyboard.press("Escape")


def accessibility_violations(page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each ("id (impact): N nodes");
    the page's own policy must be bypassed (`bypass_csp=True`), since axe is injected."""
    if not AXE.is_file():
        raise AssertionError("node_modules/axe-core is missing: npm ci")
    page.wait_for_timeout(400)  # the bars' transition, so colours are final
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""() => axe.run(document, {resultTypes: ['violations']})
        .then(results => results.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.length} nodes`))""")
