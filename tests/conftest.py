"""Shared fixtures: the project directory and offline runs of the stack under Pulumi's mocks."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_REFERENCE = PROJECT_DIR.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return PROJECT_DIR
