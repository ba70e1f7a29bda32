"""Property-based tests from the app's own OpenAPI schema (schemathesis), with every check
schemathesis has (the CLI's `--checks all`).

For every operation and every request form it documents, generated requests, valid and
invalid, must never get a 500 and every answer must match the schema: a documented status,
a documented content type, documented headers, a body of the documented shape; invalid
requests must be refused, and the documented examples (a real PNG) accepted.

The model-serving protocols (/v1, /v2) are here too, with their `{"error": ...}` answers;
test_serving_protocols.py checks them against the protocols themselves.
"""

from __future__ import annotations

import numpy as np
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from app import app

# Raw image bodies are documented as binary strings; send what is generated as it is.
schemathesis.serializer.alias("image/bmp", "application/octet-stream")

# A schema-valid picture may still hold no digit (422) or not be a readable image (400): JSON
# Schema cannot say "a PNG of a digit". So for /predict, valid data may also get those answers;
# test_api.py checks that the documented example, a real PNG, is recognised.
# Likewise a schema-valid serving request may name another model (404) or hold tensors of the
# wrong shape (400): the protocols' documents are JSON objects whose rules JSON Schema cannot say.
CONFIG = SchemathesisConfig.from_dict({"operations": [
    {"include-path-regex": "^/v[12]/",
     "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "413"]}}},
    {"include-path": "/predict", "include-method": "POST",
     "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "413", "415", "422"]}}},
]})
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)

load_all_checks()
ALL_CHECKS = CHECKS.get_all()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case):
    case.call_and_validate(checks=ALL_CHECKS)


def test_every_documented_error_has_the_shape_the_function_answers_with():
    """The docs name, for each route, the error body errors.py really sends there: `detail` for
    the API, `error` under the model-serving protocols' paths."""
    import errors

    document = app.openapi()
    schemas = document["components"]["schemas"]
    checked = 0
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith(("4", "5")):
                    continue
                reference = response["content"]["application/json"]["schema"]["$ref"]
                documented = set(schemas[reference.rsplit("/", 1)[1]]["properties"])
                assert documented == set(errors.error_body(path, "x")), (path, status, documented)
                checked += 1
    assert checked > 20


def test_docs_show_predict_first_under_its_own_tag_and_the_protocols_under_theirs():
    document = app.openapi()
    first_path, operations = next(iter(document["paths"].items()))
    assert first_path == "/predict" and operations["post"]["tags"] == ["Read a picture"]
    assert [tag["name"] for tag in document["tags"]] == [
        "Read a picture", "The service", "TensorFlow Serving REST API", "Open Inference Protocol (KServe v2)"]
    for path, operations in document["paths"].items():
        for operation in operations.values():
            [tag] = operation["tags"]  # nothing left under "default"
            expected = {"/v1/": "TensorFlow Serving REST API", "/v2": "Open Inference Protocol (KServe v2)"}
            assert tag == next((name for prefix, name in expected.items() if path.startswith(prefix)),
                               tag if path in ("/predict", "/health", "/model") else None), path


def test_each_documented_refusal_of_predict_is_what_the_function_answers():
    """Each status of /predict shows its own example, the very message a request that earns it gets
    (408 and 503 come from body_limits' own functions: test_body_limits.py holds them to it)."""
    from fastapi.testclient import TestClient

    from tests.support.images import encode

    responses = app.openapi()["paths"]["/predict"]["post"]["responses"]
    examples = {int(status): response["content"]["application/json"]["example"]["detail"]
                for status, response in responses.items() if status.startswith(("4", "5"))}
    assert set(examples) == {400, 408, 413, 415, 422, 503}
    assert len(set(examples.values())) == len(examples)
    client = TestClient(app)
    blank = encode(np.full((60, 60), 255, dtype=np.uint8))
    earned = {
        400: client.post("/predict", content=b"not a picture", headers={"content-type": "image/png"}),
        413: client.post("/predict", content=b"\0" * (5 * 1024 * 1024), headers={"content-type": "image/png"}),
        415: client.post("/predict", content=blank, headers={"content-type": "text/plain"}),
        422: client.post("/predict", content=blank, headers={"content-type": "image/png"}),
    }
    for status, response in earned.items():
        assert response.status_code == status
        assert response.json() == {"detail": examples[status]}
    assert examples[408].startswith("the request body stopped arriving: no bytes for ")
    assert examples[503].startswith("the server is receiving as many request bodies as it can hold")
