"""Shared fixtures of every test, and the cost markers (paths themselves live in testkit/harness/paths.py).

Every test gets one marker by where it sits, so `make unit` (`-m "not engine and not edge"`) runs everything
that needs no Go build and no server while a component changes, and `make test` runs the lot.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.paths import PROJECT_DIR

TESTS_DIR = Path(__file__).resolve().parent
# Top-level test folder -> its cost; any other folder is `unit`.
COST_BY_FOLDER = {"engine": "engine", "edge": "edge", "policies": "pack"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(item.path).resolve().relative_to(TESTS_DIR).parts[0]
        item.add_marker(COST_BY_FOLDER.get(folder, "unit"))


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return PROJECT_DIR
