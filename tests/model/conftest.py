"""A quick training run shared by the generator tests: 3,000 digits, one epoch."""

import json
import subprocess
import sys

import pytest

QUICK_RUN = ["--limit", "3000", "--epochs", "1", "--tfjs-check", "200"]


def run_generator(project_root, *args, timeout=600):
    return subprocess.run([sys.executable, "generator.py", *map(str, args)], cwd=project_root,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory, project_root):
    root = tmp_path_factory.mktemp("quick-run")
    completed = run_generator(project_root, *QUICK_RUN, "--output-root", root)
    assert completed.returncode == 0, completed.stderr[-3000:]
    card = json.loads((root / "model" / "card.json").read_text())
    return {"root": root, "stdout": completed.stdout, "card": card}
