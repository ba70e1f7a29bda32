"""The page's pure modules under node's own test runner (tests/web/js/*.test.mjs):
preprocessing and the uncertainty rule against the shared test vectors, and the API
client against a real server.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

NODE = shutil.which("node")
NODE_TESTS = sorted((Path(__file__).resolve().parent / "js").glob("*.test.mjs"))


@pytest.mark.skipif(NODE is None, reason="node is not installed (the page's JavaScript is tested with it)")
@pytest.mark.parametrize("test_file", NODE_TESTS, ids=lambda path: path.name)
def test_javascript_module(test_file, project_root):
    completed = subprocess.run([NODE, "--test", "--test-reporter=tap", str(test_file)], cwd=project_root,
                               capture_output=True, text=True, timeout=300)
    passed = re.search(r"^# pass (\d+)", completed.stdout, re.MULTILINE)
    failures = re.findall(r"^not ok \d+ - (.*)$", completed.stdout, re.MULTILINE)
    reasons = re.findall(r"^\s+error: (.*)$", completed.stdout, re.MULTILINE)
    reasons += [""] * (len(failures) - len(reasons))
    listed = "\n".join(f"  {name}\n      {reason}"
                       for name, reason in zip(failures, reasons[:len(failures)], strict=True))
    assert completed.returncode == 0 and not failures, (
        f"{test_file.name}: {len(failures)} failed:\n{listed}\n{completed.stderr[-2000:]}")
    assert passed and int(passed.group(1)) > 0, f"{test_file.name} ran no tests:\n{completed.stdout[-2000:]}"


def test_every_javascript_test_file_runs():
    assert {path.name for path in NODE_TESTS} >= {"preprocessing.test.mjs", "api.test.mjs", "uncertainty.test.mjs"}
