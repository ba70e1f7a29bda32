"""Fixtures for the container tests: Docker, the image, and one container serving requests.

* Docker: a running daemon is used; where dockerd is installed but not running (CI), it is
  started here and stopped at the end of the session.
* The image: built by deploy/docker/image.py under a tag that hashes every build input, so it
  is built at most once per change, and reused by later sessions (the Debian base it falls back
  to offline is cached the same way).
* Containers run as Kubernetes runs them (tests/support/containers.py).

Without Docker these tests skip, saying why; under CI=true a skip fails the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from deploy.docker import image as image_builder
from tests.support.containers import docker_running, run_container


@pytest.fixture(scope="session")
def docker_daemon(tmp_path_factory):
    with docker_running(tmp_path_factory.mktemp("dockerd"), "the container tests"):
        yield


@pytest.fixture(scope="session")
def image(docker_daemon) -> str:
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


@pytest.fixture(scope="session")
def service(image):
    """One container for the tests that only send requests."""
    with run_container(image) as container:
        yield container
