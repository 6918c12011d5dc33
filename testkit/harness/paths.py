"""Where the tests find the project and the shared reference documents, wherever a test file sits."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
SHARED_REFERENCE = PROJECT_DIR.parent / "shared" / "reference"
