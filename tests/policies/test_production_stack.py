"""The real production stack, run offline (offline.engine.preview) and through the policy gate: clean as
committed, and each known way of breaking it is stopped, by the typed stack config or by the right policy."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from offline.engine import InvalidStack, preview
from offline.plan import Plan
from offline.policy_gate import GateResult, PolicyPackSession, format_violations, load_policy_config
from tests.policies.conftest import PACK_DIR

pytestmark = pytest.mark.production_stack

PROJECT_DIR = PACK_DIR.parent
STACK = "production"
CONFIG = load_policy_config(PACK_DIR / "config" / f"{STACK}.json")


@pytest.fixture(scope="module")
def production_plan() -> Plan:
    return preview(PROJECT_DIR, STACK)


@pytest.fixture(scope="module")
def production_pack(production_plan: Plan) -> Iterator[PolicyPackSession]:
    with PolicyPackSession(PACK_DIR, project=production_plan.project, stack=STACK) as session:
        yield session


def mandatory_policies(result: GateResult) -> set[str]:
    return {violation.policy for violation in result.violations if violation.level == "mandatory"}


def stopped(pack: PolicyPackSession, overrides: dict[str, Any]) -> tuple[str, str]:
    """("config", error) when the typed stack config refuses the overrides, else ("gate", report)."""
    try:
        changed = preview(PROJECT_DIR, STACK, overrides)
    except InvalidStack as error:
        return "config", str(error)
    result = pack.evaluate(changed, CONFIG)
    assert result.mandatory_count > 0, f"the gate passed {overrides}:\n{format_violations(result)}"
    return "gate", format_violations(result) + "\n" + " ".join(sorted(mandatory_policies(result)))


def production_servers() -> list[dict[str, Any]]:
    stack_file = yaml.safe_load((PROJECT_DIR / f"Pulumi.{STACK}.yaml").read_text())
    return copy.deepcopy(stack_file["config"]["sophia-ai:mcpServers"])


def mcp_releases(plan: Plan) -> list[Any]:
    return [
        r
        for r in plan.resources
        if r.type == "kubernetes:helm.sh/v3:Release" and "sophia-mcp" in r.inputs["chart"]
    ]


def test_the_committed_production_stack_has_no_mandatory_violation(
    production_plan: Plan, production_pack: PolicyPackSession
) -> None:
    result = production_pack.evaluate(production_plan, CONFIG)
    assert result.mandatory_count == 0, format_violations(result)
    assert result.resources == len(production_plan.resources)


def test_the_old_wrong_account_fails_the_gate(production_pack: PolicyPackSession) -> None:
    where, report = stopped(
        production_pack, {"snowflakeOrganization": "SCOOBYJAVA", "snowflakeAccountName": "VW02766"}
    )
    assert where == "gate", report
    assert "snowflake-account-allowed" in report
    assert "SCOOBYJAVA-VW02766" in report


def test_the_estuary_materialization_pointed_at_the_wrong_account_fails_the_gate(
    production_pack: PolicyPackSession,
) -> None:
    changed = preview(
        PROJECT_DIR, STACK, {"snowflakeOrganization": "SCOOBYJAVA", "snowflakeAccountName": "VW02766"}
    )
    result = production_pack.evaluate(changed, CONFIG)
    (command,) = [r for r in changed.resources if r.type == "command:local:Command"]
    flagged = {v.urn for v in result.violations if v.policy == "snowflake-account-allowed"}
    assert command.urn in flagged
    assert "scoobyjava-vw02766.snowflakecomputing.com" in command.inputs["environment"]["FLOW_CATALOG"]


def test_a_locator_with_a_doubled_region_suffix_is_stopped(production_pack: PolicyPackSession) -> None:
    where, report = stopped(production_pack, {"snowflakeAccountLocator": "ZNB04675.us-east-1.us-east-1"})
    # The typed config refuses it before the program registers anything, so the gate never sees it.
    assert where == "config"
    assert "sophia-ai:snowflakeAccountLocator" in report


def test_an_mcp_server_with_no_gpu_share_is_stopped(production_pack: PolicyPackSession) -> None:
    servers = production_servers()
    servers[1]["gpuShare"] = 0
    where, report = stopped(production_pack, {"mcpServers": servers})
    assert where == "config"
    assert "sophia-ai:mcpServers[1].gpuShare" in report


def test_an_mcp_release_without_a_gpu_limit_fails_the_gate(
    production_plan: Plan, production_pack: PolicyPackSession
) -> None:
    changed = copy.deepcopy(production_plan)
    release = mcp_releases(changed)[1]
    del release.inputs["values"]["resources"]["limits"]["nvidia.com/gpu"]
    release.inputs["values"]["resources"]["requests"].pop("nvidia.com/gpu", None)
    result = production_pack.evaluate(changed, CONFIG)
    assert "mcp-servers-require-gpu" in mandatory_policies(result)
    assert any(v.urn == release.urn for v in result.violations if v.policy == "mcp-servers-require-gpu")


def test_a_literal_quarter_gpu_fails_the_gate(
    production_plan: Plan, production_pack: PolicyPackSession
) -> None:
    changed = copy.deepcopy(production_plan)
    release = mcp_releases(changed)[0]
    release.inputs["values"]["resources"]["limits"]["nvidia.com/gpu"] = 0.25
    release.inputs["values"]["resources"]["requests"]["nvidia.com/gpu"] = 0.25
    result = production_pack.evaluate(changed, CONFIG)
    assert {"mcp-servers-require-gpu", "gpu-quantities-valid"} <= mandatory_policies(result)
    assert all(
        "0.25" in v.message for v in result.violations if v.urn == release.urn and v.policy != "gpu-capacity"
    )
