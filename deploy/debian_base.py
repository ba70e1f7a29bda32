"""A Debian root file system made here with debootstrap and imported into Docker.

Both images built where no registry can be reached start from one: SAM's Lambda stand-in
(deploy/lambda_standin.py, `make sam-image`) and the container image's local base
(deploy/docker/image.py, `make image`). Needs root (debootstrap, chroot), a running Docker
daemon and a Debian mirror (DEBIAN_MIRROR). Both images' tags hash this file, so a change here
builds them again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Python 3.11 and glibc 2.36: the manylinux wheels both images install run unchanged.
SUITE = "bookworm"
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
# A root file system is hundreds of MB; /tmp is often a small tmpfs.
SCRATCH = "/var/tmp"


class BuildError(Exception):
    """The image could not be built; the message says which step failed."""


def run_step(step: str, command: list[str], **kwargs) -> None:
    """Run `command`, saying `step` on stderr; BuildError with the output's tail if it fails."""
    print(f"build: {step}", file=sys.stderr, flush=True)
    completed = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip().splitlines()[-15:]
        raise BuildError(f"{step} failed ({' '.join(command[:3])} ...):\n" + "\n".join(output))


def check_build_tools() -> None:
    """Raise BuildError unless this process can debootstrap and import into Docker."""
    if os.geteuid() != 0:
        raise BuildError("building the root file system needs root (debootstrap and chroot); "
                         "run it with sudo (sudo make sam-image, sudo make image)")
    for tool in ("debootstrap", "docker"):
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} not found; install it (apt-get install debootstrap docker.io)")


@contextlib.contextmanager
def bootstrapped(packages: list[str], scratch_prefix: str) -> Iterator[Path]:
    """A minimal Debian SUITE root file system with `packages` (and what they need), in a
    scratch folder that is removed afterwards."""
    check_build_tools()
    with tempfile.TemporaryDirectory(prefix=scratch_prefix, dir=SCRATCH) as scratch:
        rootfs = Path(scratch) / "rootfs"
        run_step(f"debootstrap {SUITE} from {MIRROR}",
                 ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE, str(rootfs), MIRROR])
        yield rootfs


def empty(rootfs: Path, paths: list[str]) -> None:
    """Empty these folders of `rootfs` and remove these files: caches and docs nothing at run time reads."""
    for name in paths:
        target = rootfs / name
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir(parents=True)
        elif target.exists():
            target.unlink()


def docker_import(rootfs: Path, tag: str, settings: list[str]) -> None:
    """Import the folder `rootfs` as the image `tag`, with Dockerfile-style `settings` (ENV, CMD...)."""
    changes = [argument for setting in settings for argument in ("--change", setting)]
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
    try:
        run_step(f"docker import as {tag}", ["docker", "import", *changes, "-", tag], stdin=tar.stdout)
    finally:
        tar.stdout.close()
        tar.wait()
