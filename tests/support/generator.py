"""Running generator.py as a user does, and the quick run the generator tests share."""

from __future__ import annotations

import subprocess
import sys

from tests.support import PROJECT_ROOT

QUICK_RUN = ["--limit", "3000", "--epochs", "1", "--tfjs-check", "200"]


def run_generator(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "generator.py", *map(str, args)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=timeout)
