"""The typed stack config: every invalid stack is refused before any resource, naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.paths import PROJECT_DIR
from offline.config_reference import STRUCTURED
from offline.engine import InvalidStack, run_program
from offline.stack_files import load_stack_settings


def _production_server(**changes: Any) -> list[dict[str, Any]]:
    servers = [
        {
            "name": "ai-memory",
            "image": "ghcr.io/pay-ready/mcp-ai-memory",
            "tag": "1.6.2",
            "port": 9000,
            "replicas": 2,
            "gpuShare": 0.25,
        },
        {
            "name": "linear",
            "image": "ghcr.io/pay-ready/mcp-linear",
            "tag": "1.1.4",
            "port": 3002,
            "replicas": 2,
            "gpuShare": 0.25,
        },
    ]
    servers[1] = {**servers[1], **changes}
    return [{k: v for k, v in server.items() if v is not None} for server in servers]


# (override, the key the error must name). Each is one mistake a person could make in a stack file.
MISTAKES: list[tuple[dict[str, Any], str]] = [
    ({"snowflakeOrganization": "scoobyjava-vw02766.snowflakecomputing.com"}, "snowflakeOrganization"),
    ({"snowflakeAccountLocator": "ZNB04675.us-east-1.us-east-1"}, "snowflakeAccountLocator"),
    ({"snowflakeAccountLocator": "ZNB04675.us-east-1"}, "snowflakeAccountLocator"),
    ({"snowflakeRegion": "us-east-1"}, "snowflakeRegion"),
    ({"snowflakeRegion": "aws_mars_1"}, "snowflakeRegion"),
    ({"snowflakeAccountName": "CVB64222.modern_stackcomputing.com"}, "snowflakeAccountName"),
    ({"snowflakeWarehouseSize": "GIGANTIC"}, "snowflakeWarehouseSize"),
    ({"snowflakeMonthlyCreditQuota": -1}, "snowflakeMonthlyCreditQuota"),
    ({"snowflakeWarehouseAutoSuspendSeconds": -60}, "snowflakeWarehouseAutoSuspendSeconds"),
    ({"snowflakeDataRetentionDays": 400}, "snowflakeDataRetentionDays"),
    ({"snowflakeProtectDatabase": "yes"}, "snowflakeProtectDatabase"),
    ({"snowflakeOrganization": None}, "snowflakeOrganization"),
    ({"lambdaRegion": None}, "lambdaRegion"),
    ({"gpuPoolInstanceType": "a10"}, "gpuPoolInstanceType"),
    ({"gpuPoolNodeCount": "many"}, "gpuPoolNodeCount"),
    ({"gpuPoolTimeSlicingReplicas": 0}, "gpuPoolTimeSlicingReplicas"),
    ({"gpuPoolHeadroomSlices": -2}, "gpuPoolHeadroomSlices"),
    ({"clusterK3sServerUrl": "http://plain-text:6443"}, "clusterK3sServerUrl"),
    ({"clusterK3sServerUrl": "https://k3s.sophia-ai.internal:6443"}, "clusterK3sServerUrl"),
    ({"clusterK3sServerPublicIp": "10.0.0.5"}, "clusterK3sServerPublicIp"),
    ({"clusterK3sServerPublicIp": None}, "clusterK3sServerPublicIp"),
    ({"mcpServers": None}, "mcpServers"),
    ({"mcpServers": []}, "mcpServers"),
    ({"mcpServers": _production_server(gpuShare=0.3)}, "mcpServers[1].gpuShare"),
    ({"mcpServers": _production_server(gpuShare=0.5)}, "mcpServers[1].gpuShare"),
    ({"mcpServers": _production_server(gpuShare=1)}, "mcpServers[1].gpuShare"),
    ({"mcpServers": _production_server(gpuShare=-0.25)}, "mcpServers[1].gpuShare"),
    ({"mcpServers": _production_server(gpuShare=None)}, "mcpServers[1].gpuShare"),
    ({"mcpServers": _production_server(tag="latest")}, "mcpServers[1].tag"),
    # Tags the sophia-mcp chart's schema refuses (image.tag is also a label value), which Helm would
    # refuse only at `pulumi up`.
    ({"mcpServers": _production_server(tag="1.0.8-")}, "mcpServers[1].tag"),
    ({"mcpServers": _production_server(tag="_1.0.8")}, "mcpServers[1].tag"),
    ({"mcpServers": _production_server(tag="1" * 64)}, "mcpServers[1].tag"),
    ({"mcpServers": _production_server(replicas=0)}, "mcpServers[1].replicas"),
    ({"mcpServers": _production_server(port=80)}, "mcpServers[1].port"),
    ({"mcpServers": _production_server(name="ai-memory")}, "mcpServers"),
    ({"mcpServers": _production_server(gpu=0.25)}, "mcpServers[1].gpu"),
    ({"estuaryTenant": "Pay_Ready"}, "estuaryTenant"),
    ({"estuaryMaterializeTag": "dev"}, "estuaryMaterializeTag"),
    (
        {
            "estuaryCaptures": [
                {"source": "salesforce", "connectorTag": "v1", "interval": "5m", "streams": ["a"]}
            ]
        },
        "estuaryCaptures[0].source",
    ),
]

STRING_KEYS = [
    "snowflakeOrganization",
    "snowflakeAccountName",
    "snowflakeAccountLocator",
    "snowflakeRegion",
    "snowflakeWarehouse",
    "snowflakeDatabase",
    "lambdaSshKeyName",
    "mcpIngressHost",
    "estuaryTenant",
]
INTEGER_KEYS = [
    "snowflakeMonthlyCreditQuota",
    "snowflakeDataRetentionDays",
    "gpuPoolTimeSlicingReplicas",
    "gpuPoolHeadroomSlices",
    "snowflakeWarehouseAutoSuspendSeconds",
]
REQUIRED_KEYS = [
    "snowflakeOrganization",
    "snowflakeAccountName",
    "snowflakeAccountLocator",
    "snowflakeRegion",
    "clusterK3sServerUrl",
    "clusterK3sServerPublicIp",
    "lambdaSshKeyName",
    "lambdaRegion",
    "gpuPoolInstanceType",
    "mcpIngressHost",
    "mcpIngressTlsSecret",
    "mcpServers",
    "estuaryTenant",
    "estuaryCaptures",
    "estuaryMaterializeTag",
]

# Text with no digit at all: any digit can make an integer key's value valid ("1", " 1", "+1").
not_integers = st.text(alphabet=st.characters(exclude_categories=["Nd"]), min_size=1, max_size=5)

wrong_types = st.one_of(
    st.tuples(
        st.sampled_from(STRING_KEYS), st.one_of(st.integers(), st.lists(st.text(max_size=3), max_size=2))
    ),
    st.tuples(st.sampled_from(INTEGER_KEYS), st.one_of(not_integers, st.booleans())),
    st.tuples(st.sampled_from(INTEGER_KEYS), st.integers(max_value=-1)),
)
unknown_keys = st.from_regex(r"\A[a-z][a-zA-Z]{2,20}\Z").filter(
    lambda key: not key.startswith(("snowflake", "cluster", "lambda", "gpuPool", "mcp", "estuary"))
)
bad_identifiers = st.sampled_from(
    [
        "scoobyjava-vw02766.snowflakecomputing.com",
        "ZNB04675.us-east-1.us-east-1",
        "UHDECNO-CVB64222.modern_stack",
        "https://uhdecno-cvb64222.snowflakecomputing.com",
        "not an account",
        "UHDECNO-CVB64222",
    ]
)
mistakes = st.one_of(
    st.sampled_from(MISTAKES),
    wrong_types.map(lambda pair: ({pair[0]: pair[1]}, pair[0])),
    st.tuples(unknown_keys, st.text(max_size=5)).map(lambda pair: ({pair[0]: pair[1]}, pair[0])),
    st.sampled_from(REQUIRED_KEYS).map(lambda key: ({key: None}, key)),
    bad_identifiers.map(lambda value: ({"snowflakeAccountLocator": value}, "snowflakeAccountLocator")),
    bad_identifiers.map(lambda value: ({"snowflakeAccountName": value}, "snowflakeAccountName")),
)


def _refusal(overrides: dict[str, Any]) -> InvalidStack:
    with pytest.raises(InvalidStack) as raised:
        run_program(load_stack_settings(PROJECT_DIR, "production", overrides))
    return raised.value


@pytest.mark.parametrize(("overrides", "key"), MISTAKES, ids=[key for _, key in MISTAKES])
def test_each_known_mistake_is_refused_naming_its_key(overrides: dict[str, Any], key: str) -> None:
    refusal = _refusal(overrides)
    assert f"sophia-ai:{key}" in str(refusal)
    assert refusal.registered == 0
    assert "Traceback" not in str(refusal)


@settings(max_examples=220, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mistakes)
def test_generated_invalid_stacks_are_refused_before_any_resource(
    mistake: tuple[dict[str, Any], str],
) -> None:
    overrides, key = mistake
    refusal = _refusal(overrides)
    assert f"sophia-ai:{key}" in str(refusal), str(refusal)
    assert refusal.registered == 0


def test_the_production_stack_is_valid() -> None:
    plan = run_program(load_stack_settings(PROJECT_DIR, "production"))
    assert plan.resources


def test_a_secret_in_plain_text_in_the_stack_file_is_refused() -> None:
    refusal = _refusal({"lambdaApiKey": "sk-live-plaintext"})
    assert "sophia-ai:lambdaApiKey is a secret" in str(refusal)


def test_every_key_declared_secret_in_pulumi_yaml_is_read_as_a_secret() -> None:
    import yaml

    from components.config import config_keys

    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    secret_in_project = {key for key, declaration in declared.items() if declaration.get("secret")}
    secret_in_models = {key for key, (_, _, _, is_secret) in config_keys().items() if is_secret}
    assert secret_in_project == secret_in_models
    assert set(config_keys()) == set(declared) | set(STRUCTURED)


IDENTITY_KEYS = {
    "snowflakeOrganization",
    "snowflakeAccountName",
    "snowflakeAccountLocator",
    "snowflakeRegion",
    "snowflakeDatabase",
    "snowflakeWarehouse",
}


def test_the_esc_environment_supplies_secrets_and_never_the_account_identity() -> None:
    import yaml

    from components.config import config_keys

    esc = yaml.safe_load((PROJECT_DIR / "esc" / "sophia-ai-production.yaml").read_text())
    supplied = {key.split(":", 1)[1] for key in esc["values"]["pulumiConfig"]}
    assert not supplied & IDENTITY_KEYS
    secrets = {key for key, (_, _, _, is_secret) in config_keys().items() if is_secret}
    assert secrets <= supplied


def test_a_key_set_both_in_the_stack_file_and_by_esc_is_refused(tmp_path: Path) -> None:
    import shutil

    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "esc").mkdir()
    esc_text = (PROJECT_DIR / "esc" / "sophia-ai-production.yaml").read_text()
    (tmp_path / "esc" / "sophia-ai-production.yaml").write_text(
        esc_text.replace(
            "  pulumiConfig:\n", "  pulumiConfig:\n    sophia-ai:snowflakeOrganization: SCOOBYJAVA\n"
        )
    )
    shutil.copy(PROJECT_DIR / "Pulumi.production.yaml", tmp_path / "Pulumi.production.yaml")
    with pytest.raises(InvalidStack, match="sophia-ai:snowflakeOrganization is set both"):
        load_stack_settings(tmp_path, "production")
