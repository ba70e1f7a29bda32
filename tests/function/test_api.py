"""The HTTP API through FastAPI's test client: every request form, every error status."""

from __future__ import annotations

import base64
import gzip
import io
import json

import numpy as np
import pytest
from PIL import Image

from settings import settings
from tests.support.drawing import canvas
from tests.support.images import encode

CANVAS_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "BMP": "image/bmp", "GIF": "image/gif"}


def assert_prediction(response, digit: int, version: str) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) - {"alternatives"} == {"digit", "confidence", "probabilities", "uncertain", "number", "digits",
                                            "model_version"}
    assert ("alternatives" in body) is body["uncertain"]
    assert body["digit"] == digit
    assert len(body["probabilities"]) == 10 and abs(sum(body["probabilities"]) - 1) < 1e-4
    assert body["confidence"] == max(body["probabilities"]) == body["probabilities"][digit]
    assert body["model_version"] == version
    # One digit: the number is that digit, and its one entry repeats the answer with where it is.
    assert body["number"] == str(digit)
    [entry] = body["digits"]
    assert {key: entry[key] for key in entry if key != "box"} == {
        key: body[key] for key in ("digit", "confidence", "probabilities", "uncertain", "alternatives") if key in body}
    x, y, width, height = entry["box"]
    assert x >= 0 and y >= 0 and width > 0 and height > 0
    return body


