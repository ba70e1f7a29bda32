"""The container image, run as the Kubernetes manifest runs it: answers, model, start and stop."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest

from tests.support import PROJECT_ROOT
from tests.support.containers import remove, run_container, start_container, wait_until_ready
from tests.support.images import encode

MODEL_DIR = PROJECT_ROOT / "lambda" / "model"
DIGITS_SENT = 40
STOP_TIMEOUT = 10.0  # a bound for "stops on SIGTERM", far above the second it takes; not a performance goal


def image_config(image: str) -> dict:
    completed = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)[0]["Config"]


def test_image_runs_as_a_numeric_non_root_user_on_port_8080(image):
    config = image_config(image)
    user, _, group = config["User"].partition(":")
    assert user.isdigit() and int(user) != 0 and group.isdigit()
    assert "8080/tcp" in config["ExposedPorts"]


def test_runtime_stage_holds_no_tensorflow_and_precompiled_bytecode(image):
    script = ("import importlib.util, pathlib, sys; "
              "assert importlib.util.find_spec('tensorflow') is None; "
              "assert importlib.util.find_spec('ai_edge_litert') is not None; "
              "app = pathlib.Path(importlib.util.find_spec('app').origin); "
              "assert list((app.parent / '__pycache__').glob('app.cpython-311.pyc')), 'app not compiled'; "
              "fastapi = pathlib.Path(importlib.util.find_spec('fastapi').origin).parent; "
              "assert list((fastapi / '__pycache__').glob('applications.cpython-311.pyc')), 'fastapi not compiled'; "
              "print(sys.version)")
    completed = subprocess.run(["docker", "run", "--rm", "--read-only", "--entrypoint", "python3", image, "-c", script],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("3.11.")


def test_health(service):
    answer = httpx.get(f"{service.url}/health", timeout=10)
    assert answer.status_code == 200
    card = json.loads((MODEL_DIR / "card.json").read_text())
    assert answer.json() == {"status": "ok", "model_version": card["version"]}


def test_the_page_is_served_at_the_root(service):
    page = httpx.get(f"{service.url}/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<canvas" in page.text
    # the page's own model is served too (browser mode)
    assert httpx.get(f"{service.url}/model/model.json", timeout=10).status_code == 200


def test_the_healthcheck_passes(service, image):
    command = image_config(image)["Healthcheck"]["Test"]
    assert command[0] == "CMD"
    completed = subprocess.run(["docker", "exec", service.id, *command[1:]], capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 0, completed.stderr


@pytest.fixture(scope="module")
def mnist_pngs(mnist):
    rng = np.random.default_rng(7)
    chosen = rng.choice(len(mnist.x_test), DIGITS_SENT, replace=False)
    return [(encode(mnist.x_test[index]), int(mnist.y_test[index])) for index in chosen]


@pytest.fixture(scope="module")
def mnist():
    from model.data import load_mnist

    return load_mnist(allow_download=False)


@pytest.fixture(scope="module")
def in_process():
    from fastapi.testclient import TestClient

    from app import app

    with TestClient(app) as client:
        yield client


def test_mnist_digits_are_recognised_as_in_process(service, in_process, mnist_pngs):
    right = 0
    with httpx.Client(base_url=service.url, timeout=30) as client:
        for png, label in mnist_pngs:
            through_container = client.post("/predict", content=png, headers={"Content-Type": "image/png"})
            here = in_process.post("/predict", content=png, headers={"Content-Type": "image/png"})
            assert through_container.status_code == here.status_code == 200, through_container.text
            ours, theirs = through_container.json(), here.json()
            assert ours["digit"] == theirs["digit"]
            np.testing.assert_allclose(ours["probabilities"], theirs["probabilities"], atol=1e-6)
            right += ours["digit"] == label
    assert right >= DIGITS_SENT - 1  # 99.64 % of the test set: at most one miss expected in 40


def test_the_serving_protocols_answer_through_the_container(service, mnist):
    import tritonclient.http as httpclient

    images = (mnist.x_test[:20] / 255).astype(np.float32)[..., np.newaxis]
    triton = httpclient.InferenceServerClient(service.url.removeprefix("http://"), network_timeout=60)
    try:
        assert triton.is_server_ready() and triton.is_model_ready("digits")
        tensor = httpclient.InferInput("image", list(images.shape), "FP32")
        tensor.set_data_from_numpy(images)
        through_v2 = triton.infer("digits", [tensor]).as_numpy("probabilities")
    finally:
        triton.close()
    with httpx.Client(base_url=service.url, timeout=30) as client:
        through_v1 = client.post("/v1/models/digits:predict", json={"instances": images.tolist()})
        assert through_v1.status_code == 200, through_v1.text
        assert "serving_default" in client.get("/v1/models/digits/metadata").text
    np.testing.assert_allclose(through_v2, np.array(through_v1.json()["predictions"]), atol=1e-6)
    assert (through_v2.argmax(1) == mnist.y_test[:20]).mean() >= 0.95


def test_client_against_the_container(service):
    sample = PROJECT_ROOT / "docs" / "digit.png"
    arguments = [str(sample)] if sample.is_file() else ["--sample"]
    completed = subprocess.run([sys.executable, "client.py", "--url", service.url, *arguments],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert any(character.isdigit() for character in completed.stdout)


def copied_model(tmp_path, version: str):
    folder = tmp_path / "model"
    shutil.copytree(MODEL_DIR, folder)
    card = json.loads((folder / "card.json").read_text())
    card["version"] = version
    (folder / "card.json").write_text(json.dumps(card))
    for path in (folder, *folder.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def test_a_mounted_model_folder_replaces_the_baked_in_model(image, tmp_path):
    folder = copied_model(tmp_path, "mounted-20990101")
    with run_container(image, env={"DIGITS_MODEL_DIR": "/models"}, mounts=[(folder, "/models")]) as container:
        assert httpx.get(f"{container.url}/health", timeout=10).json()["model_version"] == "mounted-20990101"
        assert httpx.get(f"{container.url}/model", timeout=10).json()["version"] == "mounted-20990101"


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_a_broken_mounted_model_stops_the_container_with_one_line(image, tmp_path, damage):
    folder = copied_model(tmp_path, "broken")
    if damage == "truncated":
        model = folder / "digits.tflite"
        model.write_bytes(model.read_bytes()[:5000])
    else:
        (folder / "digits.tflite").unlink()
    container_id = start_container(image, env={"DIGITS_MODEL_DIR": "/models"}, mounts=[(folder, "/models")])
    try:
        status = int(subprocess.run(["docker", "wait", container_id], capture_output=True, text=True,
                                    timeout=120).stdout.strip())
        logs = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True)
    finally:
        remove(container_id)
    assert status != 0
    lines = [line for line in (logs.stdout + logs.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "digits.tflite" in lines[0] and "Traceback" not in lines[0]


def test_sigterm_stops_it_cleanly_and_quickly(image):
    container_id = start_container(image)
    try:
        wait_until_ready(container_id)
        started = time.monotonic()
        # `docker stop --time` is how long Docker waits before SIGKILL: well beyond the bound.
        subprocess.run(["docker", "stop", "--time", "60", container_id], capture_output=True, timeout=120, check=True)
        seconds = time.monotonic() - started
        state = json.loads(subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True,
                                          check=True).stdout)[0]["State"]
    finally:
        remove(container_id)
    print(f"stopped {seconds:.2f} s after SIGTERM")
    assert state["ExitCode"] == 0 and not state["OOMKilled"]
    assert seconds < STOP_TIMEOUT
