"""Property-based tests from the app's own OpenAPI schema (schemathesis).

For every operation and every request form it documents, generated requests, valid and
invalid, must never get a 500 and every answer must match the schema: a documented status,
a documented content type, a body of the documented shape.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app import app

# Raw image bodies are documented as binary strings; send what is generated as it is.
schemathesis.serializer.alias("image/bmp", "application/octet-stream")

schema = schemathesis.openapi.from_asgi("/openapi.json", app)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case):
    case.call_and_validate(checks=CHECKS)
