"""The Renovate config knows every pin: each of its file patterns finds files, and each custom manager reads
the version that file actually pins (the regexes run here the way Renovate runs them, one match per pin)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from harness.paths import PROJECT_DIR

RENOVATE = json.loads((PROJECT_DIR / "renovate.json").read_text())


def _tracked() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    return listed.stdout.splitlines()


def _pattern(spec: str) -> re.Pattern[str]:
    assert spec.startswith("/") and spec.endswith("/"), f"{spec} must be a /regex/"
    return re.compile(spec[1:-1])


def _matching(patterns: list[str]) -> list[str]:
    return [name for name in _tracked() if any(_pattern(p).search(name) for p in patterns)]


def test_requirement_and_constraint_files_are_all_managed() -> None:
    managed = set(_matching(RENOVATE["pip_requirements"]["managerFilePatterns"]))
    pinned = {name for name in _tracked() if re.search(r"(^|/)(requirements[-\w]*|constraints)\.txt$", name)}
    assert pinned <= managed


@pytest.mark.parametrize("manager", RENOVATE["customManagers"], ids=lambda m: m["description"][:40])
def test_each_custom_manager_reads_the_pinned_version(manager: dict[str, Any]) -> None:
    files = _matching(manager["managerFilePatterns"])
    assert files, f"no file matches {manager['managerFilePatterns']}"
    for name in files:
        text = (PROJECT_DIR / name).read_text()
        matches = [
            m for spec in manager["matchStrings"] for m in re.finditer(spec.replace("(?<", "(?P<"), text)
        ]
        assert len(matches) == 1, f"{name}: {len(matches)} matches"
        assert matches[0].group("currentValue").strip(), name
