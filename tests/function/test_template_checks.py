"""checkov on template.yaml: every check passes or is skipped in the template itself, beside
the resource, with its reason. checkov runs from its own virtualenv (.venv/checkov, made by
`make setup` from checkov-requirements.txt), because its pins clash with constraints.txt."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import PROJECT_ROOT

CHECKOV = PROJECT_ROOT / ".venv" / "checkov" / "bin" / "checkov"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, !If ... as plain values."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else
    loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    if not CHECKOV.exists():
        pytest.skip(f"checkov is not installed at {CHECKOV.relative_to(PROJECT_ROOT)}; run `make setup`")
    home = tmp_path_factory.mktemp("checkov-home")
    completed = subprocess.run(
        [str(CHECKOV), "--file", "template.yaml", "--framework", "cloudformation", "--output", "json",
         "--skip-download"],  # --skip-download: nothing fetched from the vendor's service
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "HOME": str(home), "BC_SKIP_MAPPING": "TRUE"})
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return json.loads(completed.stdout)


def test_checkov_finds_nothing_failing(report):
    summary = report["summary"]
    assert summary["failed"] == 0, [check["check_id"] for check in report["results"]["failed_checks"]]
    assert summary["passed"] >= 5


def test_concurrency_limit_and_access_logs_are_checked_and_pass(report):
    passed = {check["check_id"] for check in report["results"]["passed_checks"]}
    assert {"CKV_AWS_115", "CKV_AWS_95"} <= passed  # reserved concurrency; API access logging


def test_every_skip_is_written_in_the_template_with_a_reason(report):
    template = yaml.load(Path(PROJECT_ROOT / "template.yaml").read_text(), Loader=_CloudFormationLoader)
    written = {(name, skip["id"]): skip.get("comment", "")
               for name, resource in template["Resources"].items()
               for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])}
    assert written and all(len(reason.split()) >= 8 for reason in written.values()), written
    skipped = {(check["resource"].split(".")[-1], check["check_id"]) for check in report["results"]["skipped_checks"]}
    assert skipped == set(written)


def test_reserved_concurrency_defaults_to_a_ceiling_and_allows_none():
    template = yaml.load(Path(PROJECT_ROOT / "template.yaml").read_text(), Loader=_CloudFormationLoader)
    parameter = template["Parameters"]["ReservedConcurrency"]
    assert parameter["Default"] == "10"
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.match("none") and pattern.match("10") and not pattern.match("0") and not pattern.match("-1")
    function = template["Resources"]["DigitsFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"][0] == "LimitConcurrency"


def test_access_logs_go_to_a_log_group_with_retention():
    template = yaml.load(Path(PROJECT_ROOT / "template.yaml").read_text(), Loader=_CloudFormationLoader)
    settings = template["Resources"]["DigitsApi"]["Properties"]["AccessLogSettings"]
    group = settings["DestinationArn"].split(".")[0]
    assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert template["Resources"][group]["Properties"]["RetentionInDays"] == "LogRetentionDays"
    access_log = json.loads(settings["Format"])
    assert {"requestId", "status", "path", "latencyMs"} <= set(access_log)
