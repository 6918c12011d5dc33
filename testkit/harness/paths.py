"""Where the tests find the project and the shared reference documents, wherever a test file sits."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _shared_reference() -> Path:
    """`$SOPHIA_SHARED_REFERENCE`, else the first `shared/reference` beside the project or one of its parents
    (a clone one folder deeper than the usual checkout still finds the published specs its fakes validate
    against); else the usual place, which the spec-dependent tests then name as missing."""
    configured = os.environ.get("SOPHIA_SHARED_REFERENCE")
    if configured:
        return Path(configured)
    for parent in PROJECT_DIR.parents:
        candidate = parent / "shared" / "reference"
        if candidate.is_dir():
            return candidate
    return PROJECT_DIR.parent / "shared" / "reference"


SHARED_REFERENCE = _shared_reference()
