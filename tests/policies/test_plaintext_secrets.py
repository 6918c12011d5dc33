"""no-plaintext-secrets, through the real pack process: credentials are references, never literal text in a
ConfigMap, an env value, Helm values or a command script; violations never repeat the credential."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from offline.plan import UNKNOWN, ResourcePlan, Secret
from offline.policy_gate import GateResult, format_violations
from tests.policies.conftest import Evaluate
from tests.policies.plans import mcp_release, mcp_values, on_resource, plan, resource

NAME = "no-plaintext-secrets"
TOKEN = "lin_api_9f8e7d6c5b4a"


def reported(result: GateResult, target: ResourcePlan) -> list[str]:
    messages = [violation.message for violation in on_resource(result, NAME, target)]
    assert all(TOKEN not in message for message in messages), "a violation repeated the credential"
    return messages


def config_map(data: Any) -> ResourcePlan:
    return resource("kubernetes:core/v1:ConfigMap", "mcp-settings", {"data": data})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"LINEAR_API_TOKEN": TOKEN}, "data.LINEAR_API_TOKEN"),
        ({"SNOWFLAKE_PASSWORD": ""}, "data.SNOWFLAKE_PASSWORD"),
        ({"snowflakePrivateKey": TOKEN}, "data.snowflakePrivateKey"),
        ({"app.yaml": yaml.safe_dump({"linear": {"apiKey": TOKEN, "team": "ENG"}})}, 'data["app.yaml"]'),
        ({"app.env": f"LOG_LEVEL=info\nASANA_TOKEN={TOKEN}\n"}, 'data["app.env"]'),
    ],
    ids=["token key", "empty password key", "private key", "inside a YAML file", "inside an env file"],
)
def test_a_config_map_never_carries_a_credential(
    evaluate: Evaluate, data: dict[str, str], field: str
) -> None:
    target = config_map(data)
    result = evaluate(plan(target))
    messages = reported(result, target)
    assert messages, format_violations(result)
    assert all(field in message for message in messages)
    assert {violation.level for violation in on_resource(result, NAME, target)} == {"mandatory"}


def test_ordinary_configuration_passes(evaluate: Evaluate) -> None:
    target = config_map(
        {"LOG_LEVEL": "info", "SNOWFLAKE_WAREHOUSE": "SOPHIA_AI_WH", "TOKEN_TTL_SECONDS": "3600"}
    )
    assert reported(evaluate(plan(target)), target) == []


def deployment(env: list[dict[str, Any]], env_from: list[dict[str, Any]] | None = None) -> ResourcePlan:
    container = {"name": "gong", "image": "ghcr.io/sophia-ai/mcp-gong:1.0.0", "env": env}
    if env_from:
        container["envFrom"] = env_from
    spec = {"template": {"metadata": {"labels": {"app": "gong"}}, "spec": {"containers": [container]}}}
    return resource("kubernetes:apps/v1:Deployment", "gong", {"spec": spec})


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": "GONG_ACCESS_KEY_SECRET", "value": TOKEN}, "given as a plain `value`"),
        ({"name": "GONG_TOKEN", "value": Secret(TOKEN)}, "given as a plain `value`"),
        (
            {"name": "GONG_TOKEN", "valueFrom": {"configMapKeyRef": {"name": "gong", "key": "token"}}},
            "ConfigMap",
        ),
    ],
    ids=["literal", "Pulumi secret in a pod spec", "from a ConfigMap"],
)
def test_env_credentials_must_come_from_a_secret(
    evaluate: Evaluate, entry: dict[str, Any], expected: str
) -> None:
    target = deployment([{"name": "LOG_LEVEL", "value": "info"}, entry])
    [message] = reported(evaluate(plan(target)), target)
    assert "spec.template.spec.containers[0].env[1]" in message
    assert expected in message


def test_env_credentials_by_reference_pass(evaluate: Evaluate) -> None:
    target = deployment(
        [{"name": "GONG_TOKEN", "valueFrom": {"secretKeyRef": {"name": "gong", "key": "token"}}}],
        env_from=[{"secretRef": {"name": "gong-snowflake"}}],
    )
    assert reported(evaluate(plan(target)), target) == []


def test_plaintext_token_in_helm_values_is_rejected(evaluate: Evaluate) -> None:
    release = mcp_release("linear", values=mcp_values(linear={"apiToken": TOKEN}))
    env_release = mcp_release("asana", values=mcp_values(env=[{"name": "ASANA_TOKEN", "value": TOKEN}]))
    result = evaluate(plan(release, env_release))
    [message] = reported(result, release)
    assert "values.linear.apiToken" in message
    assert "Helm value" in message
    [env_message] = reported(result, env_release)
    assert "values.env[0].value" in env_message


def test_helm_values_may_name_the_secret_that_holds_credentials(evaluate: Evaluate) -> None:
    release = mcp_release(
        values=mcp_values(
            secretName="ai-memory-snowflake",
            auth={"existingSecret": "ai-memory-auth", "tokenSecretKeyRef": {"name": "auth", "key": "token"}},
            env=[{"name": "MCP_TOKEN", "valueFrom": {"secretKeyRef": {"name": "mcp", "key": "token"}}}],
        )
    )
    result = evaluate(plan(release))
    assert reported(result, release) == [], format_violations(result)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (f"FLOW_AUTH_TOKEN={TOKEN} flowctl catalog publish --source flow.yaml", "FLOW_AUTH_TOKEN (line 1)"),
        (f"flowctl auth token --token {TOKEN}", "token (line 1)"),
        (
            "cat > flow.yaml <<'EOF'\n"
            + yaml.safe_dump(
                {
                    "materializations": {
                        "x": {
                            "endpoint": {
                                "connector": {
                                    "config": {
                                        "credentials": {
                                            "auth_type": "jwt",
                                            "user": "ESTUARY",
                                            "private_key": TOKEN,
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            )
            + "EOF\nflowctl catalog publish --source flow.yaml\n",
            "private_key is a credential written out",
        ),
    ],
    ids=["assignment", "flag", "catalog heredoc"],
)
def test_a_command_script_never_spells_out_a_credential(
    evaluate: Evaluate, script: str, expected: str
) -> None:
    command = resource("command:local:Command", "estuary-publish", {"create": script})
    [message] = reported(evaluate(plan(command)), command)
    assert expected in message


def test_commands_get_credentials_through_their_environment(evaluate: Evaluate) -> None:
    command = resource(
        "command:local:Command",
        "estuary-publish",
        {
            "create": 'flowctl auth token --token "$FLOW_AUTH_TOKEN" && flowctl catalog publish',
            "environment": {"FLOW_AUTH_TOKEN": Secret(TOKEN)},
        },
    )
    assert reported(evaluate(plan(command)), command) == []


def test_kubernetes_secrets_hold_credentials(evaluate: Evaluate) -> None:
    secret = resource("kubernetes:core/v1:Secret", "gong", {"stringData": Secret({"GONG_TOKEN": TOKEN})})
    assert reported(evaluate(plan(secret)), secret) == []


def test_unknown_config_map_data_or_values_are_violations_not_silent_passes(evaluate: Evaluate) -> None:
    settings = config_map(UNKNOWN)
    release = mcp_release(values=UNKNOWN)
    result = evaluate(plan(settings, release))
    [settings_message] = reported(result, settings)
    assert "data: is not known during preview" in settings_message
    [values_message] = reported(result, release)
    assert "values: is not known during preview" in values_message


def _deployment(container: dict[str, Any], **pod: Any) -> ResourcePlan:
    spec = {"containers": [{"name": "app", "image": "ghcr.io/x/app:1.0.0", **container}], **pod}
    return resource(
        "kubernetes:apps/v1:Deployment", "app", {"spec": {"template": {"metadata": {}, "spec": spec}}}
    )


@pytest.mark.parametrize(
    "target",
    [
        _deployment({"env": [{"name": "PGPASSWORD", "value": TOKEN}]}),
        _deployment({"env": [{"name": "SLACK_WEBHOOK_URL", "value": f"https://hooks.slack.com/{TOKEN}"}]}),
        resource(
            "kubernetes:helm.sh/v3:Release",
            "bot",
            {"chart": "bot", "values": {"extraEnvVars": [{"name": "DB_PASS", "value": TOKEN}]}},
        ),
        _deployment({"args": ["--client-secret=" + TOKEN, "--port=8080"]}),
        _deployment({"command": ["sh", "-c", f"export LINEAR_API_TOKEN={TOKEN} && exec server"]}),
        _deployment({"env": [{"name": "DATABASE_URL", "value": f"postgres://app:{TOKEN}@db:5432/app"}]}),
        config_map({"application.properties": f"server.port=8080\nspring.datasource.password={TOKEN}\n"}),
    ],
    ids=[
        "libpq",
        "webhook-url",
        "env-like-list",
        "args-flag",
        "sh-c-export",
        "password-in-url",
        "properties",
    ],
)
def test_credentials_written_the_way_vendors_and_programs_write_them_are_refused(
    evaluate: Evaluate, target: ResourcePlan
) -> None:
    assert reported(evaluate(plan(target)), target)


@pytest.mark.parametrize(
    "target",
    [
        _deployment({"env": [{"name": "MAX_TOKENS", "value": "4096"}, {"name": "PWD", "value": "/srv"}]}),
        config_map({"model.yaml": yaml.safe_dump({"max_new_tokens": 512, "tokenizer": "cl100k_base"})}),
        _deployment({"args": ["--use-client-secret=true", "--require-password", "false"]}),
        _deployment({"env": [{"name": "REQUIRE_TOKEN", "value": "false"}]}),
    ],
    ids=["token-limits", "tokenizer", "boolean-flags", "boolean-env"],
)
def test_settings_that_only_mention_credentials_pass(evaluate: Evaluate, target: ResourcePlan) -> None:
    result = evaluate(plan(target))
    assert reported(result, target) == [], format_violations(result)
