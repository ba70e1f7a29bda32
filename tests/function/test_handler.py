"""app.handler called as Lambda calls it, with the API Gateway events kept in events/."""

from __future__ import annotations

import json

import pytest

from tests.support import EVENTS_DIR
from tests.support.events import LambdaContext, body_of

EVENTS = {path.stem: json.loads(path.read_text()) for path in sorted(EVENTS_DIR.glob("*.json"))}
EXPECTED = {  # event -> (status, digit or words in the error)
    "predict-multipart": (200, 7),
    "predict-png": (200, 3),
    "predict-data-url": (200, 7),
    "predict-pixels": (200, 4),
    "serving-predict": (200, 4),
    "health": (200, None),
    "model": (200, None),
    "error-unsupported-type": (415, "not supported"),
    "error-blank-canvas": (422, "no digit found"),
    "error-decompression-bomb": (413, "not decoded"),
    "error-bad-base64": (400, "base64"),
    "error-nested-json": (400, "levels deep"),
}


def test_every_event_has_an_expectation():
    assert set(EVENTS) == set(EXPECTED), "events/ and this test disagree; run `make events`"


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_events_have_the_http_api_2_0_shape(name):
    event = EVENTS[name]
    assert event["version"] == "2.0"
    assert event["requestContext"]["http"]["method"] in ("GET", "POST")
    assert event["rawPath"] == event["requestContext"]["http"]["path"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_handler_answers_each_event(name, app, classifier):
    from app import handler

    status, expected = EXPECTED[name]
    response = handler(EVENTS[name], LambdaContext())
    assert response["statusCode"] == status
    assert response["headers"]["content-type"] == "application/json"
    body = body_of(response)
    if name == "serving-predict":
        assert max(range(10), key=body["predictions"][0].__getitem__) == expected
    elif name.startswith("predict"):
        assert body["digit"] == expected and body["model_version"] == classifier.version
        assert body["uncertain"] is (body["confidence"] < classifier.uncertainty.threshold)
    elif name == "health":
        assert body == {"status": "ok", "model_version": classifier.version}
    elif name == "model":
        assert body["version"] == classifier.version
    else:
        assert expected in body["detail"]


def test_handler_logs_lambda_request_id(app, capsys):
    from app import handler

    capsys.readouterr()
    context = LambdaContext(aws_request_id="0f1e2d3c-lambda-request")
    response = handler(EVENTS["predict-png"], context)
    assert response["headers"]["x-request-id"] == "0f1e2d3c-lambda-request"
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    lines = [line for line in out if "_aws" not in line]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "0f1e2d3c-lambda-request"
    assert line["status"] == 200 and line["digit"] == 3 and line["path"] == "/predict"
    # Powertools adds Lambda's context; the correlation id is API Gateway's request id
    assert line["correlation_id"] == "event-predict-png"
    assert line["function_name"] == "DigitsFunction" and line["function_request_id"] == "0f1e2d3c-lambda-request"
    assert isinstance(line["cold_start"], bool)
    metrics = [line for line in out if "_aws" in line]
    assert any(metric.get("digit") == "3" and metric.get("Predictions") == [1.0] for metric in metrics)


def test_handler_serves_docs_and_schema(app):
    from app import handler

    for path in ("/docs", "/openapi.json"):
        event = json.loads(json.dumps(EVENTS["health"]))
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        response = handler(event, LambdaContext())
        assert response["statusCode"] == 200
    assert "/predict" in body_of(response)["paths"]
