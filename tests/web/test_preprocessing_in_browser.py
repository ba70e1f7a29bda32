"""The page's preprocessing, run by Chromium, against the shared test vectors and against
the function's Python version on real drawings: in browser mode the model must see what
it sees in server mode."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

import preprocessing  # the function's, from lambda/
from tests.support import browser as support

VECTORS = sorted((support.PROJECT_ROOT / "tests/vectors").glob("*.json"))
# The vectors hold 6 decimals.
TOLERANCE = 1e-6

# With the numbers the page itself takes from its model card.
RUN_IN_PAGE = """async vector => {
    const card = await DigitsCard.load({fromDisk: location.protocol === 'file:'});
    const bytes = Uint8Array.from(atob(vector.pixels_base64), c => c.charCodeAt(0));
    try {
        const digit = DigitsPreprocessing.toMnist(bytes, vector.width, vector.height, DigitsCard.preprocessing(card));
        return {digit: Array.from(digit)};
    } catch (error) {
        return {error: error.name};
    }
}"""


@pytest.fixture(scope="module")
def page(browser, web_dir):
    """One page opened from disk for all the vectors, watched as open_page watches its pages."""
    context = browser.new_context()
    try:
        page = context.new_page()
        problems = support.PageProblems(page)
        page.goto((web_dir / "index.html").as_uri())
        support.wait_until_ready(page)
        yield page
        problems.check()
    finally:
        context.close()


def test_there_are_shared_vectors():
    assert VECTORS, "tests/vectors/ holds no test vectors"


@pytest.mark.parametrize("path", VECTORS, ids=lambda path: path.stem)
def test_page_preprocessing_matches_the_shared_vector(page, path):
    vector = json.loads(path.read_text())
    result = page.evaluate(RUN_IN_PAGE, vector)
    if vector["error"] == "blank":
        assert result == {"error": "BlankImageError"}
        return
    assert "digit" in result, result
    difference = np.abs(np.array(result["digit"]).reshape(28, 28) - np.array(vector["expected"]))
    worst = np.unravel_index(difference.argmax(), difference.shape)
    assert difference.max() <= TOLERANCE, f"pixel {worst} differs by {difference.max():.2g}"


@pytest.mark.parametrize("digit", [0, 3, 4, 8])
def test_what_the_model_saw_is_what_the_function_makes_of_the_upload(open_page, server, digit):
    page = open_page(f"{server}/?mode=server")
    page.uncheck("#live")
    uploads = []

    def keep_upload(route):
        uploads.append(json.loads(route.request.post_data)["image"])
        route.continue_()

    page.route("**/predict", keep_upload)
    support.draw_digit(page, digit)
    assert support.recognise(page) == "done"
    assert len(uploads) == 1
    header, data = uploads[0].split(",", 1)
    assert header == "data:image/png;base64"
    upload = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
    by_function = preprocessing.to_mnist(upload)

    # The page's picture of its model input, 8 bits a pixel.
    shown = np.array(page.evaluate("""() => {
        const pixels = document.querySelector('#model-input').getContext('2d').getImageData(0, 0, 28, 28).data;
        return Array.from({length: 784}, (_, i) => pixels[i * 4]);
    }""")).reshape(28, 28) / 255
    assert np.abs(shown - by_function).max() <= 0.5 / 255 + 1e-9

    # And the page's preprocessing of the very pixels uploaded, at full precision.
    by_page = page.evaluate(RUN_IN_PAGE, {
        "pixels_base64": base64.b64encode(upload.tobytes()).decode(),
        "width": upload.shape[1], "height": upload.shape[0]})
    assert np.abs(np.array(by_page["digit"]).reshape(28, 28) - by_function).max() <= 1e-6