def assert_error(response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    for word in words:
        assert word in detail
    return detail


# --- the four request forms --------------------------------------------------------------


def test_multipart_upload(client, classifier, seven_png):
    response = client.post("/predict", files={"file": ("seven.png", seven_png, "image/png")})
    body = assert_prediction(response, 7, classifier.version)
    assert body["confidence"] > 0.9


@pytest.mark.parametrize("image_format", list(CANVAS_TYPES))
def test_raw_image_body(client, classifier, image_format):
    pixels = canvas(3, width=200, height=200, stroke=13)
    response = client.post("/predict", content=encode(pixels, image_format),
                           headers={"Content-Type": CANVAS_TYPES[image_format]})
    assert_prediction(response, 3, classifier.version)


@pytest.mark.parametrize("prefix", ["data:image/png;base64,", ""], ids=["data-url", "bare-base64"])
def test_json_image(client, classifier, seven_png, prefix):
    response = client.post("/predict", json={"image": prefix + base64.b64encode(seven_png).decode()})
    assert_prediction(response, 7, classifier.version)


def test_json_pixels_of_mnist_test_digits(client, classifier, mnist):
    for index in range(5):
        response = client.post("/predict", json={"pixels": mnist.x_test[index].tolist()})
        assert_prediction(response, int(mnist.y_test[index]), classifier.version)


def test_json_pixels_may_be_fractional(client, classifier, mnist):
    pixels = (mnist.x_test[0] * 0.999).tolist()
    assert_prediction(client.post("/predict", json={"pixels": pixels}), int(mnist.y_test[0]), classifier.version)


def test_every_form_gives_the_same_answer(client, seven_png):
    answers = [
        client.post("/predict", files={"file": ("seven.png", seven_png, "image/png")}).json(),
        client.post("/predict", content=seven_png, headers={"Content-Type": "image/png"}).json(),
        client.post("/predict", json={"image": "data:image/png;base64," + base64.b64encode(seven_png).decode()}).json(),
    ]
    assert answers[0] == answers[1] == answers[2]


def test_content_type_parameters_and_case_are_ignored(client, classifier, seven_png):
    response = client.post("/predict", content=seven_png, headers={"Content-Type": "IMAGE/PNG; name=seven.png"})
    assert_prediction(response, 7, classifier.version)


# --- health, model card, docs ------------------------------------------------------------


def test_health(client, classifier):
    assert client.get("/health").json() == {"status": "ok", "model_version": classifier.version}


def test_model_card_is_the_shipped_card(client, classifier):
    card = client.get("/model").json()
    assert card == classifier.card.data
    assert card["preprocessing"]["box"] == 20 and card["classes"] == [str(d) for d in range(10)]


def test_openapi_describes_every_request_form_and_error(client):
    schema = client.get("/openapi.json").json()
    predict = schema["paths"]["/predict"]["post"]
    assert set(predict["requestBody"]["content"]) == {
        "multipart/form-data", "image/png", "image/jpeg", "image/webp", "image/bmp", "image/gif", "application/json"}
    assert {"200", "400", "413", "415", "422"} <= set(predict["responses"])
    assert predict["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorMessage")
    assert "/v1/models/{name}:predict" in schema["paths"]


def test_openapi_examples_are_pngs_of_a_number_and_a_digit_read_as_documented(client, classifier):
    schema = client.get("/openapi.json").json()
    forms = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    number, digit = next(form for form in forms if "image" in form["properties"])["examples"]
    assert number["image"].startswith("data:image/png;base64,") and digit["image"].startswith("data:image/png;base64,")
    assert client.post("/predict", json=number).json()["number"] == "42"
    assert_prediction(client.post("/predict", json=digit), 3, classifier.version)
    answer = schema["components"]["schemas"]["Prediction"]["examples"][0]
    assert answer["number"] == "".join(str(entry["digit"]) for entry in answer["digits"])


# --- errors: each with its status and a sentence ------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "image/tiff", "application/octet-stream"])
def test_unsupported_content_type_is_415(client, content_type):
    assert_error(client.post("/predict", content=b"seven", headers={"Content-Type": content_type}), 415,
                 "not supported", "image/png")


def test_missing_content_type_is_415(client):
    assert_error(client.post("/predict", content=b"seven"), 415, "(none)")


@pytest.mark.parametrize(("body", "content_type", "words"), [
    (b"\x89PNG\r\n\x1a\nnot really", "image/png", ["not a readable image"]),
    (b"", "image/jpeg", ["empty"]),
    (b'{"image": "data:image/png;base64,@@@@"}', "application/json", ["base64"]),
    (b'{"image": "data:image/png,raw"}', "application/json", ["base64"]),
    (b'{"image": "aGVsbG8gd29ybGQ="}', "application/json", ["not a readable image"]),
    (b'{"pixels": [1, 2', "application/json", ["not valid JSON"]),
    (b'{"pixels": NaN}', "application/json", ["not valid JSON"]),
    (b"\xff\xfe", "application/json", ["not valid JSON"]),
    (b"--x\r\nbroken", "multipart/form-data; boundary=x", ["multipart"]),
    (b"--x\r\n", "multipart/form-data", ["multipart"]),
], ids=["bad-png", "empty", "bad-base64", "not-base64-data-url", "base64-of-text", "truncated-json", "nan",
        "not-utf8", "broken-multipart", "no-boundary"])
def test_undecodable_input_is_400(client, body, content_type, words):
    assert_error(client.post("/predict", content=body, headers={"Content-Type": content_type}), 400, *words)


def test_data_url_of_another_type_is_415(client):
    assert_error(client.post("/predict", json={"image": "data:text/plain;base64,aGVsbG8="}), 415, "text/plain")


def test_body_over_the_limit_is_413(client):
    body = b"\0" * (settings.max_body_bytes + 1)
    assert_error(client.post("/predict", content=body, headers={"Content-Type": "image/png"}), 413, "4.0 MB")


def test_body_over_the_limit_without_content_length_is_413(client):
    def chunks():
        for _ in range(5):
            yield b"\0" * (1024 * 1024)

    response = client.post("/predict", content=chunks(), headers={"Content-Type": "image/png"})
    assert_error(response, 413, "limit")


def test_decompression_bomb_is_413(client):
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG")
    assert_error(client.post("/predict", content=buffer.getvalue(), headers={"Content-Type": "image/png"}), 413,
                 "pixels", "not decoded")


@pytest.mark.parametrize(("body", "words"), [
    ({"pixels": [[0] * 28] * 27}, ["pixels", "28"]),
    ({"pixels": [[0] * 27] * 28}, ["pixels", "28"]),
    ({"pixels": [[300] * 28] * 28}, ["255"]),
    ({"pixels": [[-1] * 28] * 28}, ["0"]),
    ({"pixels": [["1"] * 28] * 28}, ["pixels[0][0]", 'the string "1"', "grey levels"]),
    ({"pixels": [[0] * 27 + [True]] * 28}, ["pixels[0][27] is true", "grey levels"]),
    ({"pixels": [[0] * 28] * 5 + [[0] * 3 + [None] + [0] * 24] * 23}, ["pixels[5][3] is null", "grey levels"]),
    ({"pixels": [[0] * 28] * 27 + [[0] * 27 + [[1]]]}, ["pixels[27][27] is a list of 1", "grey levels"]),
    ({"pixels": "all black"}, ["pixels", "28 rows of 28"]),
    ({"image": 42}, ["image", "string"]),
    ({"image": "x", "pixels": [[0] * 28] * 28}, ["either", "not both"]),
    ({}, ["image", "pixels"]),
    ([1, 2, 3], ["image", "pixels"]),
], ids=["27-rows", "27-columns", "over-255", "negative", "strings", "true", "null", "nested", "not-a-list",
        "image-not-string", "both", "neither", "not-an-object"])
def test_wrong_shapes_or_values_are_422(client, body, words):
    assert_error(client.post("/predict", json=body), 422, *words)


@pytest.mark.parametrize("pixels", [np.zeros((280, 280, 4), np.uint8), np.full((200, 200, 3), 255, np.uint8)],
                         ids=["transparent", "white"])
def test_blank_canvas_is_422_no_digit_found(client, pixels):
    assert_error(client.post("/predict", content=encode(pixels), headers={"Content-Type": "image/png"}), 422,
                 "no digit found")


def test_blank_pixels_are_422(client):
    assert_error(client.post("/predict", json={"pixels": [[0] * 28] * 28}), 422, "no digit found")


def test_multipart_without_the_file_field_is_422(client, seven_png):
    assert_error(client.post("/predict", files={"image": ("seven.png", seven_png, "image/png")}), 422,
                 "`file`", "image")
    assert_error(client.post("/predict", data={"file": "seven"},
                             files={"other": ("x.txt", b"x", "text/plain")}), 422, "file upload")


# --- CORS, request ids, logs ------------------------------------------------------------


@pytest.mark.parametrize("origin", ["null", "http://localhost:8000", "http://127.0.0.1:5500", "http://localhost"])
def test_cors_allows_the_page_from_disk_and_localhost(client, origin):
    preflight = client.options("/predict", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    answer = client.post("/predict", json={"pixels": [[0] * 28] * 28}, headers={"Origin": origin})
    assert answer.headers["access-control-allow-origin"] == origin  # errors are readable by the page too


def test_cors_does_not_allow_other_sites(client):
    preflight = client.options("/predict", headers={"Origin": "https://elsewhere.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_request_id_is_returned_and_kept_from_the_caller(client):
    assert len(client.get("/health").headers["x-request-id"]) >= 16
    assert client.get("/health", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert client.get("/health", headers={"X-Request-Id": "bad id\n"}).headers["x-request-id"] != "bad id\n"


def log_lines(text: str) -> list[dict]:
    """The request log's lines (the metrics' embedded-format lines carry `_aws` instead)."""
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" not in line]


def metric_lines(text: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def test_one_json_log_line_per_request(client, capsys, seven_png):
    capsys.readouterr()
    client.post("/predict", content=seven_png, headers={"Content-Type": "image/png", "X-Request-Id": "req-1"})
    client.post("/predict", json={"pixels": [[0] * 28] * 28}, headers={"X-Request-Id": "req-2"})
    lines = log_lines(capsys.readouterr().out)
    assert [line["request_id"] for line in lines] == ["req-1", "req-2"]
    ok, blank = lines
    assert ok["status"] == 200 and ok["digit"] == 7 and 0.9 < ok["confidence"] <= 1 and ok["path"] == "/predict"
    assert ok["latency_ms"] > 0 and ok["model_version"]
    assert blank["status"] == 422 and "no digit found" in blank["error"] and "digit" not in blank
    assert ok["service"] == "digits" and ok["level"] == "INFO" and blank["level"] == "WARNING"
    assert ok["correlation_id"] == "req-1" and ok["cold_start"] is False and ok["method"] == "POST"


def test_metrics_in_embedded_metric_format(client, capsys, seven_png):
    capsys.readouterr()
    client.post("/predict", content=seven_png, headers={"Content-Type": "image/png", "X-Request-Id": "m-1"})
    client.post("/predict", content=b"x", headers={"Content-Type": "text/plain", "X-Request-Id": "m-2"})
    metrics = metric_lines(capsys.readouterr().out)
    names = {(metric["Name"], tuple(sorted(directive["Dimensions"][0])))
             for line in metrics for directive in line["_aws"]["CloudWatchMetrics"] for metric in directive["Metrics"]}
    assert {("Requests", ("service",)), ("Latency", ("service",)), ("Predictions", ("digit", "service")),
            ("Errors", ("service", "status"))} <= names
    prediction = next(line for line in metrics if "Predictions" in line)
    assert prediction["digit"] == "7" and prediction["request_id"] == "m-1" and prediction["Predictions"] == [1.0]
    error = next(line for line in metrics if "Errors" in line)
    assert error["status"] == "415" and error["request_id"] == "m-2"
    assert all(line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DigitsClassifier" for line in metrics)


# --- the page and the model's lifetime --------------------------------------------------------


def test_page_is_served_at_root_when_web_exists(tmp_path):
    from fastapi.testclient import TestClient

    from app import create_app

    (tmp_path / "index.html").write_text("<!doctype html><title>Draw a digit</title>")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text("{}")
    with TestClient(create_app(tmp_path)) as page_client:
        assert "Draw a digit" in page_client.get("/").text
        assert page_client.get("/model/model.json").json() == {}
        assert page_client.get("/health").json()["status"] == "ok"  # the API still answers beside it


def test_without_a_page_root_leads_to_the_docs(tmp_path, client):
    from fastapi.testclient import TestClient

    from app import create_app

    with TestClient(create_app(tmp_path)) as bare:
        response = bare.get("/", follow_redirects=False)
    assert response.status_code in (302, 307) and response.headers["location"].endswith("docs")


def test_requests_never_load_the_model_again(client, monkeypatch, seven_png):
    import classifier as classifier_module

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded during a request")

    monkeypatch.setattr(classifier_module, "Interpreter", refuse)
    monkeypatch.setattr(classifier_module.Classifier, "__init__", refuse)
    for _ in range(3):
        assert client.post("/predict", content=seven_png, headers={"Content-Type": "image/png"}).status_code == 200


def test_the_page_is_served_compressed_and_cacheable(client):
    path = "/vendor/tf-core.es2017.min.js"
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as packed:
        sent = b"".join(packed.iter_raw())
    assert plain.status_code == packed.status_code == 200
    assert packed.headers["content-encoding"] == "gzip"
    assert len(sent) < 0.6 * len(plain.content)
    assert gzip.decompress(sent) == plain.content
    etag = plain.headers["etag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    small = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert small.status_code == 200
    assert "content-encoding" not in small.headers
