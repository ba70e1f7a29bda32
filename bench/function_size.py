"""How big the deployed function is: `sam build`'s output against Lambda's 250 MB limit,
and against what TensorFlow alone would weigh, measured in the same run.

    .venv/bin/python bench/function_size.py [--build-dir DIR]

Without --build-dir it runs `sam build` into a temporary folder (offline works: pip uses
the same index and wheel cache as the venv).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_LIMIT = 250 * 1000 * 1000  # bytes, unzipped, code and layers together


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def zipped_bytes(folder: Path, scratch: Path) -> int:
    archive = scratch / "function.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(folder))
    return archive.stat().st_size


def package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec and spec.origin else None


def mb(size: int) -> str:
    return f"{size / 1e6:8.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, help="an existing `sam build --build-dir` output")
    arguments = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="function-size-"))
    try:
        build_dir = arguments.build_dir
        if build_dir is None:
            build_dir = scratch / "build"
            completed = subprocess.run([str(Path(sys.executable).with_name("sam")), "build", "--build-dir",
                                        str(build_dir)], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                       env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
            if completed.returncode != 0:
                sys.exit(f"sam build failed:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}")
        function = build_dir / "DigitsFunction"
        total = folder_bytes(function)

        print(f"Built function ({function})")
        parts = {}
        for child in function.iterdir():
            name = child.name.split("-")[0] if child.name.endswith(".dist-info") else child.name
            parts[name] = parts.get(name, 0) + (folder_bytes(child) if child.is_dir() else child.stat().st_size)
        for name, size in sorted(parts.items(), key=lambda item: -item[1])[:8]:
            print(f"  {name:34s}{mb(size)}")
        print(f"  {'(everything else)':34s}{mb(total - sum(sorted(parts.values(), reverse=True)[:8]))}")
        print(f"  {'total, unzipped':34s}{mb(total)}   {total / LAMBDA_LIMIT:5.0%} of Lambda's 250 MB")
        print(f"  {'zipped (what is uploaded)':34s}{mb(zipped_bytes(function, scratch))}")

        print("\nBaseline: TensorFlow instead of LiteRT (installed in .venv, same run)")
        tensorflow = package_dir("tensorflow")
        litert = package_dir("ai_edge_litert")
        if tensorflow is None:
            print("  tensorflow is not installed in this environment")
            return
        tf_size, lite_size = folder_bytes(tensorflow), folder_bytes(litert)
        print(f"  {'tensorflow package alone':34s}{mb(tf_size)}   {tf_size / LAMBDA_LIMIT:5.0%} of the limit")
        print(f"  {'ai_edge_litert package':34s}{mb(lite_size)}   {tf_size / lite_size:5.0f}x smaller than TensorFlow")
        verdict = "fits" if total < LAMBDA_LIMIT else "does NOT fit"
        print(f"\nThe function {verdict} in a zip Lambda; with TensorFlow it would need "
              f"{(total - lite_size + tf_size) / 1e6:.0f} MB (a container image).")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
