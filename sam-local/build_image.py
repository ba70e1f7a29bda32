"""Build a local stand-in for the Lambda Python 3.11 emulation image, for offline `sam local`.

`sam local start-api` normally pulls public.ecr.aws/lambda/python:3.11. Where that cannot
be pulled, this builds an image that behaves the same for our function:

* a Debian bookworm root file system from `debootstrap` (Python 3.11, glibc 2.36, so the
  manylinux wheels `sam build` installs run unchanged);
* `awslambdaric` from PyPI, the runtime interface client the managed runtime also uses
  (downloaded by the host's pip, so its index, proxy and certificates apply, then
  installed by the image's own pip from that folder);
* `/var/runtime/bootstrap`, which runs the handler named in `$_HANDLER` from /var/task.

SAM adds its runtime interface emulator on top at invoke time, so the result is passed as
`sam local start-api --invoke-image TAG --skip-pull-image`.

The tag carries a hash of this script and its requirements, so an existing image is reused
and any change builds a new one. Needs root (debootstrap, chroot), a running Docker daemon
and access to a Debian mirror (DEBIAN_MIRROR) and PyPI.

    python sam-local/build_image.py            # build if missing, print the tag
    python sam-local/build_image.py --tag      # only print the tag
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
REPOSITORY = "mnist-digits/lambda-python3.11-standin"
SUITE = "bookworm"
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ["python3", "python3-pip", "ca-certificates"]

BOOTSTRAP = """#!/bin/sh
# What the managed python3.11 runtime does: run the handler from the task root.
export PYTHONPATH="/var/task:/opt/python${PYTHONPATH:+:$PYTHONPATH}"
cd "${LAMBDA_TASK_ROOT:-/var/task}"
exec /usr/bin/python3 -m awslambdaric "$_HANDLER"
"""

IMAGE_SETTINGS = [
    "ENV LANG=C.UTF-8",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LAMBDA_TASK_ROOT=/var/task",
    "ENV LAMBDA_RUNTIME_DIR=/var/runtime",
    "WORKDIR /var/task",
    'ENTRYPOINT ["/var/runtime/bootstrap"]',
]


class BuildError(Exception):
    """The image could not be built; the message says which step failed."""


def image_tag() -> str:
    digest = hashlib.sha256()
    for part in (Path(__file__).read_bytes(), REQUIREMENTS.read_bytes(), SUITE.encode()):
        digest.update(part)
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def _run(step: str, command: list[str], **kwargs) -> None:
    print(f"build_image: {step}", file=sys.stderr, flush=True)
    completed = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip().splitlines()[-15:]
        raise BuildError(f"{step} failed ({' '.join(command[:3])} ...):\n" + "\n".join(output))


def check_build_tools() -> None:
    """Raise BuildError unless this process can debootstrap and import into Docker."""
    if os.geteuid() != 0:
        raise BuildError("building the root file system needs root (debootstrap and chroot); "
                         "run this script with sudo")
    for tool in ("debootstrap", "docker"):
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} not found; install it (apt-get install debootstrap docker.io)")


def debootstrap(rootfs: Path, packages: list[str]) -> None:
    """A minimal Debian SUITE root file system in `rootfs`, with `packages` (and what they need)."""
    _run(f"debootstrap {SUITE} from {MIRROR}",
         ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE, str(rootfs), MIRROR])


def docker_import(rootfs: Path, tag: str, settings: list[str]) -> None:
    """Import the folder `rootfs` as the image `tag`, with Dockerfile-style `settings` (ENV, CMD...)."""
    changes = [argument for setting in settings for argument in ("--change", setting)]
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
    try:
        _run(f"docker import as {tag}", ["docker", "import", *changes, "-", tag], stdin=tar.stdout)
    finally:
        tar.stdout.close()
        tar.wait()


def build(tag: str) -> None:
    check_build_tools()
    with tempfile.TemporaryDirectory(prefix="lambda-standin-", dir="/var/tmp") as scratch:
        rootfs = Path(scratch) / "rootfs"
        debootstrap(rootfs, PACKAGES)
        wheels = rootfs / "tmp" / "wheels"
        _run("download awslambdaric",
             [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
              "--platform", "manylinux2014_x86_64", "--python-version", "3.11",
              "--implementation", "cp", "--abi", "cp311", "-d", str(wheels), "-r", str(REQUIREMENTS)])
        shutil.copy(REQUIREMENTS, wheels / "requirements.txt")
        # Debian marks its Python as externally managed; this image has no other Python users.
        chroot_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
        _run("pip install awslambdaric in the image",
             ["chroot", str(rootfs), "python3", "-m", "pip", "install", "--no-index", "--no-cache-dir",
              "--find-links", "/tmp/wheels", "--break-system-packages", "--root-user-action=ignore",
              "-r", "/tmp/wheels/requirements.txt"], env=chroot_env)
        _run("check awslambdaric imports",
             ["chroot", str(rootfs), "python3", "-c", "import awslambdaric.bootstrap"], env=chroot_env)
        shutil.rmtree(wheels)
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        shutil.rmtree(rootfs / "var" / "lib" / "apt" / "lists", ignore_errors=True)

        runtime = rootfs / "var" / "runtime"
        runtime.mkdir(parents=True, exist_ok=True)
        (runtime / "bootstrap").write_text(BOOTSTRAP)
        (runtime / "bootstrap").chmod(0o755)
        for folder in ("var/task", "opt"):
            (rootfs / folder).mkdir(parents=True, exist_ok=True)

        docker_import(rootfs, tag, IMAGE_SETTINGS)


def ensure_image() -> str:
    """The stand-in image's tag, building the image first if it is not there yet."""
    tag = image_tag()
    if not image_exists(tag):
        build(tag)
    return tag


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", action="store_true", help="print the tag without building")
    arguments = parser.parse_args()
    if arguments.tag:
        print(image_tag())
        return 0
    try:
        print(ensure_image())
    except BuildError as error:
        print(f"build_image: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
