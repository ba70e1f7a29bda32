"""A quick training run shared by the generator tests: 3,000 digits, one epoch."""

import json

import pytest

from tests.support.generator import QUICK_RUN, run_generator


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("quick-run")
    completed = run_generator(*QUICK_RUN, "--output-root", root)
    assert completed.returncode == 0, completed.stderr[-3000:]
    card = json.loads((root / "model" / "card.json").read_text())
    return {"root": root, "stdout": completed.stdout, "stderr": completed.stderr, "card": card}
