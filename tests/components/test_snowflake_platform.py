"""SnowflakePlatform under Pulumi's mocks: what it registers, with which provider, protection and secrets,
where each service user may sign in from, and how its keys rotate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from components.config import load_stack_config
from components.snowflake_platform import SnowflakePlatform, SnowflakePlatformArgs
from offline.engine import InvalidStack, RecordingMonitor
from offline.plan import Plan, ResourcePlan, Secret
from tests.samples import record_on_production

GPU_NODES = ["104.171.203.17", "129.146.52.210"]
# The egress addresses Estuary publishes for production's data plane, ops/dp/public/gcp-us-central1-c1
# (docs.estuary.dev/reference/allow-ip-addresses, US), and for its Europe plane.
ESTUARY_EGRESS = ["34.121.207.128", "35.226.75.135", "34.68.62.148"]
ESTUARY_EU_EGRESS = ["18.200.127.124", "34.247.94.19"]
# Key bodies as Snowflake takes them: base64, no PEM armour (not real keys).
OLD_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAoldkeyA"
NEW_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnewkeyB"


def _platform(
    overrides: Mapping[str, object] | None = None,
    *,
    protect: bool = True,
    gpu_nodes: Sequence[str] = tuple(GPU_NODES),
) -> Plan:
    def program() -> None:
        config = load_stack_config()
        SnowflakePlatform(
            "snowflake",
            SnowflakePlatformArgs(
                config=config.snowflake,
                protect_data=protect,
                estuary_egress_addresses=config.estuary.egress_addresses(),
                mcp_egress_addresses=list(gpu_nodes),
            ),
        )

    return record_on_production(program, overrides)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return _platform(protect=True)


def _of_type(plan: Plan, suffix: str) -> list[ResourcePlan]:
    return [resource for resource in plan.resources if resource.type.endswith(suffix)]


def _named(plan: Plan, name: str) -> ResourcePlan:
    (resource,) = [r for r in plan.resources if r.name == name]
    return resource


def _provider_role(plan: Plan, resource: ResourcePlan) -> str:
    (provider,) = [p for p in _of_type(plan, "providers:snowflake") if p.urn == resource.provider]
    return str(provider.inputs["role"])


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


def test_accountadmin_only_creates_the_monitor_and_the_warehouse_it_caps(plan: Plan) -> None:
    accountadmin = {
        r.type.split(":")[-1]
        for r in plan.resources
        if r.provider and _provider_role(plan, r) == "ACCOUNTADMIN"
    }
    assert accountadmin == {"ResourceMonitor", "Warehouse", "GrantOwnership"}


def test_the_monitor_is_attached_by_accountadmin_and_sysadmin_ends_up_owning_the_warehouse(
    plan: Plan,
) -> None:
    warehouse = _named(plan, "snowflake-warehouse")
    monitor = _named(plan, "snowflake-monitor")
    assert warehouse.inputs["resourceMonitor"] == monitor.inputs["name"]
    assert _provider_role(plan, warehouse) == "ACCOUNTADMIN"
    ownership = _named(plan, "snowflake-warehouse-ownership")
    assert ownership.inputs == {
        "accountRoleName": "SYSADMIN",
        "on": {"objectType": "WAREHOUSE", "objectName": "SOPHIA_AI_WH"},
        "outboundPrivileges": "COPY",
    }
    assert warehouse.urn in ownership.dependencies
    # SYSADMIN needs nothing on the monitor any more: nobody but ACCOUNTADMIN touches it.
    on_monitor = [
        g
        for g in _of_type(plan, "GrantPrivilegesToAccountRole")
        if g.inputs.get("onAccountObject", {}).get("objectType") == "RESOURCE MONITOR"
    ]
    assert on_monitor == []


def test_service_warehouse_grants_wait_for_the_ownership_transfer(plan: Plan) -> None:
    ownership = _named(plan, "snowflake-warehouse-ownership")
    for consumer in ("estuary", "mcp"):
        grant = _named(plan, f"snowflake-{consumer}-warehouse-usage")
        assert ownership.urn in grant.dependencies


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


def test_schemas_for_estuary_landing_the_application_and_network_rules(plan: Plan) -> None:
    schemas = {s.inputs["name"]: s for s in _of_type(plan, "schema:Schema")}
    assert set(schemas) == {"ESTUARY_RAW", "APP", "NETWORK_RULES"}
    assert {_provider_role(plan, s) for s in schemas.values()} == {"SYSADMIN"}


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
        if not grant.name.startswith("snowflake-network-rule-"):
            assert grant.inputs["accountRoleName"].startswith("SOPHIA_")


def test_estuary_may_only_write_its_landing_schema(plan: Plan) -> None:
    grants = [
        g for g in _of_type(plan, "GrantPrivilegesToAccountRole") if g.name.startswith("snowflake-estuary")
    ]
    schema_grants = [g for g in grants if "onSchema" in g.inputs]
    assert len(schema_grants) == 1
    assert schema_grants[0].inputs["onSchema"]["schemaName"] == '"SOPHIA_AI"."ESTUARY_RAW"'
    assert "CREATE TABLE" in schema_grants[0].inputs["privileges"]


# --- Network policies: each service user only from the addresses its consumer connects from -------------


def _admitted_from(plan: Plan, user_name: str) -> list[str]:
    """The addresses the user's attached network policy admits, followed through policy and rule."""
    (user,) = [u for u in _of_type(plan, "serviceUser:ServiceUser") if u.inputs["name"] == user_name]
    (policy,) = [
        p
        for p in _of_type(plan, "networkPolicy:NetworkPolicy")
        if p.inputs["name"] == user.inputs["networkPolicy"]
    ]
    assert policy.urn in user.dependencies
    assert set(policy.inputs) == {"name", "allowedNetworkRuleLists", "comment"}
    (rule_name,) = policy.inputs["allowedNetworkRuleLists"]
    rules = {
        f'"{r.inputs["database"]}"."{r.inputs["schema"]}"."{r.inputs["name"]}"': r
        for r in _of_type(plan, "networkRule:NetworkRule")
    }
    rule = rules[rule_name]
    assert rule.urn in policy.dependencies
    assert (rule.inputs["type"], rule.inputs["mode"]) == ("IPV4", "INGRESS")
    return list(rule.inputs["valueLists"])


