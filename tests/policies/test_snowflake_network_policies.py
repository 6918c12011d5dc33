"""snowflake-users-network-restricted, through the real pack process: a Snowflake user without an attached
network policy is refused with a message that names the user and the fix, on hand-built plans and on the
production stack with its network policy taken off one service user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi_snowflake as snowflake
import pytest

from components.config import load_stack_config
from components.snowflake_platform import SnowflakePlatform, SnowflakePlatformArgs
from offline.engine import preview, record
from offline.plan import UNKNOWN, Plan, ResourcePlan
from offline.policy_gate import PolicyPackSession, format_violations, load_policy_config
from offline.stack_files import load_stack_settings
from tests.policies.conftest import PACK_DIR, Evaluate
from tests.policies.plans import on_resource, plan, resource

NAME = "snowflake-users-network-restricted"
USER_TYPES = [
    "snowflake:index/serviceUser:ServiceUser",
    "snowflake:index/legacyServiceUser:LegacyServiceUser",
    "snowflake:index/user:User",
]


def user(resource_type: str = USER_TYPES[0], **inputs: Any) -> ResourcePlan:
    properties = {
        "name": "SOPHIA_MCP_SVC",
        "rsaPublicKey": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
        "networkPolicy": "SOPHIA_MCP_SVC_NETWORK_POLICY",
    } | inputs
    return resource(
        resource_type,
        "snowflake-mcp-user",
        {key: value for key, value in properties.items() if value is not None},
    )


@pytest.mark.parametrize("resource_type", USER_TYPES)
def test_a_user_with_a_network_policy_passes(evaluate: Evaluate, resource_type: str) -> None:
    target = user(resource_type)
    result = evaluate(plan(target))
    assert on_resource(result, NAME, target) == [], format_violations(result)


@pytest.mark.parametrize("resource_type", USER_TYPES)
@pytest.mark.parametrize("policy", [None, "", "  "], ids=["absent", "empty", "blank"])
def test_a_user_without_a_network_policy_is_refused_naming_the_user_and_the_fix(
    evaluate: Evaluate, resource_type: str, policy: str | None
) -> None:
    target = user(resource_type, networkPolicy=policy)
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert violation.level == "mandatory"
    assert f'{resource_type} "snowflake-mcp-user" (Snowflake user SOPHIA_MCP_SVC)' in violation.message
    assert "has no network policy attached" in violation.message
    assert "set network_policy=<policy>.name on the user" in violation.message


def test_an_unknown_network_policy_is_a_violation_naming_the_field(evaluate: Evaluate) -> None:
    target = user(networkPolicy=UNKNOWN)
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert violation.level == "mandatory"
    assert "networkPolicy is not known during preview" in violation.message


def test_an_attachment_resource_does_not_stand_in_for_the_users_own_policy(evaluate: Evaluate) -> None:
    target = user(networkPolicy=None)
    attachment = resource(
        "snowflake:index/networkPolicyAttachment:NetworkPolicyAttachment",
        "attach",
        {"networkPolicyName": "SOPHIA_MCP_SVC_NETWORK_POLICY", "users": ["SOPHIA_MCP_SVC"]},
    )
    result = evaluate(plan(target, attachment))
    assert len(on_resource(result, NAME, target)) == 1
    assert on_resource(result, NAME, attachment) == []


# --- The production stack: clean as committed, refused when a service user loses its network policy ------


@pytest.fixture(scope="module")
def production_plan() -> Plan:
    return preview(PACK_DIR.parent, "production")


@pytest.fixture(scope="module")
def production_pack(production_plan: Plan) -> Iterator[PolicyPackSession]:
    with PolicyPackSession(PACK_DIR, project=production_plan.project, stack="production") as session:
        yield session


def _service_users(production_plan: Plan) -> list[ResourcePlan]:
    return [r for r in production_plan.resources if r.type == USER_TYPES[0]]


@pytest.mark.production_stack
def test_both_production_service_users_have_a_network_policy(
    production_plan: Plan, production_pack: PolicyPackSession
) -> None:
    users = _service_users(production_plan)
    assert {u.inputs["name"] for u in users} == {"SOPHIA_ESTUARY_SVC", "SOPHIA_MCP_SVC"}
    config = load_policy_config(PACK_DIR / "config" / "production.json")
    result = production_pack.evaluate(production_plan, config)
    assert [v for v in result.violations if v.policy == NAME] == [], format_violations(result)


def test_gpu_node_addresses_known_only_after_deployment_leave_the_gate_clean(
    production_pack: PolicyPackSession,
) -> None:
    """The Lambda instances' public IPs are provider outputs: unknown in a preview that launches them."""

    def program() -> None:
        stand_in = snowflake.AccountRole("later", name="LATER")
        after_deployment = stand_in.fully_qualified_name.apply(lambda _: ["104.171.203.17"])
        config = load_stack_config()
        SnowflakePlatform(
            "snowflake",
            SnowflakePlatformArgs(
                config=config.snowflake,
                protect_data=True,
                estuary_egress_addresses=config.estuary.egress_addresses(),
                mcp_egress_addresses=after_deployment,
            ),
        )

    platform = record(program, load_stack_settings(PACK_DIR.parent, "production"))
    (mcp_rule,) = [r for r in platform.resources if r.name == "snowflake-mcp-ingress-rule"]
    assert mcp_rule.inputs["valueLists"] is UNKNOWN
    config = load_policy_config(PACK_DIR / "config" / "production.json")
    result = production_pack.evaluate(platform, config)
    assert result.mandatory_count == 0, format_violations(result)


@pytest.mark.production_stack
@pytest.mark.parametrize("user_name", ["SOPHIA_ESTUARY_SVC", "SOPHIA_MCP_SVC"])
def test_taking_the_network_policy_off_a_production_service_user_fails_the_gate(
    production_plan: Plan, production_pack: PolicyPackSession, user_name: str
) -> None:
    (target,) = [u for u in _service_users(production_plan) if u.inputs["name"] == user_name]
    edited = ResourcePlan(
        **{**vars(target), "inputs": {k: v for k, v in target.inputs.items() if k != "networkPolicy"}}
    )
    changed = Plan(
        project=production_plan.project,
        stack=production_plan.stack,
        resources=[edited if r.urn == target.urn else r for r in production_plan.resources],
    )
    config = load_policy_config(PACK_DIR / "config" / "production.json")
    result = production_pack.evaluate(changed, config)
    assert result.mandatory_count == 1, format_violations(result)
    [violation] = on_resource(result, NAME, edited)
    assert f"Snowflake user {user_name}" in violation.message
    assert "the gate fails." in format_violations(result)
