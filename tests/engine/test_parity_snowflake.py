"""Snowflake edits judged alike by the offline gate and the real preview of the whole production program.

Each case edits the production stack file, or one line of the program's copy (what a pull request could change
in a component), and runs both `python -m offline preview --policy-pack policies` and the real
`pulumi preview --policy-pack policies` on the same engine project, whose Pulumi.yaml names the Snowflake
and command plugins `make toolchain` built, so the offline gate runs their Check too. The verdict is the
class (clean, refused by the configuration, refused by a provider's Check, refused by a mandatory policy) and
the mandatory policies violated; docs/offline-gate.md has the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.real_engine import (
    OPERATOR_INSTALLED,
    EngineProject,
    Preview,
    Verdict,
    offline_verdict,
    project_plugin_or_skip,
    toolchain_or_skip,
)

MANDATORY = re.compile(r"\[mandatory\](?:\s+\[severity:[^\]]*\])?\s+(\S+)")
PLATFORM = "components/snowflake_platform.py"
MCP = "components/mcp_servers.py"


@dataclass(frozen=True)
class Case:
    id: str
    expected: Verdict
    # Stack-file keys to set (None removes the key).
    config: dict[str, Any] = field(default_factory=dict)
    # (file in the project copy, text, replacement): one line of the program changed.
    program: tuple[str, str, str] | None = None


ACCOUNT = frozenset({"snowflake-account-allowed"})
CASES = [
    Case("production-as-committed", Verdict("clean")),
    # The stack's own account identity: the pack refuses every provider, grant, host and catalog that names
    # another account. The locator and region name no resource (the program writes the org-account form).
    Case(
        "organization-of-another-account",
        Verdict("policy", ACCOUNT),
        {"sophia-ai:snowflakeOrganization": "XYORG"},
    ),
    Case(
        "account-name-of-another-account",
        Verdict("policy", ACCOUNT),
        {"sophia-ai:snowflakeAccountName": "XY12345"},
    ),
    Case("locator-of-another-account", Verdict("clean"), {"sophia-ai:snowflakeAccountLocator": "AB12345"}),
    Case("region-of-another-deployment", Verdict("clean"), {"sophia-ai:snowflakeRegion": "aws_eu_west_1"}),
    Case("warehouse-size-snowflake-lacks", Verdict("config"), {"sophia-ai:snowflakeWarehouseSize": "HUGE"}),
    Case(
        "deployer-user-not-an-identifier", Verdict("config"), {"sophia-ai:snowflakeDeployerUser": "de ploy"}
    ),
    Case(
        "estuary-data-plane-without-published-addresses",
        Verdict("config"),
        {"sophia-ai:estuaryDataPlane": "ops/dp/public/nowhere-c9"},
    ),
    Case(
        "production-database-unprotected",
        Verdict("policy", frozenset({"production-data-protected"})),
        {"sophia-ai:snowflakeProtectDatabase": False},
    ),
    Case(
        "database-named-as-staging",
        Verdict("policy", frozenset({"stack-isolation"})),
        {"sophia-ai:snowflakeDatabase": "SOPHIA_AI_STAGING"},
    ),
    # The account written into the provider's own fields, its host, and the env-var form a server reads.
    Case(
        "provider-account-name-of-another-account",
        Verdict("policy", ACCOUNT),
        program=(PLATFORM, "account_name=config.account_name,", 'account_name="XY12345",'),
    ),
    Case(
        "provider-host-of-another-account",
        Verdict("policy", ACCOUNT),
        program=(
            PLATFORM,
            "role=role,\n",
            'role=role,\n                host="xy12345.us-east-1.snowflakecomputing.com",\n',
        ),
    ),
    Case(
        "mcp-env-account-of-another-account",
        Verdict("policy", ACCOUNT),
        program=(MCP, '"SNOWFLAKE_ACCOUNT": snowflake.account,', '"SNOWFLAKE_ACCOUNT": "XYORG-XY12345",'),
    ),
    Case(
        "service-user-without-network-policy",
        Verdict("policy", frozenset({"snowflake-users-network-restricted"})),
        program=(PLATFORM, "network_policy=network_policy.name,\n            default_role", "default_role"),
    ),
    # Values the program's types let through and only the provider knows to refuse.
    Case(
        "warehouse-size-the-provider-refuses",
        Verdict("check"),
        program=(PLATFORM, "warehouse_size=config.warehouse_size,", 'warehouse_size="X-HUGE",'),
    ),
    Case(
        "network-rule-mode-the-provider-refuses",
        Verdict("check"),
        program=(PLATFORM, 'mode="INGRESS",', 'mode="INBOUND",'),
    ),
]


def real_verdict(result: Preview) -> Verdict:
    mandatory = frozenset(MANDATORY.findall(result.output))
    if result.returncode == 0:
        return Verdict("clean", mandatory)
    # A provider's Check failure, as the CLI prints it (diag 2002/2003).
    if re.search(r"resource '[^']+'(?::\s+property \S+ value .*)? has a problem: ", result.output):
        return Verdict("check")
    if mandatory:
        return Verdict("policy", mandatory)
    assert "validating stack config" in result.output or "sophia-ai:" in result.output, result.output
    return Verdict("config")


PROBLEM = re.compile(r"(\S+ resource '[^']+'.* has a problem: .*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProject]:
    toolchain = toolchain_or_skip()
    for name in ("snowflake", "command"):
        project_plugin_or_skip(toolchain, name)
    engine_project = EngineProject(toolchain, tmp_path_factory.mktemp("parity-snowflake"))
    engine_project.init_stack(OPERATOR_INSTALLED)
    yield engine_project


def _edited(project: EngineProject, case: Case) -> dict[Path, str]:
    """Apply the case to the project copy; returns the files to restore."""
    stack_file = project.dir / f"Pulumi.{project.stack}.yaml"
    saved = {stack_file: stack_file.read_text()}
    edited = yaml.safe_load(saved[stack_file])
    for key, value in case.config.items():
        if value is None:
            edited["config"].pop(key, None)
        else:
            edited["config"][key] = value
    stack_file.write_text(yaml.safe_dump(edited, sort_keys=False))
    if case.program is not None:
        source, text, replacement = case.program
        path = project.dir / source
        saved[path] = path.read_text()
        assert saved[path].count(text) == 1, f"{source} no longer holds {text!r} once"
        path.write_text(saved[path].replace(text, replacement))
    return saved


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_offline_gate_and_real_preview_agree_on_snowflake_edits(project: EngineProject, case: Case) -> None:
    saved = _edited(project, case)
    try:
        offline = offline_verdict(project)
        result = project.preview()
        real = real_verdict(result)
    finally:
        for path, text in saved.items():
            path.write_text(text)
    assert offline == real, f"offline gate said {offline}, the real preview {real}:\n{result.output[-4000:]}"
    assert real.kind == case.expected.kind, result.output[-4000:]
    assert case.expected.mandatory <= real.mandatory


def test_a_provider_refusal_reads_the_same_in_both_engines(project: EngineProject) -> None:
    case = next(case for case in CASES if case.id == "warehouse-size-the-provider-refuses")
    saved = _edited(project, case)
    try:
        offline = project.offline_preview()
        real = project.preview()
    finally:
        for path, text in saved.items():
            path.write_text(text)
    assert offline.returncode == 2 and real.returncode != 0
    offline_problems = set(PROBLEM.findall(offline.stdout))
    assert offline_problems == set(PROBLEM.findall(real.output)), offline.stdout + real.output
    assert any("invalid warehouse size: X-HUGE" in problem for problem in offline_problems), offline_problems
