"""EstuaryFlow under Pulumi's mocks: the exported catalog, the publish Command and its secret inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.versions import FLOWCTL_LINUX_SHA256, FLOWCTL_VERSION
from harness.paths import PROJECT_DIR
from offline.engine import InvalidStack, run_program
from offline.plan import Plan, ResourcePlan, Secret
from offline.stack_files import load_stack_settings


def _plan(**overrides: Any) -> Plan:
    return run_program(load_stack_settings(PROJECT_DIR, "production", overrides))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return _plan()


def _command(plan: Plan) -> ResourcePlan:
    (command,) = [r for r in plan.resources if r.type == "command:local:Command"]
    return command


def test_the_catalog_is_exported_without_secrets_and_lands_in_the_production_account(plan: Plan) -> None:
    text = plan.outputs["estuaryCatalog"]
    catalog = yaml.safe_load(text)
    (materialization,) = catalog["materializations"].values()
    endpoint = materialization["endpoint"]["connector"]["config"]
    assert endpoint["host"] == "uhdecno-cvb64222.snowflakecomputing.com"
    assert endpoint["database"] == "SOPHIA_AI" and endpoint["schema"] == "ESTUARY_RAW"
    assert endpoint["role"] == "SOPHIA_ESTUARY_LOADER"
    assert endpoint["credentials"] == {"auth_type": "jwt", "user": "SOPHIA_ESTUARY_SVC"}
    assert "offline-placeholder-secret" not in text
    assert {name.split("/")[1] for name in catalog["captures"]} == {"hubspot", "gong", "asana"}


def test_the_publish_command_gets_secrets_only_as_secret_environment(plan: Plan) -> None:
    command = _command(plan)
    environment = command.inputs["environment"]
    assert isinstance(environment["FLOW_AUTH_TOKEN"], Secret)
    assert isinstance(environment["FLOW_SECRETS_JSON"], Secret)
    assert environment["FLOW_CATALOG"] == plan.outputs["estuaryCatalog"]
    assert "FLOW_AUTH_TOKEN" not in command.inputs["create"]
    assert command.inputs["create"].endswith("scripts/publish_flow.py publish")
    assert command.inputs["delete"].endswith("scripts/publish_flow.py delete")


def _estuary_rule_addresses(plan: Plan) -> list[str]:
    (rule,) = [r for r in plan.resources if r.name == "snowflake-estuary-ingress-rule"]
    return list(rule.inputs["valueLists"])


@pytest.mark.parametrize(
    ("data_plane", "addresses"),
    [
        (None, ["34.121.207.128", "35.226.75.135", "34.68.62.148"]),
        ("ops/dp/public/aws-eu-west-1-c1", ["18.200.127.124", "34.247.94.19"]),
    ],
    ids=["production's plane", "another plane"],
)
def test_tasks_are_published_to_the_data_plane_snowflake_admits(
    plan: Plan, data_plane: str | None, addresses: list[str]
) -> None:
    """One key places the tasks and opens Snowflake to them: the two cannot name different planes."""
    stack = plan if data_plane is None else _plan(estuaryDataPlane=data_plane)
    published_to = _command(stack).inputs["environment"]["FLOW_DATA_PLANE"]
    assert published_to == (data_plane or "ops/dp/public/gcp-us-central1-c1")
    assert _estuary_rule_addresses(stack) == addresses


def test_the_command_depends_on_the_snowflake_platform(plan: Plan) -> None:
    (estuary,) = [r for r in plan.resources if r.type == "sophia:index:EstuaryFlow"]
    assert any("SnowflakePlatform" in dependency for dependency in estuary.dependencies)


def test_republishing_follows_the_catalog_hash(plan: Plan) -> None:
    same = _command(_plan())
    changed = _command(
        _plan(
            estuaryCaptures=[
                {
                    "source": "hubspot",
                    "connectorTag": "v1",
                    "interval": "5m",
                    "streams": ["companies", "deals"],
                },
                {"source": "gong", "connectorTag": "v1", "interval": "15m", "streams": ["calls", "users"]},
                {
                    "source": "asana",
                    "connectorTag": "v1",
                    "interval": "15m",
                    "streams": ["projects", "tasks", "users"],
                },
            ]
        )
    )
    assert same.inputs["triggers"] == _command(plan).inputs["triggers"]
    assert changed.inputs["triggers"] != _command(plan).inputs["triggers"]


def test_a_catalog_mistake_stops_the_stack_naming_the_key() -> None:
    with pytest.raises(InvalidStack) as raised:
        _plan(
            estuaryCaptures=[
                {"source": "hubspot", "connectorTag": "1.2.3", "interval": "5m", "streams": ["deals"]}
            ]
        )
    assert "sophia-ai:estuaryCaptures[0].connectorTag" in str(raised.value)
    assert raised.value.registered == 0


def test_a_mistake_only_the_catalog_builder_sees_names_the_stack_key() -> None:
    hubspot = {"source": "hubspot", "connectorTag": "v1", "interval": "5m", "streams": ["deals"]}

    with pytest.raises(InvalidStack) as raised:
        _plan(estuaryCaptures=[hubspot, {**hubspot, "streams": ["contacts"]}])

    assert "sophia-ai:estuaryCaptures[1].source: hubspot is already captured by entry 0" in str(raised.value)
    assert raised.value.registered == 0


def test_a_real_update_without_flowctl_stops_before_any_resource(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: False)
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(InvalidStack) as raised:
        _plan()

    assert raised.value.registered == 0
    message = str(raised.value)
    assert "flowctl is not on PATH" in message and "nothing has been created" in message
    assert f"releases/download/{FLOWCTL_VERSION}/flowctl-x86_64-linux" in message


def test_a_real_update_with_flowctl_on_path_goes_ahead(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    flowctl = tmp_path / "flowctl"
    flowctl.write_text("#!/bin/sh\nexit 0\n")
    flowctl.chmod(0o755)
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: False)
    monkeypatch.setenv("PATH", str(tmp_path))

    assert any(r.type == "command:local:Command" for r in _plan().resources)


def test_a_preview_does_not_need_flowctl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    assert any(r.type == "command:local:Command" for r in _plan().resources)


def test_the_deploy_workflow_installs_the_pinned_flowctl_and_checks_its_digest() -> None:
    workflow = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "infrastructure.yml").read_text())
    steps = workflow["jobs"]["deploy"]["steps"]
    (install,) = [step for step in steps if step.get("name") == "Install flowctl"]
    up = next(index for index, step in enumerate(steps) if step.get("with", {}).get("command") == "up")

    assert steps.index(install) < up
    assert install["env"] == {"FLOWCTL_VERSION": FLOWCTL_VERSION, "FLOWCTL_SHA256": FLOWCTL_LINUX_SHA256}
    assert "releases/download/${FLOWCTL_VERSION}/flowctl-x86_64-linux" in install["run"]
    assert "sha256sum --check" in install["run"]
    assert "latest" not in install["run"]


def test_the_readme_installs_the_same_flowctl() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()

    assert f"releases/download/{FLOWCTL_VERSION}/flowctl-x86_64-linux" in readme
    assert FLOWCTL_LINUX_SHA256 in readme
