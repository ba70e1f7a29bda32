"""Drawing as people do: keyboard shortcuts, undo, a finger on a 360-pixel phone, a
high-DPI screen and a window that changes size."""

from __future__ import annotations

from tests.support import browser as support

INKED_PIXELS = """() => {
    const canvas = document.querySelector('#canvas');
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 128) inked++;
    return inked / (canvas.width * canvas.height);
}"""


def test_escape_clears_enter_recognises_and_ctrl_z_undoes(open_page, disk_url):
    page = open_page(disk_url)
    page.uncheck("#live")
    support.draw_digit(page, 7)
    assert page.evaluate(INKED_PIXELS) > 0.01
    assert support.recognise(page, press="Enter") == "done"
    assert page.inner_text("#output") == "7"

    page.keyboard.press("Escape")
    assert page.evaluate(INKED_PIXELS) == 0
    assert page.inner_text("#output") == ""
    assert page.get_attribute("#result", "data-state") == "idle"
    assert page.is_disabled("#undo")

    # A 9 is two strokes; undo takes back the second, Ctrl+Z the first.
    support.draw_digit(page, 9)
    both = page.evaluate(INKED_PIXELS)
    page.click("#undo")
    one = page.evaluate(INKED_PIXELS)
    assert 0 < one < both
    page.keyboard.press("Control+z")
    assert page.evaluate(INKED_PIXELS) == 0
    assert page.is_disabled("#undo")


def test_clear_button_empties_the_pad_and_the_answer(open_page, disk_url):
    page = open_page(disk_url)
    support.draw_digit(page, 1)
    assert support.recognise(page) == "done"
    page.click("#reset")
    assert page.evaluate(INKED_PIXELS) == 0
    assert page.inner_text("#output") == ""
    assert support.probabilities(page) == [0.0] * 10


def test_a_finger_on_a_360_pixel_phone_draws_and_recognises(open_page, server):
    page = open_page(server + "/?mode=browser", viewport=support.PHONE, scale=3, touch=True)
    layout = page.evaluate("""() => ({
        scrollWidth: document.documentElement.scrollWidth,
        canvas: document.querySelector('#canvas').getBoundingClientRect().toJSON(),
        buttons: [...document.querySelectorAll('#recognise, #undo, #reset, #mode')]
                   .map(element => element.getBoundingClientRect().toJSON()),
    })""")
    assert layout["scrollWidth"] <= support.PHONE["width"], "the page scrolls sideways on a 360-pixel screen"
    assert layout["canvas"]["width"] >= 300, "the pad should use most of a phone's width"
    for rect in [layout["canvas"], *layout["buttons"]]:
        assert rect["left"] >= 0 and rect["right"] <= support.PHONE["width"]
    for rect in layout["buttons"][:3]:
        assert rect["height"] >= 44, "buttons should be big enough for a finger"

    support.draw_digit_by_touch(page, 7)
    assert page.evaluate("window.scrollY") == 0, "drawing must not scroll the page"
    assert support.recognise(page) == "done", page.inner_text("#message")
    assert page.inner_text("#output") == "7"
    # On a phone the answer comes right after the pad, before the settings.
    order = page.evaluate("""() => ['#pad', '#output', '#mode'].map(
        selector => document.querySelector(selector).getBoundingClientRect().top)""")
    assert order == sorted(order)


def test_pad_is_sharp_on_high_dpi_screens_and_answers_the_same(open_page, disk_url):
    answers = {}
    for scale in (1, 2):
        page = open_page(disk_url, scale=scale)
        size = page.evaluate("""() => {
            const canvas = document.querySelector('#canvas');
            return {pixels: canvas.width, css: canvas.getBoundingClientRect().width};
        }""")
        assert size["pixels"] == round(size["css"] * scale)
        support.draw_digit(page, 6)
        assert support.recognise(page) == "done"
        answers[scale] = support.probabilities(page)
    # Recognition reads the strokes, not the screen's pixels.
    assert max(abs(a - b) for a, b in zip(answers[1], answers[2], strict=True)) < 1e-5


def test_drawing_survives_the_window_changing_size(open_page, disk_url):
    page = open_page(disk_url, viewport=support.LAPTOP)
    support.draw_digit(page, 8)
    assert support.recognise(page) == "done"
    before = (page.evaluate(INKED_PIXELS), support.probabilities(page))
    width_before = page.evaluate("document.querySelector('#canvas').width")

    page.set_viewport_size(support.PHONE)
    page.wait_for_function("width => document.querySelector('#canvas').width !== width", arg=width_before)
    after_ink = page.evaluate(INKED_PIXELS)
    assert abs(after_ink - before[0]) < 0.25 * before[0], "the drawing should be redrawn at the new size"
    assert support.recognise(page) == "done"
    assert page.inner_text("#output") == "8"
    assert max(abs(a - b) for a, b in zip(before[1], support.probabilities(page), strict=True)) < 1e-5