def test_the_estuary_loader_signs_in_only_from_the_estuary_data_plane(plan: Plan) -> None:
    assert _admitted_from(plan, "SOPHIA_ESTUARY_SVC") == ESTUARY_EGRESS


def test_another_data_plane_moves_the_estuary_loader_rule_to_that_planes_addresses() -> None:
    europe = _platform({"estuaryDataPlane": "ops/dp/public/aws-eu-west-1-c1"})
    assert _admitted_from(europe, "SOPHIA_ESTUARY_SVC") == ESTUARY_EU_EGRESS


def test_a_data_plane_without_known_egress_addresses_is_refused_naming_the_key() -> None:
    with pytest.raises(InvalidStack) as refusal:
        _platform({"estuaryDataPlane": "ops/dp/public/aws-us-east-1-c1"})
    assert "sophia-ai:estuaryDataPlane" in str(refusal.value)
    assert "ops/dp/public/gcp-us-central1-c1" in str(refusal.value)
    assert refusal.value.registered == 0


def test_the_mcp_user_signs_in_only_from_the_gpu_nodes_and_the_extra_addresses() -> None:
    assert _admitted_from(_platform(), "SOPHIA_MCP_SVC") == GPU_NODES
    extra = _platform({"snowflakeMcpExtraIngressCidrs": ["150.136.0.0/28", GPU_NODES[0]]})
    assert _admitted_from(extra, "SOPHIA_MCP_SVC") == [*GPU_NODES, "150.136.0.0/28"]


def test_security_admin_owns_the_network_rules_and_policies(plan: Plan) -> None:
    for kind in ("networkRule:NetworkRule", "networkPolicy:NetworkPolicy", "serviceUser:ServiceUser"):
        assert {_provider_role(plan, r) for r in _of_type(plan, kind)} == {"SECURITYADMIN"}
    grants = {g.name: g for g in _of_type(plan, "GrantPrivilegesToAccountRole")}
    database_usage = grants["snowflake-network-rule-database-usage"]
    schema_grant = grants["snowflake-network-rule-schema"]
    assert (
        database_usage.inputs["accountRoleName"] == schema_grant.inputs["accountRoleName"] == "SECURITYADMIN"
    )
    assert database_usage.inputs["onAccountObject"] == {"objectType": "DATABASE", "objectName": "SOPHIA_AI"}
    assert schema_grant.inputs["privileges"] == ["USAGE", "CREATE NETWORK RULE"]
    assert schema_grant.inputs["onSchema"]["schemaName"] == '"SOPHIA_AI"."NETWORK_RULES"'
    for rule in _of_type(plan, "networkRule:NetworkRule"):
        assert {database_usage.urn, schema_grant.urn} <= set(rule.dependencies)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("snowflakeMcpExtraIngressCidrs", ["0.0.0.0/0"], "admits every address"),
        ("snowflakeMcpExtraIngressCidrs", ["10.0.0.0/8"], "not a public address"),
        (
            "snowflakeMcpExtraIngressCidrs",
            ["34.121.207.0/16"],
            "host bits set; the range it falls in is 34.121.0.0/16",
        ),
        ("snowflakeMcpExtraIngressCidrs", ["estuary.dev"], "not an IPv4 address or CIDR range"),
        ("snowflakeMcpExtraIngressCidrs", ["2600:1900::/28"], "not an IPv4 address"),
    ],
    ids=["everywhere", "private", "host bits", "a name", "IPv6"],
)
def test_addresses_that_cannot_restrict_a_user_are_refused_naming_the_key(
    key: str, value: list[str], reason: str
) -> None:
    with pytest.raises(InvalidStack) as refusal:
        _platform({key: value})
    assert f"sophia-ai:{key}" in str(refusal.value)
    assert reason in str(refusal.value)
    assert refusal.value.registered == 0


