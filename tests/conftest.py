"""Shared test set-up.

Under CI (CI=true) nothing may skip: a test that skips there fails the run, because a
skipped browser or Docker test proves nothing. On a developer's machine without Docker
or Chromium those tests skip with a message saying what is missing.
"""

import os
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

IN_CI = os.environ.get("CI", "").lower() == "true"
_skipped_in_ci: list[str] = []


def pytest_runtest_logreport(report):
    if IN_CI and report.skipped:
        _skipped_in_ci.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _skipped_in_ci:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"CI=true: {len(_skipped_in_ci)} test(s) skipped, which CI does not allow:",
                                red=True)
            for nodeid in _skipped_in_ci:
                reporter.write_line(f"  {nodeid}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT

