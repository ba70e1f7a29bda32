"""Fixtures for the container tests: Docker, the image, and containers run as Kubernetes runs them.

* Docker: a running daemon is used; where dockerd is installed but not running (CI), it is
  started here and stopped at the end of the session.
* The image: built by deploy/docker/image.py under a tag that hashes every build input, so it
  is built at most once per change, and reused by later sessions (the Debian base it falls back
  to offline is cached the same way).
* Containers: `run_container` gives `docker run` exactly the settings of
  deploy/kubernetes/deployment.yaml (user, read-only root, tmpfs /tmp, no capabilities, no
  privilege escalation, CPU and memory limits) and the ConfigMap's environment.

Without Docker these tests skip, saying why; under CI=true a skip fails the run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support import PROJECT_ROOT

KUBERNETES_DIR = PROJECT_ROOT / "deploy" / "kubernetes" / "base"
CONTAINER_PORT = 8080
STARTUP_TIMEOUT = 120.0  # a generous bound for a loaded CI machine, not a performance goal


def load_image_builder():
    spec = importlib.util.spec_from_file_location("image_builder", PROJECT_ROOT / "deploy" / "docker" / "image.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest(name: str) -> dict:
    return yaml.safe_load((KUBERNETES_DIR / name).read_text())


def _memory_bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "K": 1000, "M": 1000**2, "G": 1000**3}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(quantity)


def _cpus(quantity: str) -> str:
    return str(int(quantity[:-1]) / 1000) if quantity.endswith("m") else quantity


def manifest_run_options() -> list[str]:
    """`docker run` options equal to the Deployment's pod and container settings and the ConfigMap."""
    pod = manifest("deployment.yaml")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    options = ["--user", f"{security['runAsUser']}:{security['runAsGroup']}"]
    if security.get("readOnlyRootFilesystem"):
        options.append("--read-only")
    options += [argument for capability in security["capabilities"]["drop"] for argument in ("--cap-drop", capability)]
    if security.get("allowPrivilegeEscalation") is False:
        options += ["--security-opt", "no-new-privileges"]
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        empty_dir = volumes[mount["name"]].get("emptyDir")
        if empty_dir is not None and empty_dir.get("medium") == "Memory":
            size = _memory_bytes(empty_dir.get("sizeLimit", "64Mi"))
            options += ["--tmpfs", f"{mount['mountPath']}:rw,nosuid,nodev,size={size}"]
    limits = container.get("resources", {}).get("limits", {})
    if "memory" in limits:
        options += ["--memory", str(_memory_bytes(limits["memory"]))]
    if "cpu" in limits:
        options += ["--cpus", _cpus(str(limits["cpu"]))]
    for source in container.get("envFrom", []):
        config_map = manifest("configmap.yaml")
        assert source["configMapRef"]["name"] == config_map["metadata"]["name"]
        options += [argument for key, value in config_map["data"].items() for argument in ("--env", f"{key}={value}")]
    return options


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def docker_daemon(tmp_path_factory):
    if shutil.which("docker") is None:
        pytest.skip("Docker is not installed; install docker.io (or Docker) to run the container tests")
    if docker_answers():
        yield
        return
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.skip("Docker is not running and dockerd cannot be started here (needs root); start Docker "
                    "to run the container tests")
    log_path = tmp_path_factory.mktemp("dockerd") / "dockerd.log"
    daemon = subprocess.Popen(["dockerd"], stdout=log_path.open("w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        for _ in range(240):
            if docker_answers():
                break
            if daemon.poll() is not None:
                pytest.fail(f"dockerd exited; see {log_path}:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        else:
            pytest.fail(f"dockerd did not come up; see {log_path}:\n{log_path.read_text()[-2000:]}")
        yield
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()


@pytest.fixture(scope="session")
def image_builder():
    return load_image_builder()


@pytest.fixture(scope="session")
def image(docker_daemon, image_builder) -> str:
    """The image's tag, built from the current inputs if no image of them exists yet."""
    tag = image_builder.content_tag()
    if image_builder.image_exists(tag):
        return tag
    local_base = image_builder.local_base_tag()
    if not image_builder.image_exists(local_base) and (os.geteuid() != 0 or shutil.which("debootstrap") is None):
        pulled = subprocess.run(["docker", "pull", "--quiet", image_builder.OFFICIAL_BASE], capture_output=True)
        if pulled.returncode != 0:
            pytest.skip(f"cannot pull {image_builder.OFFICIAL_BASE} and cannot bootstrap a local base here (needs "
                        "root and debootstrap); run `make image` as root first")
    try:
        built, _ = image_builder.ensure_image(tag)
    except image_builder.ImageError as error:
        pytest.fail(f"could not build the image: {error}")
    return built


@dataclass
class Container:
    id: str
    url: str

    def logs(self) -> str:
        completed = subprocess.run(["docker", "logs", self.id], capture_output=True, text=True)
        return completed.stdout + completed.stderr

    def exit_code(self, timeout: float = 60) -> int:
        completed = subprocess.run(["docker", "wait", self.id], capture_output=True, text=True, timeout=timeout)
        return int(completed.stdout.strip())


def running(container_id: str) -> bool:
    completed = subprocess.run(["docker", "inspect", "--format", "{{.State.Running}}", container_id],
                               capture_output=True, text=True)
    return completed.stdout.strip() == "true"


def start_container(image: str, *, env: dict | None = None, mounts: list[tuple[Path, str]] = (),
                    command: list[str] = (), extra: list[str] = ()) -> str:
    """`docker run -d` with the manifest's settings; returns the container's id (it is not removed)."""
    arguments = ["docker", "run", "--detach", "--name", f"digits-test-{uuid.uuid4().hex[:10]}",
                 "--publish", f"127.0.0.1::{CONTAINER_PORT}", *manifest_run_options(), *extra]
    for key, value in (env or {}).items():
        arguments += ["--env", f"{key}={value}"]
    for source, target in mounts:
        arguments += ["--volume", f"{source}:{target}:ro"]
    completed = subprocess.run([*arguments, image, *command], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def host_url(container_id: str) -> str:
    published = subprocess.run(["docker", "port", container_id, f"{CONTAINER_PORT}/tcp"],
                               capture_output=True, text=True).stdout.split()
    return f"http://{published[0]}" if published else ""


def wait_until_ready(container_id: str, timeout: float = STARTUP_TIMEOUT) -> str:
    """The container's URL once /health answers 200; fails with its log if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        url = host_url(container_id)
        if url:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
        if not running(container_id):
            break
        time.sleep(0.1)
    logs = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True)
    pytest.fail(f"the container did not answer /health:\n{(logs.stdout + logs.stderr)[-3000:]}")


def remove(container_id: str) -> None:
    subprocess.run(["docker", "rm", "--force", container_id], capture_output=True)


@contextlib.contextmanager
def run_container(image: str, **options):
    """A container serving the API as the manifest runs it; yields a Container once /health answers."""
    container_id = start_container(image, **options)
    try:
        yield Container(container_id, wait_until_ready(container_id))
    finally:
        remove(container_id)


@pytest.fixture(scope="session")
def service(image):
    """One container for the tests that only send requests."""
    with run_container(image) as container:
        yield container
