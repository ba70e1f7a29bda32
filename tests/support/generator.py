"""Running generator.py as a user does, and the quick run the generator tests share."""

from __future__ import annotations

import subprocess
import sys

from tests.support import PROJECT_ROOT

QUICK_RUN = ["--limit", "3000", "--epochs", "1", "--tfjs-check", "200"]


def run_generator(*args, timeout: float = 600, merged: bool = False) -> subprocess.CompletedProcess:
    """generator.py with `args`; with `merged`, stderr is interleaved into stdout, as a terminal shows them."""
    return subprocess.run([sys.executable, "generator.py", *map(str, args)], cwd=PROJECT_ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merged else subprocess.PIPE,
                          text=True, timeout=timeout)
