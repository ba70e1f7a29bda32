"""End to end: `sam build`, then `sam local start-api` in Docker, then real HTTP requests.

Offline, `sam local` cannot pull the Lambda emulation image, so the stand-in from
deploy/lambda_standin.py (`make sam-image`) is built (once; it is cached by tag) and passed with
`--invoke-image ... --skip-pull-image`. Everything this test starts (dockerd if it was not
running, sam, the function's containers) is stopped when it ends. Without Docker it skips,
saying so; under CI=true a skip fails the run.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from deploy import lambda_standin
from deploy.debian_base import BuildError
from tests.support import PROJECT_ROOT
from tests.support.containers import docker_answers
from tests.support.drawing import canvas
from tests.support.images import encode
from tests.support.servers import free_port

SAM = Path(sys.executable).with_name("sam")
MAX_FUNCTION_BYTES = 250 * 1000 * 1000  # Lambda's limit for an unzipped function
SAM_ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def start_dockerd(log_path: Path) -> subprocess.Popen | None:
    """Start dockerd when it is installed but not running; None when it was already up."""
    if docker_answers():
        return None
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.skip("Docker is not available (no running daemon, and dockerd cannot be started here); "
                    "install docker.io and run as root, or start Docker, to run the sam local end-to-end test")
    daemon = subprocess.Popen(["dockerd"], stdout=log_path.open("w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    for _ in range(120):
        if docker_answers():
            return daemon
        if daemon.poll() is not None:
            break
        time.sleep(0.5)
    daemon.terminate()
    pytest.fail(f"dockerd did not come up; see {log_path}:\n{log_path.read_text()[-2000:]}")


def stand_in_image() -> str:
    tag = lambda_standin.image_tag()
    if lambda_standin.image_exists(tag):
        return tag
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.skip(f"the stand-in Lambda image {tag} is missing and cannot be built here (needs root and "
                    "debootstrap); run `sudo make sam-image` first")
    try:
        return lambda_standin.ensure_image()
    except BuildError as error:
        pytest.fail(f"could not build the stand-in Lambda image: {error}")


def request(url: str, body: bytes | None = None, content_type: str | None = None,
            method: str | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    all_headers = dict(headers or {})
    if content_type:
        all_headers["Content-Type"] = content_type
    call = urllib.request.Request(url, data=body, headers=all_headers, method=method)
    try:
        with urllib.request.urlopen(call, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def stop(process: subprocess.Popen, first: int = signal.SIGINT) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, first)
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def sam_api(tmp_path_factory):
    if shutil.which("docker") is None:
        pytest.skip("Docker is not installed; install docker.io (or Docker) to run the sam local end-to-end test")
    scratch = tmp_path_factory.mktemp("sam")
    daemon = start_dockerd(scratch / "dockerd.log")
    sam = None
    try:
        image = stand_in_image()
        build_dir = scratch / "build"
        built = subprocess.run([str(SAM), "build", "--template-file", "template.yaml", "--build-dir", str(build_dir)],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, env=SAM_ENV)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]

        port = free_port()
        log = (scratch / "sam-local.log").open("w")
        sam = subprocess.Popen(
            [str(SAM), "local", "start-api", "--template-file", str(build_dir / "template.yaml"),
             "--host", "127.0.0.1", "--port", str(port), "--invoke-image", image, "--skip-pull-image",
             "--warm-containers", "EAGER"],
            cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, env=SAM_ENV, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if sam.poll() is not None:
                pytest.fail("sam local start-api exited:\n" + (scratch / "sam-local.log").read_text()[-3000:])
            try:
                if request(url + "/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        else:
            pytest.fail("sam local start-api did not answer within 300 s:\n"
                        + (scratch / "sam-local.log").read_text()[-3000:])
        yield {"url": url, "build_dir": build_dir, "log": scratch / "sam-local.log", "image": image, "process": sam}
    finally:
        if sam is not None:
            stop(sam)
            leftovers = subprocess.run(
                ["docker", "ps", "-aq", "--filter", f"ancestor={image.split(':')[0]}:rapid-x86_64"],
                capture_output=True, text=True).stdout.split()
            if leftovers:
                subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True)
        if daemon is not None:
            stop(daemon, signal.SIGTERM)


def test_built_function_fits_in_a_zip_lambda(sam_api):
    function_dir = sam_api["build_dir"] / "DigitsFunction"
    size = sum(path.stat().st_size for path in function_dir.rglob("*") if path.is_file())
    assert size < MAX_FUNCTION_BYTES
    assert (function_dir / "model" / "digits.tflite").is_file()
    assert not (function_dir / "tensorflow").exists()
    # precompiled, because /var/task is read-only and compiling at each cold start is slow
    assert list((function_dir / "fastapi" / "__pycache__").glob("applications.cpython-311.pyc"))
    assert list((function_dir / "__pycache__").glob("app.cpython-311.pyc"))


def test_health_through_api_gateway(sam_api):
    status, _, body = request(sam_api["url"] + "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"


def prediction(status: int, body: bytes) -> int:
    assert status == 200, body
    return json.loads(body)["digit"]


def test_multipart_upload(sam_api):
    boundary = "digit-boundary"
    png = encode(canvas(7, mode="transparent-black"))
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"seven.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{boundary}--\r\n".encode()
    status, _, answer = request(sam_api["url"] + "/predict", body, f"multipart/form-data; boundary={boundary}")
    assert prediction(status, answer) == 7


def test_raw_png(sam_api):
    status, _, answer = request(sam_api["url"] + "/predict", encode(canvas(3, width=200, height=200, stroke=13)),
                                "image/png")
    assert prediction(status, answer) == 3


def test_data_url(sam_api):
    data_url = "data:image/png;base64," + base64.b64encode(encode(canvas(8, mode="transparent-white"))).decode()
    status, _, answer = request(sam_api["url"] + "/predict", json.dumps({"image": data_url}).encode(),
                                "application/json")
    assert prediction(status, answer) == 8


def test_pixels(sam_api):
    pixels = canvas(4, width=28, height=28, size=20, stroke=2.5, mode="white-on-black").tolist()
    status, _, answer = request(sam_api["url"] + "/predict", json.dumps({"pixels": pixels}).encode(),
                                "application/json")
    assert prediction(status, answer) == 4


def test_tensorflow_serving_predict(sam_api):
    instance = (canvas(4, width=28, height=28, size=20, stroke=2.5, mode="white-on-black") / 255).round(3).tolist()
    status, _, answer = request(sam_api["url"] + "/v1/models/digits:predict",
                                json.dumps({"instances": [instance, instance]}).encode(), "application/json")
    assert status == 200
    predictions = json.loads(answer)["predictions"]
    assert len(predictions) == 2 and max(range(10), key=predictions[0].__getitem__) == 4


def test_tensorflow_serving_metadata_and_columnar_predict(sam_api):
    status, _, answer = request(sam_api["url"] + "/v1/models/digits/metadata")
    assert status == 200
    assert "serving_default" in json.loads(answer)["metadata"]["signature_def"]["signature_def"]
    instance = (canvas(7, width=28, height=28, size=20, stroke=2.5, mode="white-on-black") / 255).round(3).tolist()
    status, _, answer = request(sam_api["url"] + "/v1/models/digits:predict",
                                json.dumps({"inputs": {"image": [instance]}}).encode(), "application/json")
    assert status == 200
    assert int(np.argmax(json.loads(answer)["outputs"][0])) == 7
    status, _, answer = request(sam_api["url"] + "/v1/models/letters")
    assert status == 404 and "not served here" in json.loads(answer)["error"]


@pytest.mark.parametrize("binary", [False, True], ids=["json-tensors", "binary-tensors"])
def test_open_inference_protocol_with_tritonclient(sam_api, binary, mnist, classifier):
    import tritonclient.http as httpclient

    triton = httpclient.InferenceServerClient(sam_api["url"].removeprefix("http://"), network_timeout=120)
    try:
        assert triton.is_server_live() and triton.is_server_ready() and triton.is_model_ready("digits")
        assert triton.get_model_metadata("digits")["inputs"][0]["shape"] == [-1, 28, 28, 1]
        images = (mnist.x_test[:20] / 255).astype(np.float32)[..., np.newaxis]
        tensor = httpclient.InferInput("image", list(images.shape), "FP32")
        tensor.set_data_from_numpy(images, binary_data=binary)
        result = triton.infer("digits", [tensor],
                              outputs=[httpclient.InferRequestedOutput("probabilities", binary_data=binary)])
        np.testing.assert_allclose(result.as_numpy("probabilities"), classifier.predict(images), atol=1e-6)
    finally:
        triton.close()


def test_errors_keep_their_status_and_detail(sam_api):
    status, _, answer = request(sam_api["url"] + "/predict", b"seven", "text/plain")
    assert status == 415 and "not supported" in json.loads(answer)["detail"]
    status, _, answer = request(sam_api["url"] + "/predict", encode(np.full((120, 120, 3), 255, np.uint8)), "image/png")
    assert status == 422 and "no digit found" in json.loads(answer)["detail"]


def test_cors_preflight_for_a_page_opened_from_disk(sam_api):
    status, headers, _ = request(sam_api["url"] + "/predict", method="OPTIONS",
                                 headers={"Origin": "null", "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "content-type"})
    allowed = {key.lower(): value for key, value in headers.items()}.get("access-control-allow-origin")
    assert status in (200, 204) and allowed in ("*", "null")


def test_docs_behind_the_api(sam_api):
    status, _, body = request(sam_api["url"] + "/openapi.json")
    assert status == 200 and "/predict" in json.loads(body)["paths"]
    status, headers, page = request(sam_api["url"] + "/docs")
    assert status == 200
    # Swagger UI's files come from the zip (swagger-ui-bundle-v2), not a CDN
    references = re.findall(r'(?:src|href)="([^"]+)"', page.decode())
    assert references and all(reference.startswith("/") for reference in references), references
    for reference in references:
        status, _, asset = request(sam_api["url"] + reference)
        assert status == 200 and len(asset) > 100, reference
    assert {key.lower(): value for key, value in headers.items()}["x-content-type-options"] == "nosniff"


def test_request_log_reaches_the_function_log(sam_api):
    request(sam_api["url"] + "/predict", encode(canvas(3, width=200, height=200, stroke=13)), "image/png")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in sam_api["log"].read_text().splitlines() if line.startswith('{"level"')]
        if any(line.get("digit") == 3 and line.get("status") == 200 and line.get("cold_start") is not None
               for line in lines):
            return
        time.sleep(0.5)
    pytest.fail("no JSON request log line with the digit in sam local's output")


def test_stopping_sam_local_is_clean(sam_api):
    """Ctrl+C, as a person stops it: no error or traceback from the function's runtime. (Last in
    this module: it stops the server the tests above share.)"""
    request(sam_api["url"] + "/health")
    stop(sam_api["process"])
    log = sam_api["log"].read_text()
    assert sam_api["process"].returncode is not None
    assert "Failed to get next invocation" not in log and "Traceback" not in log, log[-3000:]
    assert "GET /health 200" in log  # the function's lines still reach the terminal
