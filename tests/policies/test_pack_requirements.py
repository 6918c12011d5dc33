"""The pack runs in a virtualenv holding only policies/requirements.txt, as `pulumi install` builds it, and
stands on its own once staged (`make policy-pack`): from its own folder, away from the repository."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from offline.engine import preview
from offline.policy_gate import PolicyPackError, load_policy_config, run_policy_pack
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


@pytest.fixture
def staged_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The staged pack in a folder outside the repository, started with no PYTHONPATH: only its own folder
    is on the pack's sys.path, so whatever it imports comes from the staged copy."""
    monkeypatch.delenv("PYTHONPATH", raising=False)
    destination = tmp_path / "sophia-guardrails"
    subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "stage_policy_pack.py"), str(destination)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return destination


def test_the_staged_pack_holds_what_publishing_needs(staged_pack: Path) -> None:
    for name in ("PulumiPolicy.yaml", "__main__.py", "requirements.txt"):
        assert (staged_pack / name).is_file(), name
    assert (staged_pack / "requirements.txt").read_text() == (PACK_DIR / "requirements.txt").read_text()
    assert (staged_pack / "domain" / "snowflake_account.py").is_file()
    assert not (staged_pack / "domain" / "estuary").exists(), "only the domain modules the rules import"


def test_the_staged_pack_judges_the_production_stack_from_its_own_folder(
    staged_pack: Path, pack_python: str
) -> None:
    plan = preview(PROJECT_DIR, "production")
    result = run_policy_pack(
        plan, staged_pack, load_policy_config(staged_pack / "config" / "production.json"), python=pack_python
    )
    assert result.resources == len(plan.resources)
    assert result.mandatory_count == 0
    wrong = preview(
        PROJECT_DIR, "production", {"snowflakeOrganization": "SCOOBYJAVA", "snowflakeAccountName": "VW02766"}
    )
    refused = run_policy_pack(wrong, staged_pack, None, python=pack_python)
    assert "snowflake-account-allowed" in {v.policy for v in refused.violations if v.level == "mandatory"}


def test_the_offline_gate_passes_the_production_stack_with_the_staged_pack(staged_pack: Path) -> None:
    gate = subprocess.run(
        [
            sys.executable,
            "-m",
            "offline",
            "preview",
            "--stack",
            "production",
            "--policy-pack",
            str(staged_pack),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "no violations" in gate.stdout


def test_the_staged_pack_reads_the_domain_modules_beside_it(staged_pack: Path, pack_python: str) -> None:
    shutil.rmtree(staged_pack / "domain")
    with pytest.raises(PolicyPackError, match="domain"):
        run_policy_pack(preview(PROJECT_DIR, "production"), staged_pack, None, python=pack_python)
