"""The same image as a Lambda container image: with AWS_LAMBDA_RUNTIME_API set it runs
`app.handler` under awslambdaric. Tested through the Lambda runtime interface emulator that
SAM ships (samcli/local/rapid/aws-lambda-rie-x86_64), which serves Lambda's invoke API and
starts the image's entrypoint with AWS_LAMBDA_RUNTIME_API pointing at itself.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import EVENTS_DIR, PROJECT_ROOT
from tests.support.containers import STARTUP_TIMEOUT, host_url, remove, running, start_container

INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def emulator() -> Path:
    import samcli

    path = Path(samcli.__file__).parent / "local" / "rapid" / "aws-lambda-rie-x86_64"
    if not path.is_file():
        pytest.fail(f"SAM's runtime interface emulator is not at {path}")
    return path


@pytest.fixture(scope="module")
def lambda_container(image):
    container_id = start_container(
        image, mounts=[(emulator(), "/usr/local/bin/aws-lambda-rie")],
        extra=["--entrypoint", "/usr/local/bin/aws-lambda-rie"],
        command=["python3", "/opt/digits/entrypoint.py", "app.handler"])
    try:
        yield container_id
    finally:
        remove(container_id)


def invoke(container_id: str, event: dict) -> dict:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        url = host_url(container_id)
        try:
            if url:
                answer = httpx.post(url + INVOKE_PATH, json=event, timeout=60)
                if answer.status_code == 200:
                    return answer.json()
        except httpx.TransportError:
            pass
        if not running(container_id) or time.monotonic() > deadline:
            logs = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True)
            pytest.fail(f"the emulator did not answer:\n{(logs.stdout + logs.stderr)[-3000:]}")
        time.sleep(0.2)


def test_health_event(lambda_container):
    answer = invoke(lambda_container, json.loads((EVENTS_DIR / "health.json").read_text()))
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["status"] == "ok"


def test_png_event_is_recognised(lambda_container):
    event = json.loads((EVENTS_DIR / "predict-png.json").read_text())
    answer = invoke(lambda_container, event)
    assert answer["statusCode"] == 200, answer
    body = answer["body"]
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body)
    assert 0 <= json.loads(body)["digit"] <= 9


def test_the_entrypoint_starts_awslambdaric_only_when_the_runtime_api_is_set(lambda_container):
    top = subprocess.run(["docker", "exec", lambda_container, "cat", "/proc/1/cmdline"],
                                       capture_output=True, text=True)
    assert "aws-lambda-rie" in top.stdout
    processes = subprocess.run(
        ["docker", "exec", lambda_container, "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"],
        capture_output=True, text=True).stdout
    assert "-m awslambdaric app.handler" in processes
    assert "uvicorn" not in processes


def test_the_image_function_template_is_valid():
    template = PROJECT_ROOT / "deploy" / "lambda-image" / "template.yaml"
    completed = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(template)],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
