"""The README's screenshot can be made: the page, a drawn digit and its answer."""

from PIL import Image

from scripts import screenshot


def test_screenshot_shows_a_recognised_digit(browser, server, tmp_path):
    path = tmp_path / "screenshot.png"
    answer = screenshot.take(browser, f"{server}/?mode=server", path, viewport=screenshot.LAPTOP)
    assert answer == str(screenshot.DIGIT)
    with Image.open(path) as image:
        assert image.width == screenshot.LAPTOP["width"]
        assert image.height >= screenshot.LAPTOP["height"] * 0.75
        # Not a blank page: the answer tile, the bars and the pad all add colour.
        assert len(image.convert("RGB").getcolors(1 << 20) or []) > 50


def test_screenshot_shows_a_number_read_digit_by_digit(browser, server, tmp_path):
    path = tmp_path / "screenshot-number.png"
    answer = screenshot.take(browser, f"{server}/?mode=server", path, viewport=screenshot.LAPTOP,
                             number=screenshot.NUMBER)
    assert answer.split()[0] == screenshot.NUMBER
    with Image.open(path) as image:
        assert image.width == screenshot.LAPTOP["width"]
