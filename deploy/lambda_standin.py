"""A local stand-in for the Lambda Python 3.11 emulation image, for offline `sam local`.

`sam local start-api` normally pulls public.ecr.aws/lambda/python:3.11. Where that cannot
be pulled, this builds an image that behaves the same for our function:

* a Debian bookworm root file system from debootstrap (deploy/debian_base.py: Python 3.11,
  glibc 2.36, so the manylinux wheels `sam build` installs run unchanged);
* `awslambdaric` from PyPI (sam-local/requirements.txt), the runtime interface client the
  managed runtime also uses (downloaded by the host's pip, so its index, proxy and
  certificates apply, then installed by the image's own pip from that folder);
* `/var/runtime/bootstrap`, which runs the handler named in `$_HANDLER` from /var/task.

SAM adds its runtime interface emulator on top at invoke time, so the result is passed as
`sam local start-api --invoke-image TAG --skip-pull-image`. `make sam-image` (the command line
sam-local/build_image.py) builds it; the tests and benchmarks call ensure_image().

The tag carries a hash of this module, the Debian base's and the requirements, so an existing
image is reused and any change builds a new one (and untags the old). Needs root (debootstrap, chroot), a running
Docker daemon and access to a Debian mirror (DEBIAN_MIRROR) and PyPI.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from deploy import debian_base

REQUIREMENTS = Path(__file__).resolve().parent.parent / "sam-local" / "requirements.txt"
REPOSITORY = "mnist-digits/lambda-python3.11-standin"
PACKAGES = ["python3", "python3-pip", "ca-certificates"]
# Nothing at run time reads these.
TRIM = ["var/cache/apt/archives", "var/lib/apt/lists"]

BOOTSTRAP = """#!/bin/sh
# What the managed python3.11 runtime does: run the handler from the task root.
export PYTHONPATH="/var/task:/opt/python${PYTHONPATH:+:$PYTHONPATH}"
# Each line reaches the log as it is written, through the filter below.
export PYTHONUNBUFFERED=1
cd "${LAMBDA_TASK_ROOT:-/var/task}"
# When `sam local` stops, its emulator goes first, and awslambdaric, waiting for the next
# invocation, reports the lost connection as an error: here that is the expected end, so
# that one line is left out of what the terminal shows.
/usr/bin/python3 -m awslambdaric "$_HANDLER" 2>&1 \\
    | grep -v --line-buffered "LAMBDA_RUNTIME Failed to get next invocation"
"""

IMAGE_SETTINGS = [
    "ENV LANG=C.UTF-8",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LAMBDA_TASK_ROOT=/var/task",
    "ENV LAMBDA_RUNTIME_DIR=/var/runtime",
    "WORKDIR /var/task",
    'ENTRYPOINT ["/var/runtime/bootstrap"]',
]


def image_tag() -> str:
    digest = hashlib.sha256()
    for source in (Path(__file__), Path(debian_base.__file__), REQUIREMENTS):
        digest.update(source.read_bytes())
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def build(tag: str) -> None:
    with debian_base.bootstrapped(PACKAGES, scratch_prefix="lambda-standin-") as rootfs:
        wheels = rootfs / "tmp" / "wheels"
        debian_base.run_step(
            "download awslambdaric",
            [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
             "--platform", "manylinux2014_x86_64", "--python-version", "3.11",
             "--implementation", "cp", "--abi", "cp311", "-d", str(wheels), "-r", str(REQUIREMENTS)])
        shutil.copy(REQUIREMENTS, wheels / "requirements.txt")
        # Debian marks its Python as externally managed; this image has no other Python users.
        chroot_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
        debian_base.run_step(
            "pip install awslambdaric in the image",
            ["chroot", str(rootfs), "python3", "-m", "pip", "install", "--no-index", "--no-cache-dir",
             "--find-links", "/tmp/wheels", "--break-system-packages", "--root-user-action=ignore",
             "-r", "/tmp/wheels/requirements.txt"], env=chroot_env)
        debian_base.run_step("check awslambdaric imports",
                             ["chroot", str(rootfs), "python3", "-c", "import awslambdaric.bootstrap"], env=chroot_env)
        shutil.rmtree(wheels)
        debian_base.empty(rootfs, TRIM)

        runtime = rootfs / "var" / "runtime"
        runtime.mkdir(parents=True, exist_ok=True)
        (runtime / "bootstrap").write_text(BOOTSTRAP)
        (runtime / "bootstrap").chmod(0o755)
        for folder in ("var/task", "opt"):
            (rootfs / folder).mkdir(parents=True, exist_ok=True)

        debian_base.docker_import(rootfs, tag, IMAGE_SETTINGS)


def ensure_image() -> str:
    """The stand-in image's tag, building the image first if it is not there yet."""
    tag = image_tag()
    if not image_exists(tag):
        build(tag)
        remove_older_images(keep=tag)
    return tag


def remove_older_images(keep: str) -> None:
    """Untag the stand-ins made by earlier code, and REPOSITORY:rapid-<arch>: a stand-in plus
    SAM's emulator, which `sam local` makes once and, under --skip-pull-image, reuses whatever
    stand-in it was made from. The next `sam local` makes it again from `keep`."""
    tags = subprocess.run(["docker", "images", REPOSITORY, "--format", "{{.Tag}}"], capture_output=True,
                          text=True).stdout.split()
    older = [f"{REPOSITORY}:{tag}" for tag in tags if f"{REPOSITORY}:{tag}" != keep]
    if older:
        subprocess.run(["docker", "rmi", *older], capture_output=True)
