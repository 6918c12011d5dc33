"""stack-isolation: staging never names production's objects, and production never names staging's.

Through the real pack on the real program's plans, and in-process on the domain rule.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from domain.stack_isolation import OwnedNames, foreign_names
from offline.engine import preview
from offline.plan import Plan, Secret
from offline.policy_gate import GateResult, PolicyPackSession, load_policy_config
from tests.policies.conftest import PACK_DIR
from tests.policies.plans import plan, resource

PROJECT_DIR = PACK_DIR.parent


def _gate(stack: str, plan: Plan) -> GateResult:
    with PolicyPackSession(PACK_DIR, project=plan.project, stack=stack) as session:
        return session.evaluate(plan, load_policy_config(PACK_DIR / "config" / f"{stack}.json"))


def _isolation_messages(result: GateResult) -> list[str]:
    return [v.message for v in result.violations if v.policy == "stack-isolation" and v.level == "mandatory"]


@pytest.fixture(scope="module")
def staging_pack() -> Iterator[PolicyPackSession]:
    with PolicyPackSession(PACK_DIR, project="sophia-ai", stack="staging") as session:
        yield session


def _staging_gate(pack: PolicyPackSession, overrides: dict[str, object]) -> list[str]:
    plan = preview(PROJECT_DIR, "staging", overrides)
    return _isolation_messages(pack.evaluate(plan, load_policy_config(PACK_DIR / "config" / "staging.json")))


def test_staging_as_committed_passes(staging_pack: PolicyPackSession) -> None:
    plan = preview(PROJECT_DIR, "staging")
    result = staging_pack.evaluate(plan, load_policy_config(PACK_DIR / "config" / "staging.json"))
    assert result.mandatory_count == 0


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"snowflakeDatabase": "SOPHIA_AI"}, "names production's Snowflake database 'SOPHIA_AI'"),
        ({"snowflakeWarehouse": "SOPHIA_AI_WH"}, "names production's Snowflake warehouse 'SOPHIA_AI_WH'"),
        ({"snowflakeServiceNamePrefix": "SOPHIA"}, "names production's Snowflake user 'SOPHIA_MCP_SVC'"),
        ({"estuaryPrefix": ""}, "names production's Estuary prefix 'Pay_Ready/hubspot/'"),
        ({"mcpNamespace": "mcp"}, "names production's namespace 'mcp'"),
        ({"gpuPoolName": "lambda-gpu"}, "names production's Lambda instance name 'sophia-lambda-gpu-0'"),
    ],
)
def test_staging_edited_to_use_a_production_name_fails_naming_it(
    staging_pack: PolicyPackSession, overrides: dict[str, object], named: str
) -> None:
    messages = _staging_gate(staging_pack, overrides)
    assert any(named in message for message in messages), messages


def test_production_edited_to_use_a_staging_name_fails_too() -> None:
    plan = preview(PROJECT_DIR, "production", {"snowflakeDatabase": "SOPHIA_AI_STAGING"})
    messages = _isolation_messages(_gate("production", plan))
    assert any("names staging's Snowflake database 'SOPHIA_AI_STAGING'" in message for message in messages)


def _encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# The MCP servers' Snowflake Secret as the program registers it (the offline gate's view) and as the
# kubernetes provider's Check hands it to the pack under the real CLI: base64 `data`, no `stringData`.
SECRET_FORMS: dict[str, dict[str, Any]] = {
    "stringData": {"stringData": Secret({"SNOWFLAKE_USER": "SOPHIA_STAGING_MCP_SVC", "SNOWFLAKE_ROLE": "X"})},
    "data": {"data": Secret({"SNOWFLAKE_USER": _encoded("SOPHIA_STAGING_MCP_SVC"), "SNOWFLAKE_ROLE": "!"})},
    "data-list": {"items": [{"data": {"SNOWFLAKE_USER": _encoded("SOPHIA_STAGING_MCP_SVC")}}]},
}


@pytest.mark.parametrize("form", sorted(SECRET_FORMS))
def test_a_staging_name_in_a_production_secret_fails_in_either_form(form: str) -> None:
    kind = "SecretList" if form == "data-list" else "Secret"
    secret = resource(f"kubernetes:core/v1:{kind}", "mcp-snowflake", SECRET_FORMS[form])
    messages = _isolation_messages(_gate("production", plan(secret, stack="production")))
    assert any("names staging's Snowflake user 'SOPHIA_STAGING_MCP_SVC'" in m for m in messages), messages


OWNED = OwnedNames(
    stack="production",
    snowflake_objects={"SOPHIA_AI": "database"},
    estuary_prefixes=("Pay_Ready/hubspot/",),
    namespaces=("mcp",),
    lambda_instance_prefixes=("sophia-lambda-gpu-",),
)


@pytest.mark.parametrize(
    "props",
    [
        {"name": "sophia_ai"},
        {"stringData": {"SNOWFLAKE_DATABASE": "SOPHIA_AI"}},
        {"schemaName": '"SOPHIA_AI"."APP"'},
        {"environment": {"FLOW_SPEC": "captures:\n  Pay_Ready/hubspot/source-hubspot-native: {}"}},
        {"metadata": {"namespace": "mcp"}},
        {"spec": {"namespaceSelector": {"matchNames": ["mcp"]}}},
        {"spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mcp"}}}},
        {
            "spec": {
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchExpressions": [
                                        {
                                            "key": "kubernetes.io/metadata.name",
                                            "operator": "In",
                                            "values": ["mcp"],
                                        }
                                    ]
                                }
                            }
                        ]
                    }
                ]
            }
        },
    ],
)
def test_the_domain_rule_finds_a_foreign_name_wherever_it_is_written(props: dict[str, object]) -> None:
    assert foreign_names(props, OWNED)


@pytest.mark.parametrize(
    "props",
    [
        {"name": "SOPHIA_AI_STAGING"},
        {"comment": "Sophia AI service role."},
        {"environment": {"FLOW_SPEC": "Pay_Ready/staging/hubspot/companies"}},
        {"metadata": {"name": "mcp", "namespace": "mcp-staging"}},
        {"spec": {"path": "/mcp"}},
        {"spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mcp-staging"}}}},
        {"spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "mcp"}}}},
    ],
)
def test_the_domain_rule_leaves_look_alikes_alone(props: dict[str, object]) -> None:
    assert foreign_names(props, OWNED) == []


def test_a_pool_whose_name_only_starts_like_the_other_is_not_the_other() -> None:
    assert foreign_names({}, OWNED, lambda_instance_name="sophia-lambda-gpu-staging-0") == []
    assert foreign_names({}, OWNED, lambda_instance_name="sophia-lambda-gpu-2")
    assert foreign_names({}, OWNED, kubernetes_namespace_name="mcp")
