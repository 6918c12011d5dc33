"""Fails when a tracked file holds a secret finding that `.secrets.baseline` does not list as audited.

detect-secrets' own hook rewrites the baseline whenever line numbers move, which a check in CI (or a test)
must not do; this scans afresh with the baseline's plugins and filters, and compares findings by file, type
and hashed secret, so a moved line is not new and nothing is written.
Usage: python scripts/check_secrets.py [FILE ...]   (default: every file `git ls-files` lists)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import transient_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent
BASELINE = PROJECT_DIR / ".secrets.baseline"


def _tracked() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True, timeout=60
    )
    return [
        name
        for name in listed.stdout.splitlines()
        if name != BASELINE.name and (PROJECT_DIR / name).is_file()
    ]


def unaudited(files: list[str]) -> list[str]:
    baseline = json.loads(BASELINE.read_text())
    audited = {
        (name, finding["type"], finding["hashed_secret"])
        for name, findings in baseline["results"].items()
        for finding in findings
        if finding.get("is_secret") is False
    }
    secrets = SecretsCollection()
    with transient_settings(
        {"plugins_used": baseline["plugins_used"], "filters_used": baseline["filters_used"]}
    ):
        for name in files:
            secrets.scan_file(name)
    return [
        f"{name}:{secret.line_number}: {secret.type}"
        for name, secret in secrets
        if (name, secret.type, secret.secret_hash) not in audited
    ]


def main(argv: list[str]) -> int:
    found = unaudited(argv or _tracked())
    for line in found:
        print(line)
    if found:
        print(
            f"{len(found)} possible secret(s) not in .secrets.baseline: remove them, or audit them "
            "(detect-secrets scan --baseline .secrets.baseline && detect-secrets audit .secrets.baseline)"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
