"""SnowflakePlatform under Pulumi's mocks: what it registers, with which provider, protection and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config import load_stack_config
from components.snowflake_platform import SnowflakePlatform
from offline.engine import record
from offline.plan import Plan, ResourcePlan, Secret
from offline.stack_files import load_stack_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _platform(protect: bool, **overrides: object) -> Plan:
    def program() -> None:
        SnowflakePlatform("snowflake", load_stack_config().snowflake, protect_data=protect)

    return record(program, load_stack_settings(PROJECT_DIR, "production", dict(overrides)))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return _platform(protect=True)


def _of_type(plan: Plan, suffix: str) -> list[ResourcePlan]:
    return [resource for resource in plan.resources if resource.type.endswith(suffix)]


def test_providers_name_the_account_by_organization_and_account_with_key_pair_auth(plan: Plan) -> None:
    providers = _of_type(plan, "providers:snowflake")
    assert {p.inputs["role"] for p in providers} == {"SYSADMIN", "SECURITYADMIN", "ACCOUNTADMIN"}
    for provider in providers:
        assert provider.inputs["organizationName"] == "UHDECNO"
        assert provider.inputs["accountName"] == "CVB64222"
        assert provider.inputs["authenticator"] == "SNOWFLAKE_JWT"
        assert isinstance(provider.inputs["privateKey"], Secret)
        assert "account" not in provider.inputs and "password" not in provider.inputs


def test_every_snowflake_resource_uses_an_explicit_provider(plan: Plan) -> None:
    provider_urns = {p.urn for p in _of_type(plan, "providers:snowflake")}
    resources = [r for r in plan.resources if r.type.startswith("snowflake:")]
    assert len(resources) > 20
    assert all(resource.provider in provider_urns for resource in resources)


def test_accountadmin_is_used_only_for_the_resource_monitor(plan: Plan) -> None:
    accountadmin = next(
        p.urn for p in _of_type(plan, "providers:snowflake") if p.inputs["role"] == "ACCOUNTADMIN"
    )
    users = {r.type.split(":")[-1] for r in plan.resources if r.provider == accountadmin}
    assert users == {"ResourceMonitor", "GrantPrivilegesToAccountRole"}
    monitor_grant = next(r for r in plan.resources if r.name == "snowflake-monitor-grant")
    assert monitor_grant.inputs["accountRoleName"] == "SYSADMIN"


def test_database_is_protected_and_keeps_time_travel(plan: Plan) -> None:
    (database,) = _of_type(plan, "database:Database")
    assert database.protect and database.retain_on_delete
    assert database.inputs["name"] == "SOPHIA_AI"
    assert database.inputs["dataRetentionTimeInDays"] == 1


def test_unprotected_outside_production_when_configured() -> None:
    (database,) = _of_type(_platform(protect=False), "database:Database")
    assert not database.protect


def test_warehouse_suspends_resumes_and_is_capped_by_the_monitor(plan: Plan) -> None:
    (warehouse,) = _of_type(plan, "warehouse:Warehouse")
    (monitor,) = _of_type(plan, "resourceMonitor:ResourceMonitor")
    assert warehouse.inputs["name"] == "SOPHIA_AI_WH"
    assert warehouse.inputs["autoSuspend"] == 60
    assert warehouse.inputs["autoResume"] == "true"
    assert warehouse.inputs["initiallySuspended"] is True
    assert warehouse.inputs["resourceMonitor"] == monitor.inputs["name"]
    assert monitor.inputs["creditQuota"] == 100
    assert monitor.inputs["suspendTrigger"] == 100
    assert monitor.inputs["notifyTriggers"] == [50, 75, 90]


def test_schemas_for_estuary_landing_and_the_application(plan: Plan) -> None:
    assert {s.inputs["name"] for s in _of_type(plan, "schema:Schema")} == {"ESTUARY_RAW", "APP"}


def test_each_consumer_has_its_own_role_and_key_pair_service_user(plan: Plan) -> None:
    users = {u.inputs["name"]: u for u in _of_type(plan, "serviceUser:ServiceUser")}
    assert set(users) == {"SOPHIA_ESTUARY_SVC", "SOPHIA_MCP_SVC"}
    assert users["SOPHIA_ESTUARY_SVC"].inputs["defaultRole"] == "SOPHIA_ESTUARY_LOADER"
    assert users["SOPHIA_MCP_SVC"].inputs["defaultRole"] == "SOPHIA_MCP_SERVER"
    for user in users.values():
        assert "password" not in user.inputs
        assert user.inputs["rsaPublicKey"].startswith("OFFLINEPLACEHOLDER")


def test_no_service_is_granted_a_system_role(plan: Plan) -> None:
    system_roles = {"ACCOUNTADMIN", "SECURITYADMIN", "SYSADMIN", "USERADMIN", "ORGADMIN"}
    for grant in _of_type(plan, "grantAccountRole:GrantAccountRole"):
        assert grant.inputs["roleName"] not in system_roles
    for grant in _of_type(plan, "grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole"):
        assert "allPrivileges" not in grant.inputs
        if grant.name != "snowflake-monitor-grant":
            assert grant.inputs["accountRoleName"].startswith("SOPHIA_")


def test_estuary_may_only_write_its_landing_schema(plan: Plan) -> None:
    grants = [
        g for g in _of_type(plan, "GrantPrivilegesToAccountRole") if g.name.startswith("snowflake-estuary")
    ]
    schema_grants = [g for g in grants if "onSchema" in g.inputs]
    assert len(schema_grants) == 1
    assert schema_grants[0].inputs["onSchema"]["schemaName"] == '"SOPHIA_AI"."ESTUARY_RAW"'
    assert "CREATE TABLE" in schema_grants[0].inputs["privileges"]
