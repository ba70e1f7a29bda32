"""Build the container image (the Dockerfile at the repository root), online or offline.

    make image                                            # build mnist-digit-classifier:latest
    .venv/bin/python deploy/docker/image.py --tag NAME:TAG --base python:3.11-slim
    .venv/bin/python deploy/docker/image.py --content-tag # the tag the tests build: a hash of the inputs

The base image is the Dockerfile's BASE_IMAGE. By default the official python:3.11-slim is
tried first (already present, or pulled); where no registry can be reached, a Debian bookworm
base with Debian's Python 3.11 is bootstrapped here instead, by deploy/debian_base.py as for
SAM's Lambda stand-in (needs root and debootstrap), and kept under a tag that hashes how it was
made, so it is built once. The script says which base it used. The tests import this module
as `deploy.docker.image`.

The wheels are downloaded by this machine's pip into deploy/docker/wheels/ (its index, proxy
and certificates apply; a build container may have none of them), and the Dockerfile installs
from there without asking any index.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from deploy import debian_base

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
IMAGE = "mnist-digit-classifier"
OFFICIAL_BASE = "python:3.11-slim"
LOCAL_BASE = "mnist-digit-classifier/python3.11-bookworm"
WHEELS = HERE / "wheels"
# Wheel tags that run on Debian bookworm's glibc 2.36 (pip does not widen --platform by itself).
GLIBC_PLATFORMS = ["manylinux_2_34", "manylinux_2_28", "manylinux_2_17", "manylinux2014"]
# pip for a base without one (Debian's Python): the Dockerfile runs it from its wheel.
BUILD_PIP = "pip==26.3"
# Only what the base must hold: Python (Debian bookworm's is 3.11) and what it depends on.
LOCAL_BASE_PACKAGES = ["python3"]
LOCAL_BASE_SETTINGS = [
    "ENV LANG=C.UTF-8",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    'CMD ["python3"]',
]
# Nothing at run time reads these; the official slim images leave them out too.
LOCAL_BASE_TRIM = ["var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info",
                   "usr/share/locale", "var/log", "var/cache/debconf/templates.dat-old"]
# What the image is built from, for the content tag: a change to any of these is a new image.
BUILD_INPUTS = ["Dockerfile", ".dockerignore", "constraints.txt", "lambda", "web", "deploy/docker"]


class ImageError(Exception):
    """The image could not be built; the message says which step failed and why."""


def docker(*arguments: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    completed = subprocess.run(["docker", *arguments], capture_output=True, text=True, **kwargs)
    if check and completed.returncode != 0:
        tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-20:])
        raise ImageError(f"docker {' '.join(arguments[:2])} failed:\n{tail}")
    return completed


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def _input_files() -> list[Path]:
    files = []
    for name in BUILD_INPUTS:
        path = ROOT / name
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        files += [file for file in candidates if file.is_file() and "__pycache__" not in file.parts
                  and file.suffix != ".pyc" and not {WHEELS, WHEELS.with_name("wheels.download")} & set(file.parents)]
    return files


def content_tag() -> str:
    """IMAGE:<hash of every build input>: the same inputs give the same tag, so one build serves many runs."""
    digest = hashlib.sha256()
    for file in _input_files():
        digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    return f"{IMAGE}:{digest.hexdigest()[:12]}"


def local_base_tag() -> str:
    """LOCAL_BASE:<hash of how it is made>: what goes in, what comes out, and the bootstrapping code."""
    digest = hashlib.sha256()
    digest.update(repr((LOCAL_BASE_PACKAGES, LOCAL_BASE_SETTINGS, LOCAL_BASE_TRIM)).encode())
    digest.update(Path(debian_base.__file__).read_bytes())
    return f"{LOCAL_BASE}:{digest.hexdigest()[:12]}"


def build_local_base(tag: str) -> None:
    try:
        with debian_base.bootstrapped(LOCAL_BASE_PACKAGES, scratch_prefix="digits-base-") as rootfs:
            debian_base.empty(rootfs, LOCAL_BASE_TRIM)
            debian_base.docker_import(rootfs, tag, LOCAL_BASE_SETTINGS)
    except debian_base.BuildError as error:
        raise ImageError(f"could not bootstrap the local base image: {error}") from None


def choose_base(requested: str | None = None) -> tuple[str, str]:
    """(base image, how it was found): the one asked for, else the official one, else a local one."""
    if requested:
        return requested, "as asked"
    if image_exists(OFFICIAL_BASE):
        return OFFICIAL_BASE, "the official image, already here"
    pulled = docker("pull", "--quiet", OFFICIAL_BASE, check=False, timeout=600)
    if pulled.returncode == 0:
        return OFFICIAL_BASE, "the official image, pulled"
    reason = (pulled.stderr.strip().splitlines() or ["no reason given"])[-1]
    print(f"image: cannot pull {OFFICIAL_BASE} ({reason[:160]}); using a local Debian bookworm base",
          file=sys.stderr, flush=True)
    tag = local_base_tag()
    if image_exists(tag):
        return tag, "the local Debian bookworm + Python 3.11 base, already built"
    print(f"image: bootstrapping {tag} with debootstrap (a minute or two, once)", file=sys.stderr, flush=True)
    build_local_base(tag)
    return tag, "the local Debian bookworm + Python 3.11 base, just built"


def download_wheels() -> None:
    """Every wheel the Dockerfile installs, and nothing else, for CPython 3.11 on glibc 2.36 x86-64.

    Downloaded afresh into a new folder that then replaces the old one (pip's cache makes that
    quick), so a changed pin leaves no stale wheel behind; Docker's build cache compares the
    files' contents, so the same wheels reuse the installed layer.
    """
    fresh = WHEELS.with_name("wheels.download")
    shutil.rmtree(fresh, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               "--only-binary=:all:", *(f"--platform={tag}_x86_64" for tag in GLIBC_PLATFORMS),
               "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311", "--dest", str(fresh),
               "-r", str(ROOT / "lambda" / "requirements.txt"), "-r", str(HERE / "requirements.txt"),
               "-c", str(ROOT / "constraints.txt"), BUILD_PIP]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        shutil.rmtree(fresh, ignore_errors=True)
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise ImageError(f"pip download failed:\n{tail}")
    shutil.rmtree(WHEELS, ignore_errors=True)
    fresh.rename(WHEELS)


def build(tag: str, base: str) -> None:
    download_wheels()
    completed = subprocess.run(["docker", "build", "--build-arg", f"BASE_IMAGE={base}", "--tag", tag,
                                "--file", str(ROOT / "Dockerfile"), str(ROOT)],
                               capture_output=True, text=True)
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-30:])
        raise ImageError(f"docker build failed:\n{tail}")


def ensure_image(tag: str | None = None, base: str | None = None) -> tuple[str, str]:
    """Build the image unless `tag` (by default the content tag) is already there; (tag, base used)."""
    tag = tag or content_tag()
    if tag == content_tag() and image_exists(tag):
        return tag, "(already built from these inputs)"
    if shutil.which("docker") is None:
        raise ImageError("docker not found; install Docker (apt-get install docker.io) and start it")
    chosen, how = choose_base(base)
    print(f"image: building {tag} on {chosen}: {how}", file=sys.stderr, flush=True)
    build(tag, chosen)
    remove_older_content_tags(keep=tag)
    return tag, f"{chosen}: {how}"


def remove_older_content_tags(keep: str) -> None:
    """Untag the images built from earlier inputs (their layers stay while anything uses them)."""
    tags = docker("images", IMAGE, "--format", "{{.Tag}}", check=False).stdout.split()
    older = [f"{IMAGE}:{tag}" for tag in tags if re.fullmatch(r"[0-9a-f]{12}", tag) and f"{IMAGE}:{tag}" != keep]
    if older:
        docker("rmi", *older, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=f"{IMAGE}:latest", help="the image's name (default: %(default)s)")
    parser.add_argument("--base", help=f"the base image (default: {OFFICIAL_BASE}, else a local Debian base)")
    parser.add_argument("--content-tag", action="store_true", help="print the tag made from the inputs' hash")
    arguments = parser.parse_args()
    if arguments.content_tag:
        print(content_tag())
        return 0
    try:
        chosen, how = choose_base(arguments.base)
        print(f"image: building {arguments.tag} on {chosen} ({how})", flush=True)
        build(arguments.tag, chosen)
    except ImageError as error:
        print(f"image: {error}", file=sys.stderr)
        return 1
    size = docker("image", "inspect", "--format", "{{.Size}}", arguments.tag).stdout.strip()
    print(f"image: built {arguments.tag} ({int(size) / 1e6:.0f} MB) on base {chosen}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
