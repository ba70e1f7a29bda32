"""Beyond the fixed vectors: random pictures of strokes, in every layout and polarity, go
through the function's preprocessing (Python) and the page's (JavaScript under node), which
must agree. A change on one side that the vectors happen not to cover shows up here."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

import preprocessing  # the function's, from lambda/
from tests.support import browser as support

NODE = shutil.which("node")
PICTURES = 60


def random_pictures(seed: int = 20261121):
    rng = np.random.default_rng(seed)
    for n in range(PICTURES):
        width, height = (int(v) for v in rng.integers(16, 320, size=2))
        mode = ("L", "RGB", "RGBA")[n % 3]
        dark_ink = bool(n % 2)
        paper = (255, 255, 255, 255) if dark_ink else (0, 0, 0, 255)
        ink = (0, 0, 0, 255) if dark_ink else (255, 255, 255, 255)
        if mode == "RGBA" and n % 4 == 1:  # a transparent canvas, ink of any shade
            paper, ink = (0, 0, 0, 0), (*tuple(int(v) for v in rng.integers(0, 256, 3)), 255)
        if n % 7 == 3:  # tinted paper, coloured ink
            paper = (*tuple(int(v) for v in rng.integers(150, 230, 3)), 255)
            ink = (*tuple(int(v) for v in rng.integers(0, 90, 3)), 255)
        picture = Image.new("RGBA", (width, height), paper)
        draw = ImageDraw.Draw(picture)
        for _ in range(int(rng.integers(1, 4))):
            points = [(float(rng.uniform(0, width)), float(rng.uniform(0, height))) for _ in range(4)]
            draw.line(points, fill=ink, width=int(rng.integers(1, 16)), joint="curve")
        if n % 5 == 0:
            picture = picture.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3))))
        yield f"{n:02d}-{mode}-{width}x{height}", np.asarray(picture.convert(mode))


@pytest.mark.skipif(NODE is None, reason="node is not installed (the page's JavaScript is tested with it)")
def test_page_and_function_preprocess_random_pictures_alike(tmp_path):
    names, pictures = zip(*random_pictures(), strict=True)
    request, answer = tmp_path / "pictures.json", tmp_path / "digits.json"
    request.write_text(json.dumps([{"width": p.shape[1], "height": p.shape[0],
                                    "pixels_base64": base64.b64encode(p.tobytes()).decode()} for p in pictures]))
    completed = subprocess.run([NODE, str(support.PROJECT_ROOT / "tests/web/js/to_mnist.cjs"), str(request),
                                str(answer)], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    page_results = json.loads(answer.read_text())

    compared = 0
    for name, picture, by_page in zip(names, pictures, page_results, strict=True):
        try:
            by_function = preprocessing.to_mnist(picture)
        except preprocessing.BlankImageError:
            assert by_page == {"error": "BlankImageError"}, name
            continue
        assert "digit" in by_page, f"{name}: {by_page}"
        difference = np.abs(np.array(by_page["digit"]).reshape(28, 28) - by_function).max()
        assert difference <= 1e-6, f"{name}: the page and the function differ by {difference:.3g}"
        compared += 1
    assert compared >= PICTURES * 0.8, "too few of the pictures held a digit to compare"
