"""The pack runs in a virtualenv holding only policies/requirements.txt, as `pulumi install` builds it."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv

import pytest

from offline.engine import preview
from offline.policy_gate import load_policy_config, run_policy_pack
from tests.policies.conftest import PACK_DIR

PROJECT_DIR = PACK_DIR.parent


@pytest.fixture(scope="module")
def pack_python() -> str:
    requirements = PACK_DIR / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    # Kept between runs like the CLI's policies/venv, and rebuilt whenever the requirements change.
    location = PROJECT_DIR / ".tools" / f"policy-venv-{digest}"
    python = location / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(location)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(requirements),
            ],
            check=True,
        )
    return str(python)


def test_the_production_stack_passes_with_only_the_packs_own_requirements(pack_python: str) -> None:
    assert pack_python != sys.executable
    plan = preview(PROJECT_DIR, "production")
    result = run_policy_pack(
        plan, PACK_DIR, load_policy_config(PACK_DIR / "config" / "production.json"), python=pack_python
    )
    assert result.resources == len(plan.resources)
    assert result.mandatory_count == 0


def test_the_pack_alone_still_stops_the_wrong_account(pack_python: str) -> None:
    plan = preview(
        PROJECT_DIR, "production", {"snowflakeOrganization": "SCOOBYJAVA", "snowflakeAccountName": "VW02766"}
    )
    result = run_policy_pack(plan, PACK_DIR, None, python=pack_python)
    assert "snowflake-account-allowed" in {v.policy for v in result.violations if v.level == "mandatory"}
