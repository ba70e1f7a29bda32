"""Hostile and unexpected requests: each gets a 4xx in the API's own words, never a 500; and
anything that still fails is a JSON 500 with the request id, CORS and one log line. Every
answer carries the security headers, and /docs works offline."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import PROJECT_ROOT

PREDICT = "/predict"
SERVING = "/v1/models/digits:predict"
DEEP = "[" * 1000 + "]" * 1000


def post_json(client, path: str, text: str, **headers):
    return client.post(path, content=text.encode(), headers={"Content-Type": "application/json", **headers})


def detail(response) -> str:
    body = response.json()
    return body.get("detail") or body.get("error")  # /v1 answers in TensorFlow Serving's {"error": ...}


# --- JSON within limits ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [PREDICT, SERVING])
def test_deeply_nested_json_is_400(client, path):
    text = f'{{"{"pixels" if path == PREDICT else "instances"}": {DEEP}}}'
    assert len(text) < 2100
    response = post_json(client, path, text)
    assert response.status_code == 400, response.text
    assert "nests arrays and objects 1,001 levels deep" in detail(response) and "at most 8" in detail(response)


def test_nesting_inside_strings_does_not_count(client):
    response = post_json(client, PREDICT, json.dumps({"image": "data:image/png;base64," + "[" * 5000}))
    assert response.status_code == 400 and "base64" in detail(response)


@pytest.mark.parametrize("path", [PREDICT, SERVING])
@pytest.mark.parametrize("number", ["1" * 311, "1e999", "-" + "9" * 40, "0." + "1" * 300])
def test_oversized_numbers_are_400(client, capsys, path, number):
    key, cell = ("pixels", number) if path == PREDICT else ("instances", f"[{number}]")
    capsys.readouterr()
    response = post_json(client, path, f'{{"{key}": [[{cell}]]}}')
    assert response.status_code == 400, response.text
    assert "number" in detail(response) and "Traceback" not in capsys.readouterr().out
    assert len(response.content) < 500


@pytest.mark.parametrize(("value", "words"), [
    ("true", "pixels[0][0] is true"), ("null", "pixels[0][0] is null"), ('"7"', 'pixels[0][0] is the string "7"'),
    ("{}", "pixels[0][0] is an object"),
])
def test_non_numbers_in_pixels_are_named_in_plain_words(client, value, words):
    row = "[" + ",".join([value] + ["0"] * 27) + "]"
    response = post_json(client, PREDICT, '{"pixels": [' + ",".join([row] * 28) + "]}")
    assert response.status_code == 422
    assert detail(response) == f"{words}; expected grey levels from 0 (black) to 255 (white)"
    assert "Input should" not in detail(response) and "outside" not in detail(response)


@pytest.mark.parametrize("value", ["true", "null", '"0.5"'])
def test_non_numbers_in_instances_are_named(client, value):
    row = "[" + ",".join([value] + ["0"] * 27) + "]"
    response = post_json(client, SERVING, '{"instances": [[' + ",".join([row] * 28) + "]]}")
    assert 400 <= response.status_code < 500
    assert "Input should" not in detail(response) and "outside [0, 1]" not in detail(response)


def true_depth(value: object) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    return 0 if children is None else 1 + max(map(true_depth, children), default=0)


JSON_TEXT = st.text(alphabet='"\\[]{}ab\u00e9\n', max_size=8)
JSON_VALUES = st.recursive(st.none() | st.integers() | JSON_TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(JSON_TEXT, inner, max_size=3),
                           max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_the_depth_scan_counts_only_brackets_outside_strings(value, ascii_only):
    """Strings full of quotes, backslashes and brackets, escaped every way JSON allows."""
    from reading import json_structure

    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert json_structure(text) == (true_depth(value), False)
    if b'"' in text:  # cut just after the first quote: the text ends inside a string
        assert json_structure(text[:text.index(b'"') + 1]).open_string


def test_an_emoji_escaped_as_a_surrogate_pair_is_text(client):
    response = post_json(client, "/v2/models/digits/infer", json.dumps({
        "id": "\U0001f600", "inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 28, 28, 1],
                                      "data": [0.0] * 784}]}))
    assert response.status_code == 200 and response.json()["id"] == "\U0001f600"


def test_a_content_length_in_other_digits_is_400_through_lambda(seven_png):
    """API Gateway passes headers as sent; str.isdigit takes "²", int() does not."""
    from tests.support.events import call_handler

    status, body = call_handler("/predict", seven_png, {"content-type": "image/png", "content-length": "\u00b2"})
    assert status == 400 and "Content-Length" in body["detail"] and "whole number" in body["detail"]


def test_an_upload_of_several_megabytes_is_never_written_to_disk(client, monkeypatch):
    """In the container /tmp is a 16 MiB tmpfs: uploads spilled there would fill it."""
    import tempfile

    import numpy as np

    from tests.support.images import encode

    def no_disk(self):
        raise AssertionError("the upload was spilled to a temporary file")

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", no_disk)
    noise = np.random.default_rng(0).integers(0, 256, (1200, 1200), dtype=np.uint8)
    noise[400:800, 550:650] = 0  # a 1, dark on noisy paper
    picture = encode(noise)
    assert len(picture) > 1024 * 1024
    response = client.post("/predict", files={"file": ("digit.png", picture, "image/png")})
    assert response.status_code in (200, 422), response.text  # read whole, in memory


# --- the last line of defence ---------------------------------------------------------------


def test_an_unexpected_error_is_a_json_500_with_id_cors_and_one_log_line(client, capsys, monkeypatch, seven_png):
    import preprocessing

    def broken(pixels):
        raise RuntimeError("simulated fault\nwith a second line")

    monkeypatch.setattr(preprocessing, "digit_image", broken)
    capsys.readouterr()
    response = client.post(PREDICT, content=seven_png,
                           headers={"Content-Type": "image/png", "Origin": "null", "X-Request-Id": "boom-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "boom-1"
    assert response.headers["access-control-allow-origin"] == "null"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "boom-1" in response.json()["detail"]
    out = capsys.readouterr().out
    assert "Traceback" not in out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' not in line]
    assert len(lines) == 1
    assert lines[0]["status"] == 500 and lines[0]["level"] == "ERROR"
    assert lines[0]["error"].startswith("unexpected RuntimeError: simulated fault")
    # the connection stays usable
    assert client.get("/health").status_code == 200


def test_an_unexpected_error_under_the_protocols_is_a_500_in_their_shape(client, monkeypatch):
    import classifier

    def broken(self, images):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(classifier.Classifier, "predict", broken)
    response = post_json(client, "/v2/models/digits/infer", json.dumps({
        "inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 28, 28, 1], "data": [0.0] * 784}]}))
    assert response.status_code == 500
    assert set(response.json()) == {"error"} and "request id" in response.json()["error"]


# --- security headers -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/docs", "/predict", "/nowhere"])
def test_security_headers_on_everything(client, path):
    response = client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def policy(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_page_policy_allows_what_the_page_uses_and_no_inline_code(tmp_path):
    from fastapi.testclient import TestClient

    from app import create_app

    inline = 'if (!window.jQuery) document.getElementById("boot-error").hidden = false;'
    (tmp_path / "index.html").write_text(f'<!doctype html><script src="js/app.js"></script><script>{inline}</script>')
    with TestClient(create_app(tmp_path)) as page_client:
        csp = policy(page_client.get("/").headers["content-security-policy"])
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert csp["script-src"] == ["'self'", "'wasm-unsafe-eval'", f"'sha256-{digest}'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["worker-src"] == ["'self'", "blob:"]
    assert {"data:", "blob:"} <= set(csp["img-src"])
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]


def test_shipped_page_uses_only_local_scripts():
    html = (PROJECT_ROOT / "web" / "index.html").read_text()
    sources = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    assert sources and not [source for source in sources if re.match(r"(https?:)?//", source)]


# --- /docs offline ----------------------------------------------------------------------------


def test_docs_use_only_local_assets_and_they_are_served(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert references and not [ref for ref in references if re.match(r"(https?:)?//", ref)], references
    assert "<script>" not in page.text  # no inline code: the start script is a file
    for reference in references:
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        assert len(asset.content) > 100
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript") and len(bundle.content) > 1_000_000
    start = client.get("/docs/start.js").text
    assert "SwaggerUIBundle" in start and "validatorUrl: null" in start
    openapi_url = re.search(r'data-openapi="([^"]+)"', page.text)[1]
    assert client.get(openapi_url).json()["info"]["title"]
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN
