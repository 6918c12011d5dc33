"""Secret scanning with detect-secrets: the repository and the JSON plans of every stack carry no secret.

Every finding already in `.secrets.baseline` has been audited and marked `is_secret: false` (test keys made
for the fakes, checksums, the Secret names the code refers to); anything new fails until someone audits it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.paths import PROJECT_DIR
from offline.engine import preview
from offline.report import plan_json

BASELINE = PROJECT_DIR / ".secrets.baseline"
BIN = Path(sys.executable).parent
HOOK = BIN / "detect-secrets-hook"
SCAN = BIN / "detect-secrets"
STACKS = ("production", "staging")
pytestmark = pytest.mark.skipif(
    not HOOK.exists() or shutil.which("git") is None,
    reason="detect-secrets (requirements-dev.txt) and git needed",
)


def test_the_repository_has_no_unaudited_secret() -> None:
    baseline_before = BASELINE.read_bytes()
    checked = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "check_secrets.py")],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert BASELINE.read_bytes() == baseline_before, "the check must not rewrite the baseline"


def test_the_check_reports_a_new_finding(tmp_path: Path) -> None:
    leaked = tmp_path / "settings.env"
    # Assembled at run time so the scanner never sees this file's own text as a finding.
    leaked.write_text("AWS_ACCESS_KEY_ID=" + "AKIA" + "Z7Q4WX3J2K5L6M8N" + "\n")
    checked = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "check_secrets.py"), str(leaked)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert checked.returncode == 1
    assert "AWS Access Key" in checked.stdout


def test_every_baseline_finding_is_audited_as_not_a_secret() -> None:
    results = json.loads(BASELINE.read_text())["results"]
    unaudited = [
        f"{file}:{finding['line_number']} {finding['type']}"
        for file, findings in results.items()
        for finding in findings
        if finding.get("is_secret") is not False
    ]
    assert not unaudited, "audit these (detect-secrets audit .secrets.baseline): " + ", ".join(unaudited)


def test_the_pre_commit_hook_catches_a_credential(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    leaked = tmp_path / "settings.env"
    # Assembled at run time so the scanner never sees this file's own text as a finding.
    leaked.write_text("AWS_ACCESS_KEY_ID=" + "AKIA" + "Z7Q4WX3J2K5L6M8N" + "\n")
    scanned = subprocess.run(
        [str(HOOK), leaked.name], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert scanned.returncode == 1
    assert "AWS Access Key" in scanned.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_the_json_plan_of_each_stack_carries_no_secret(stack: str, tmp_path: Path) -> None:
    plan = preview(PROJECT_DIR, stack)
    plan_file = tmp_path / f"{stack}.json"
    plan_file.write_text(plan_json(plan))
    # A Command's triggers are digests of its inputs (the catalog's sha256): high entropy, not secret.
    digests = [str(value) for r in plan.resources for value in r.inputs.get("triggers") or []]
    exclusions = [arg for digest in digests for arg in ("--exclude-lines", re.escape(digest))]
    # `secretName` (and the chart's TLS `secretName`) name a Kubernetes Secret, a DNS label: a reference.
    exclusions += ["--exclude-lines", r'"secretName": "[a-z0-9]([-a-z0-9]*[a-z0-9])?"']
    scanned = subprocess.run(
        [str(SCAN), "scan", *exclusions, str(plan_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert json.loads(scanned.stdout)["results"] == {}