# --- Key rotation: every step an in-place update of the same user ----------------------------------------


ROTATION = [
    ("before", {"snowflakeMcpPublicKey": OLD_KEY, "snowflakeMcpPublicKey2": ""}),
    ("1. new key in slot 2", {"snowflakeMcpPublicKey": OLD_KEY, "snowflakeMcpPublicKey2": NEW_KEY}),
    ("2. consumer's secret moved", {"snowflakeMcpPublicKey": OLD_KEY, "snowflakeMcpPublicKey2": NEW_KEY}),
    ("3. old key removed", {"snowflakeMcpPublicKey": NEW_KEY, "snowflakeMcpPublicKey2": ""}),
]


@pytest.fixture
def registrations(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The raw RegisterResource requests by resource name, for the options the plan does not keep."""
    seen: dict[str, Any] = {}
    original = RecordingMonitor.RegisterResource

    def spy(self: RecordingMonitor, request: Any) -> Any:
        seen[request.name] = request
        return original(self, request)

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", spy)
    return seen


def _mcp_user(plan: Plan) -> ResourcePlan:
    return _named(plan, "snowflake-mcp-user")


def test_the_second_key_slot_is_empty_outside_a_rotation() -> None:
    user = _mcp_user(_platform(ROTATION[0][1]))
    assert user.inputs["rsaPublicKey"] == OLD_KEY
    assert "rsaPublicKey2" not in user.inputs


def test_each_rotation_step_changes_only_the_key_slots_of_the_same_user(
    registrations: dict[str, Any],
) -> None:
    steps = [(label, _mcp_user(_platform(overrides))) for label, overrides in ROTATION]
    _, before = steps[0]
    for label, user in steps[1:]:
        assert user.urn == before.urn, label
        assert user.inputs["name"] == before.inputs["name"] == "SOPHIA_MCP_SVC", label
        changed = {
            key
            for key in set(user.inputs) | set(before.inputs)
            if user.inputs.get(key) != before.inputs.get(key)
        }
        assert changed <= {"rsaPublicKey", "rsaPublicKey2"}, label
    assert steps[1][1].inputs["rsaPublicKey2"] == NEW_KEY
    assert steps[3][1].inputs["rsaPublicKey"] == NEW_KEY and "rsaPublicKey2" not in steps[3][1].inputs
    # Nothing in the program asks the engine to replace the user on a key change, or to delete it first.
    # (Whether the provider itself would replace is its schema's call: neither rsa_public_key nor
    # rsa_public_key_2 is ForceNew in terraform-provider-snowflake pkg/resources/user.go, so it updates.)
    request = registrations["snowflake-mcp-user"]
    assert list(request.replaceOnChanges) == []
    assert not request.deleteBeforeReplace
    assert list(request.ignoreChanges) == []


def test_a_second_key_that_repeats_the_first_is_refused() -> None:
    with pytest.raises(InvalidStack, match="snowflakeEstuaryPublicKey2 repeats snowflakeEstuaryPublicKey"):
        _platform({"snowflakeEstuaryPublicKey": OLD_KEY, "snowflakeEstuaryPublicKey2": OLD_KEY})


def test_a_second_key_with_pem_armour_is_refused_naming_the_key() -> None:
    with pytest.raises(InvalidStack, match="sophia-ai:snowflakeMcpPublicKey2: give the RSA public key body"):
        _platform(
            {"snowflakeMcpPublicKey2": f"-----BEGIN PUBLIC KEY-----\n{NEW_KEY}\n-----END PUBLIC KEY-----"}
        )
