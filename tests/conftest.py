"""Shared fixtures of every test: the project directory (paths themselves live in tests/paths.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.paths import PROJECT_DIR


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return PROJECT_DIR
