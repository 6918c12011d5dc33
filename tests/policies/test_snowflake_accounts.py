"""snowflake-account-allowed, through the real pack process: every broken form of the account, in every kind
of place a Snowflake account is named, is a mandatory violation that names the resource, the field, the value
and the accepted forms; the allowed account in any of its forms passes."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from offline.plan import UNKNOWN, ResourcePlan, Secret
from offline.policy_gate import format_violations
from tests.policies.conftest import Evaluate
from tests.policies.plans import on_resource, plan, resource, snowflake_provider

NAME = "snowflake-account-allowed"
ACCEPTED = "UHDECNO-CVB64222 or ZNB04675.us-east-1"

BROKEN_IDENTIFIERS = {
    "old wrong account": "scoobyjava-vw02766",
    "region suffix doubled": "ZNB04675.us-east-1.us-east-1",
    "host where an identifier is expected": "UHDECNO-CVB64222.snowflakecomputing.com",
    "bare locator (means us-west-2)": "ZNB04675",
}
BROKEN_HOSTS = {
    "old wrong account's host": "scoobyjava-vw02766.snowflakecomputing.com",
    "concatenated host with the doubled suffix": "ZNB04675.us-east-1.us-east-1.snowflakecomputing.com",
    "domain appended twice": "uhdecno-cvb64222.snowflakecomputing.com.snowflakecomputing.com",
    "mangled domain": "UHDECNO-CVB64222.modern_stackcomputing.com",
}
GOOD_IDENTIFIERS = ("UHDECNO-CVB64222", "uhdecno-cvb64222", "ZNB04675.us-east-1", "znb04675.us-east-1")
GOOD_HOSTS = (
    "uhdecno-cvb64222.snowflakecomputing.com",
    "ZNB04675.us-east-1.snowflakecomputing.com",
    "https://UHDECNO-CVB64222.snowflakecomputing.com:443",
    "uhdecno-cvb64222.privatelink.snowflakecomputing.com",
)


def catalog(**connector_config: Any) -> str:
    """An Estuary catalog whose Snowflake materialization carries these endpoint settings."""
    config = {
        "host": "uhdecno-cvb64222.snowflakecomputing.com",
        "database": "SOPHIA_AI",
        "schema": "LANDING",
        "warehouse": "SOPHIA_AI_WH",
        "role": "SOPHIA_AI_ESTUARY",
        "timestamp_type": "TIMESTAMP_LTZ",
        "credentials": {"auth_type": "jwt", "user": "SOPHIA_AI_ESTUARY"},
    } | connector_config
    return yaml.safe_dump(
        {
            "materializations": {
                "Pay_Ready/snowflake/materialize-snowflake": {
                    "endpoint": {
                        "connector": {"image": "ghcr.io/estuary/materialize-snowflake:v4", "config": config}
                    },
                    "bindings": [
                        {"source": "Pay_Ready/hubspot/deals", "resource": {"table": "hubspot_deals"}}
                    ],
                }
            }
        }
    )


# Each location builds a resource that names `value` as an account identifier ("account") or as a host
# ("host"), and says which field the violation must point at.
Location = Callable[[str, str], tuple[ResourcePlan, str]]


def provider_field(kind: str, value: str) -> tuple[ResourcePlan, str]:
    if kind == "account":
        return snowflake_provider(organizationName=None, accountName=None, account=value), "account"
    return snowflake_provider(host=value), "host"


def env_list(kind: str, value: str) -> tuple[ResourcePlan, str]:
    name = "SNOWFLAKE_ACCOUNT" if kind == "account" else "SNOWFLAKE_HOST"
    container = {
        "name": "loader",
        "image": "ghcr.io/sophia-ai/loader:1.0.0",
        "env": [{"name": name, "value": value}],
    }
    deployment = resource(
        "kubernetes:apps/v1:Deployment",
        "loader",
        {
            "spec": {
                "template": {"metadata": {"labels": {"app": "loader"}}, "spec": {"containers": [container]}}
            }
        },
    )
    return deployment, "spec.template.spec.containers[0].env[0].value"


def helm_values(kind: str, value: str) -> tuple[ResourcePlan, str]:
    release = resource(
        "kubernetes:helm.sh/v3:Release",
        "warehouse-exporter",
        {
            "chart": "prometheus-snowflake-exporter",
            "values": {"snowflake": {kind: value, "user": "EXPORTER"}},
        },
    )
    return release, f"values.snowflake.{kind}"


def config_map(kind: str, value: str) -> tuple[ResourcePlan, str]:
    key = "SNOWFLAKE_ACCOUNT" if kind == "account" else "SNOWFLAKE_HOST"
    return resource("kubernetes:core/v1:ConfigMap", "mcp-settings", {"data": {key: value}}), f"data.{key}"


def secret_string_data(kind: str, value: str) -> tuple[ResourcePlan, str]:
    key = "SNOWFLAKE_ACCOUNT" if kind == "account" else "SNOWFLAKE_HOST"
    # pulumi_kubernetes marks Secret data secret, so it reaches the pack wrapped in the secret signature.
    return resource(
        "kubernetes:core/v1:Secret", "ai-memory-snowflake", {"stringData": Secret({key: value})}
    ), (f"stringData.{key}")


def secret_data(kind: str, value: str) -> tuple[ResourcePlan, str]:
    key = "SNOWFLAKE_ACCOUNT" if kind == "account" else "SNOWFLAKE_HOST"
    encoded = base64.b64encode(value.encode()).decode()
    return resource(
        "kubernetes:core/v1:Secret", "gong-snowflake", {"data": Secret({key: encoded})}
    ), f"data.{key}"


def command_environment(kind: str, value: str) -> tuple[ResourcePlan, str]:
    key = "SNOWFLAKE_ACCOUNT" if kind == "account" else "SNOWFLAKE_HOST"
    command = resource(
        "command:local:Command",
        "estuary-publish",
        {"create": "flowctl catalog publish --source flow.yaml --auto-approve", "environment": {key: value}},
    )
    return command, f"environment.{key}"


def command_catalog_heredoc(kind: str, value: str) -> tuple[ResourcePlan, str]:
    script = (
        f"cat > flow.yaml <<'EOF'\n{catalog(**{kind: value})}EOF\nflowctl catalog publish --source flow.yaml"
    )
    command = resource("command:local:Command", "estuary-publish", {"create": script})
    return command, 'create (heredoc 1): materializations["Pay_Ready/snowflake/materialize-snowflake"]'


def command_catalog_environment(kind: str, value: str) -> tuple[ResourcePlan, str]:
    command = resource(
        "command:local:Command",
        "estuary-publish",
        {
            "update": "python scripts/publish_flow.py publish",
            "environment": {"FLOW_CATALOG": catalog(**{kind: value})},
        },
    )
    return command, "environment.FLOW_CATALOG: materializations"


LOCATIONS: dict[str, Location] = {
    "provider field": provider_field,
    "env list": env_list,
    "Helm values": helm_values,
    "ConfigMap data": config_map,
    "Secret stringData": secret_string_data,
    "Secret data (base64)": secret_data,
    "command environment": command_environment,
    "catalog in a command script": command_catalog_heredoc,
    "catalog in a command's environment": command_catalog_environment,
}
BROKEN = [("account", label, value) for label, value in BROKEN_IDENTIFIERS.items()] + [
    ("host", label, value) for label, value in BROKEN_HOSTS.items()
]


@pytest.mark.parametrize("location", LOCATIONS.values(), ids=list(LOCATIONS))
@pytest.mark.parametrize(("kind", "form", "value"), BROKEN, ids=[form for _, form, _ in BROKEN])
def test_every_broken_form_is_rejected_wherever_it_appears(
    evaluate: Evaluate, location: Location, kind: str, form: str, value: str
) -> None:
    target, field = location(kind, value)
    result = evaluate(plan(target))
    found = on_resource(result, NAME, target)
    assert found, f"{form} in {field} passed:\n{format_violations(result)}"
    assert {violation.level for violation in found} == {"mandatory"}
    assert result.mandatory_count >= 1
    assert any(
        f'"{target.name}"' in violation.message
        and field in violation.message
        and value in violation.message
        and f"accepted: {ACCEPTED}" in violation.message
        for violation in found
    ), format_violations(result)


@pytest.mark.parametrize("location", LOCATIONS.values(), ids=list(LOCATIONS))
@pytest.mark.parametrize(
    ("kind", "value"),
    [("account", value) for value in GOOD_IDENTIFIERS] + [("host", value) for value in GOOD_HOSTS],
)
def test_the_production_account_passes_in_every_form_and_place(
    evaluate: Evaluate, location: Location, kind: str, value: str
) -> None:
    target, _ = location(kind, value)
    result = evaluate(plan(target))
    assert on_resource(result, NAME, target) == [], format_violations(result)


def test_provider_naming_the_old_account_by_organization_and_account_name(evaluate: Evaluate) -> None:
    provider = snowflake_provider(organizationName="SCOOBYJAVA", accountName="VW02766")
    [violation] = on_resource(evaluate(plan(provider)), NAME, provider)
    assert "organizationName-accountName" in violation.message
    assert "'SCOOBYJAVA-VW02766'" in violation.message


def test_provider_given_a_host_as_account_name(evaluate: Evaluate) -> None:
    provider = snowflake_provider(accountName="uhdecno-cvb64222.snowflakecomputing.com")
    [violation] = on_resource(evaluate(plan(provider)), NAME, provider)
    assert "accountName" in violation.message
    assert "is a host name where an account name" in violation.message


def test_provider_that_names_no_account(evaluate: Evaluate) -> None:
    provider = snowflake_provider(organizationName=None, accountName=None)
    [violation] = on_resource(evaluate(plan(provider)), NAME, provider)
    assert "names no account" in violation.message


def test_resources_managed_through_a_wrong_provider_are_rejected_too(evaluate: Evaluate) -> None:
    provider = snowflake_provider(organizationName="SCOOBYJAVA", accountName="VW02766")
    database = resource(
        "snowflake:index/database:Database",
        "database",
        {"name": "SOPHIA_AI", "dataRetentionTimeInDays": 1},
        provider=provider.urn,
        protect=True,
    )
    [violation] = on_resource(evaluate(plan(provider, database)), NAME, database)
    assert "its snowflake provider's organizationName-accountName" in violation.message


def test_a_snowflake_host_anywhere_is_checked(evaluate: Evaluate) -> None:
    dashboard = resource(
        "kubernetes:core/v1:Service",
        "dashboard",
        {
            "metadata": {
                "annotations": {"docs": "see https://scoobyjava-vw02766.snowflakecomputing.com/console"}
            }
        },
    )
    [violation] = on_resource(evaluate(plan(dashboard)), NAME, dashboard)
    assert "metadata.annotations.docs" in violation.message
    assert "SCOOBYJAVA-VW02766" in violation.message


def test_other_accounts_and_hosts_are_not_snowflake_references(evaluate: Evaluate) -> None:
    pod_spec = {
        "serviceAccountName": "mcp",
        "containers": [
            {"name": "web", "image": "nginx:1.27", "env": [{"name": "HOST", "value": "mcp.sophia.ai"}]}
        ],
    }
    deployment = resource(
        "kubernetes:apps/v1:Deployment",
        "web",
        {"spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec}}},
    )
    ingress = resource(
        "kubernetes:networking.k8s.io/v1:Ingress", "mcp", {"spec": {"rules": [{"host": "mcp.sophia.ai"}]}}
    )
    result = evaluate(plan(deployment, ingress))
    assert [violation for violation in result.violations if violation.policy == NAME] == []


def test_allowed_accounts_come_from_the_policy_config(evaluate: Evaluate) -> None:
    provider = snowflake_provider()
    staging = {"allowedAccounts": [{"orgAccount": "SCOOBYJAVA-VW02766", "locator": "VW02766.us-east-2.aws"}]}
    old_account = snowflake_provider("old", organizationName="SCOOBYJAVA", accountName="VW02766")
    result = evaluate(plan(provider, old_account), {NAME: staging})
    assert on_resource(result, NAME, old_account) == []
    [violation] = on_resource(result, NAME, provider)
    assert "accepted: SCOOBYJAVA-VW02766 or VW02766.us-east-2.aws" in violation.message


def test_a_malformed_allowed_account_in_config_allows_nothing(evaluate: Evaluate) -> None:
    provider = snowflake_provider()
    broken = {
        "allowedAccounts": [{"orgAccount": "UHDECNO-CVB64222.snowflakecomputing.com", "locator": "ZNB04675"}]
    }
    [violation] = on_resource(evaluate(plan(provider), {NAME: broken}), NAME, provider)
    assert "allowedAccounts config is invalid" in violation.message


def test_an_account_unknown_at_preview_is_a_violation_not_a_silent_pass(evaluate: Evaluate) -> None:
    settings = resource(
        "kubernetes:core/v1:ConfigMap", "mcp-settings", {"data": {"SNOWFLAKE_ACCOUNT": UNKNOWN}}
    )
    provider = snowflake_provider(accountName=UNKNOWN)
    result = evaluate(plan(settings, provider))
    for target, field in ((settings, "data.SNOWFLAKE_ACCOUNT"), (provider, "accountName")):
        [violation] = on_resource(result, NAME, target)
        assert violation.level == "mandatory"
        assert field in violation.message
        assert "not known during preview" in violation.message


@pytest.mark.parametrize(
    ("target", "where", "value"),
    [
        (
            resource(
                "kubernetes:core/v1:ConfigMap",
                "snowcli",
                {"data": {"connections.toml": '[default]\naccount = "scoobyjava-vw02766"\nuser = "MCP"\n'}},
            ),
            "data.connections.toml: [default].account",
            "'scoobyjava-vw02766'",
        ),
        (
            resource(
                "kubernetes:core/v1:Secret",
                "provider-env",
                {
                    "data": Secret(
                        {
                            ".env": base64.encodebytes(
                                b"SNOWFLAKE_ORGANIZATION_NAME=UHDECNO\nSNOWFLAKE_ACCOUNT_NAME=VW02766\n"
                            ).decode()
                        }
                    )
                },
            ),
            'data[".env"]: SNOWFLAKE_ORGANIZATION_NAME + SNOWFLAKE_ACCOUNT_NAME',
            "'UHDECNO-VW02766'",
        ),
        (
            resource("command:local:Command", "check", {"create": "snowsql -a ZNB04675 -q 'select 1'"}),
            "create: line 1 snowsql -a",
            "'ZNB04675'",
        ),
    ],
    ids=["TOML in a ConfigMap", "split identity in base64 dotenv", "snowsql flag"],
)
def test_violations_name_the_resource_the_place_in_the_file_the_value_and_the_allowed_account(
    evaluate: Evaluate, target: ResourcePlan, where: str, value: str
) -> None:
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert violation.message.startswith(f'{target.type} "{target.name}": {where}: {value}'), violation.message
    assert f"accepted: {ACCEPTED}" in violation.message


def _config_map(data: dict[str, str]) -> ResourcePlan:
    return resource("kubernetes:core/v1:ConfigMap", "app-settings", {"data": data})


def _job(*command: str) -> ResourcePlan:
    container = {"name": "load", "image": "ghcr.io/x/load:1.0.0", "command": list(command)}
    return resource(
        "kubernetes:batch/v1:Job", "load", {"spec": {"template": {"spec": {"containers": [container]}}}}
    )


@pytest.mark.parametrize(
    "target",
    [
        _config_map(
            {"SNOWFLAKE_DSN": "loader:pw@scoobyjava-vw02766/SOPHIA_AI/LANDING?warehouse=SOPHIA_AI_WH"}
        ),
        _job("sh", "-c", "snowsql -a scoobyjava-vw02766 -u loader -f /sql/load.sql"),
        _config_map(
            {
                "load.py": "import snowflake.connector\n"
                "conn = snowflake.connector.connect(account='ZNB04675', user='x')\n"
            }
        ),
    ],
    ids=["gosnowflake-dsn", "snowsql-in-sh-c", "connect-kwarg"],
)
def test_accounts_in_driver_dsns_cli_invocations_and_code_are_judged(
    evaluate: Evaluate, target: ResourcePlan
) -> None:
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert ACCEPTED in violation.message


@pytest.mark.parametrize(
    "target",
    [
        _config_map(
            {
                "snowflake.yaml": yaml.safe_dump(
                    {"snowflake": {"account": "UHDECNO-CVB64222", "host": "proxy.internal.example.com"}}
                )
            }
        ),
        _config_map(
            {
                "SNOWFLAKE_HOST": "uhdecno-cvb64222.snowflakecomputing.com",
                "OTEL_URL": "https%3A%2F%2Fuhdecno-cvb64222.snowflakecomputing.com%2F",
            }
        ),
        _config_map(
            {
                "load.py": "conn = snowflake.connector.connect(\n"
                '    account="UHDECNO-CVB64222",\n    user="loader",\n)\n'
            }
        ),
        _config_map({"SNOWFLAKE_DSN": "loader@UHDECNO-CVB64222/SOPHIA_AI/LANDING?warehouse=SOPHIA_AI_WH"}),
    ],
    ids=["other-host-beside-snowflake", "url-encoded", "quoted-right-account-in-code", "right-dsn"],
)
def test_right_accounts_and_other_hosts_beside_snowflake_settings_pass(
    evaluate: Evaluate, target: ResourcePlan
) -> None:
    result = evaluate(plan(target))
    assert on_resource(result, NAME, target) == [], format_violations(result)
