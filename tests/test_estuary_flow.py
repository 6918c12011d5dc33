"""EstuaryFlow under Pulumi's mocks: the exported catalog, the publish Command and its secret inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.engine import InvalidStack, run_program
from offline.plan import Plan, ResourcePlan, Secret
from offline.stack_files import load_stack_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent


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
