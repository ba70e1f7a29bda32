"""Containers run as Kubernetes runs them, for the container tests and bench/container.py.

`run_container` (and `start_container` under it) gives `docker run` exactly the settings of
deploy/kubernetes/base/deployment.yaml (user, read-only root, tmpfs /tmp, no capabilities, no
privilege escalation, CPU and memory limits) and the ConfigMap's environment, read from the
manifests by `manifest_run_options`.
"""

from __future__ import annotations

import contextlib
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


def manifest(name: str) -> dict:
    return yaml.safe_load((KUBERNETES_DIR / name).read_text())


def _memory_bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "K": 1000, "M": 1000**2, "G": 1000**3}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(quantity)


def cpus(quantity: str) -> str:
    """A Kubernetes CPU quantity (500m, 2) as `docker run --cpus` takes it."""
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
        options += ["--cpus", cpus(str(limits["cpu"]))]
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


@contextlib.contextmanager
def docker_running(scratch: Path, needed_for: str):
    """Docker answering: the daemon already running, or dockerd started here (as root: CI) and
    stopped at the end. Skips, saying what `needed_for` needs, where neither can be."""
    if shutil.which("docker") is None:
        pytest.skip(f"Docker is not installed; install docker.io (or Docker) to run {needed_for}")
    if docker_answers():
        yield
        return
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.skip(f"Docker is not running and dockerd cannot be started here (needs root); start Docker "
                    f"to run {needed_for}")
    log_path = scratch / "dockerd.log"
    daemon = subprocess.Popen(["dockerd"], stdout=log_path.open("w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not docker_answers():
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dockerd did not come up; see {log_path}:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        yield
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
