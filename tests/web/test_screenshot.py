"""The README's screenshots can be made: the page, a drawing and its answer, each picture
showing the answer its name promises (a digit, a number, not sure, not a digit)."""

import pytest
from PIL import Image

from scripts import screenshot


def colourful(path, viewport) -> bool:
    """The page at the viewport's width, not a blank one: the answer tile, the bars and the
    pad all add colour."""
    with Image.open(path) as image:
        return (image.width == viewport["width"] and image.height >= viewport["height"] * 0.75
                and len(image.convert("RGB").getcolors(1 << 20) or []) > 50)


def test_screenshot_shows_a_recognised_digit(browser, server, tmp_path):
    path = tmp_path / "screenshot.png"
    answer = screenshot.take(browser, f"{server}/?mode=server", path, viewport=screenshot.LAPTOP)
    shown, _, sentence = answer.partition(": ")
    assert shown == str(screenshot.DIGIT) and sentence.startswith(f"It is a {screenshot.DIGIT}, ")
    assert colourful(path, screenshot.LAPTOP)


def test_screenshot_shows_a_number_read_digit_by_digit(browser, server, tmp_path):
    path = tmp_path / "screenshot-number.png"
    answer = screenshot.take(browser, f"{server}/?mode=server", path, viewport=screenshot.LAPTOP,
                             number=screenshot.NUMBER)
    assert answer.partition(": ")[0] == screenshot.NUMBER
    assert colourful(path, screenshot.LAPTOP)


@pytest.mark.parametrize(("strokes", "shown", "says"), [
    (screenshot.NOT_SURE, None, "Not sure: "),
    (screenshot.NOT_A_DIGIT, "?", "That does not look like a digit."),
], ids=["not-sure", "not-a-digit"])
def test_screenshots_of_doubt_show_what_their_names_say(browser, server, tmp_path, strokes, shown, says):
    path = tmp_path / "screenshot.png"
    answer = screenshot.take(browser, f"{server}/?mode=server", path, viewport=screenshot.LAPTOP, strokes=strokes,
                             says=says)
    number, _, sentence = answer.partition(": ")
    assert sentence.startswith(says) and (shown is None or number == shown), answer
    assert colourful(path, screenshot.LAPTOP)


def test_a_screenshot_that_would_not_show_its_answer_is_refused(browser, server, tmp_path):
    path = tmp_path / "screenshot-not-a-digit.png"
    with pytest.raises(RuntimeError, match="should show an answer that begins"):
        screenshot.take(browser, f"{server}/?mode=server", path, viewport=screenshot.LAPTOP,
                        says="That does not look like a digit.")  # a 3 is drawn
    assert not path.exists()
