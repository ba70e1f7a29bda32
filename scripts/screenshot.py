"""Screenshots of the page with a recognised digit or number, for the README.

    .venv/bin/python -m scripts.screenshot [docs/screenshot.png] [--phone docs/screenshot-phone.png]
        [--not-sure docs/screenshot-not-sure.png] [--not-a-digit docs/screenshot-not-a-digit.png]
        [--number docs/screenshot-number.png]

Serves the page and the API with uvicorn, draws a digit with the mouse in Chromium,
recognises it in server mode and saves the page as a laptop (1280 px) and, with --phone,
as a phone (360 px) shows it; with --not-sure, also a 0 and an 8 drawn over each other,
which the model is not sure of; with --not-a-digit, a W, which it says is no digit; with
--number, a number (NUMBER), read digit by digit with a box round each. Each says what the
page answered, and a picture whose answer is not what its name says is refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tests.support import browser as support
from tests.support import servers

LAPTOP, PHONE = support.LAPTOP, support.PHONE
DIGIT = 3
NUMBER = "2024"
NOT_SURE = support.digit_strokes(0) + support.digit_strokes(8)  # a 0 and an 8 over each other
NOT_A_DIGIT = support.W  # a W, as a mouse draws it, large


def take(browser, url: str, path: Path, *, viewport: dict, scale: float = 1, digit: int = DIGIT,
         touch: bool = False, strokes=None, number: str | None = None, says: str | None = None) -> str:
    """Save a screenshot of `url` with `digit` (or `strokes`, or the digits of `number`, by
    mouse) drawn and recognised; returns the answer: the number shown, then its sentence.
    `touch`: a phone's touch screen (no keyboard-shortcut line); `says`: how the sentence
    must begin, else no picture is saved."""
    context = browser.new_context(viewport=viewport, device_scale_factor=scale, has_touch=touch, is_mobile=touch)
    try:
        page = context.new_page()
        page.goto(url)
        support.wait_until_ready(page)
        page.wait_for_function("() => !document.querySelector('#about-service').textContent.includes('checking')")
        page.wait_for_function("() => document.querySelector('#about-model').dataset.version")
        if touch:
            support.draw_digit_by_touch(page, digit)
        elif number:
            support.draw_number(page, [int(character) for character in number])
        else:
            support.draw_digit(page, digit, strokes=strokes)
        state = support.recognise(page)
        if state != "done":
            raise RuntimeError(f"the page did not recognise the digit: {page.inner_text('#message')}")
        sentence = page.inner_text("#confidence")
        if says and not sentence.startswith(says):
            raise RuntimeError(f"{path.name} should show an answer that begins {says!r}; the page said {sentence!r}")
        # Let the bars finish growing.
        page.wait_for_timeout(500)
        page.mouse.move(0, 0)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        return f"{page.inner_text('#output')}: {sentence}"
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=support.PROJECT_ROOT / "docs/screenshot.png")
    parser.add_argument("--phone", type=Path, help="also save the page as a 360-pixel phone shows it")
    parser.add_argument("--not-sure", type=Path,
                        help="also save the page with a 0 and an 8 drawn over each other, which it is not sure of")
    parser.add_argument("--not-a-digit", type=Path, help="also save the page with a W drawn, which it says is no digit")
    parser.add_argument("--number", type=Path, help=f"also save the page with the number {NUMBER} drawn")
    args = parser.parse_args()
    reason = support.chromium_missing_reason()
    if reason:
        raise SystemExit(reason)

    from playwright.sync_api import sync_playwright

    with servers.api_server() as url, sync_playwright() as playwright:
        browser = support.launch_chromium(playwright)
        answer = take(browser, f"{url}/?mode=server", args.path, viewport=LAPTOP)
        print(f"{args.path}: drew a {DIGIT}, the page answered {answer}")
        if args.phone:
            answer = take(browser, f"{url}/?mode=server", args.phone, viewport=PHONE, scale=2, touch=True)
            print(f"{args.phone}: drew a {DIGIT}, the page answered {answer}")
        if args.not_sure:
            answer = take(browser, f"{url}/?mode=server", args.not_sure, viewport=LAPTOP, strokes=NOT_SURE,
                          says="Not sure: ")
            print(f"{args.not_sure}: drew a 0 and an 8 over each other, the page answered {answer}")
        if args.not_a_digit:
            answer = take(browser, f"{url}/?mode=server", args.not_a_digit, viewport=LAPTOP, strokes=NOT_A_DIGIT,
                          says="That does not look like a digit.")
            print(f"{args.not_a_digit}: drew a W, the page answered {answer}")
        if args.number:
            answer = take(browser, f"{url}/?mode=server", args.number, viewport=LAPTOP, number=NUMBER)
            print(f"{args.number}: drew {NUMBER}, the page answered {answer}")
        browser.close()


if __name__ == "__main__":
    main()
