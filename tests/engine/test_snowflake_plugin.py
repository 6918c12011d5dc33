"""The Snowflake plugin the toolchain builds (terraform-provider-snowflake v1.2.3 bridged), over the
provider protocol: the SDK's names, secrets from the Terraform schema, its own validators, and the test-only
switch that keeps it from signing in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import provider_pb2

from harness.real_engine import (
    CLOSED_LOOPBACK,
    SNOWFLAKE_OFFLINE_CONFIGURE,
    project_plugin_or_skip,
    rsa_key_pair,
    toolchain_or_skip,
)
from offline.provider_check import ProviderPlugin

SWITCH = next(iter(SNOWFLAKE_OFFLINE_CONFIGURE))
WAREHOUSE = "snowflake:index/warehouse:Warehouse"
NETWORK_RULE = "snowflake:index/networkRule:NetworkRule"


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def _provider_config() -> dict[str, Any]:
    return {
        "organizationName": "UHDECNO",
        "accountName": "CVB64222",
        "user": "SOPHIA_AI_DEPLOYER",
        "authenticator": "SNOWFLAKE_JWT",
        "privateKey": rsa_key_pair()[0],
        "role": "SYSADMIN",
    }


def _start(monkeypatch: pytest.MonkeyPatch, offline: bool) -> ProviderPlugin:
    toolchain = toolchain_or_skip()
    # Whatever the driver tries goes to a closed loopback port, never off the machine.
    for proxy in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(proxy, f"http://{CLOSED_LOOPBACK}")
    if offline:
        monkeypatch.setenv(SWITCH, "1")
    else:
        monkeypatch.delenv(SWITCH, raising=False)
    return ProviderPlugin(project_plugin_or_skip(toolchain, "snowflake") / "pulumi-resource-snowflake")


@pytest.fixture
def offline_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderPlugin]:
    plugin = _start(monkeypatch, offline=True)
    yield plugin
    plugin.close()


def _check(plugin: ProviderPlugin, resource_type: str, inputs: dict[str, Any]) -> list[str]:
    response = plugin.stub.Check(
        provider_pb2.CheckRequest(
            urn=f"urn:pulumi:production::sophia-ai::{resource_type}::x",
            name="x",
            type=resource_type,
            olds=struct_pb2.Struct(),
            news=_struct(inputs),
            randomSeed=b"\0" * 32,
        ),
        timeout=60,
    )
    return [failure.reason for failure in response.failures]


def test_the_schema_names_what_the_sdk_sends_and_keeps_the_terraform_secrets_secret(
    offline_plugin: ProviderPlugin,
) -> None:
    schema = offline_plugin.schema()
    assert schema["name"] == "snowflake"
    assert offline_plugin.stub.GetPluginInfo(empty_pb2.Empty(), timeout=60).version == "1.2.3"
    config = schema["config"]["variables"]
    assert {"organizationName", "accountName", "privateKey", "previewFeaturesEnabled"} <= set(config)
    assert config["privateKey"]["secret"] is True and config["password"]["secret"] is True
    for token in (WAREHOUSE, NETWORK_RULE, "snowflake:index/serviceUser:ServiceUser"):
        assert token in schema["resources"]


def test_check_refuses_a_warehouse_size_and_a_network_rule_mode_snowflake_lacks(
    offline_plugin: ProviderPlugin,
) -> None:
    assert _check(offline_plugin, WAREHOUSE, {"name": "SOPHIA_AI_WH", "warehouseSize": "XSMALL"}) == []
    (size,) = _check(offline_plugin, WAREHOUSE, {"name": "SOPHIA_AI_WH", "warehouseSize": "HUGE"})
    assert "invalid warehouse size: HUGE" in size
    rule = {
        "name": "R",
        "database": "SOPHIA_AI",
        "schema": "NETWORK",
        "type": "IPV4",
        "valueLists": ["34.1.2.3"],
    }
    (mode,) = _check(offline_plugin, NETWORK_RULE, {**rule, "mode": "SIDEWAYS"})
    assert 'expected mode to be one of ["INGRESS" "INTERNAL_STAGE" "EGRESS"], got SIDEWAYS' in mode


def test_with_the_switch_it_signs_in_nowhere_and_refuses_to_create(offline_plugin: ProviderPlugin) -> None:
    checked = offline_plugin.stub.CheckConfig(
        provider_pb2.CheckRequest(
            urn="urn:pulumi:production::sophia-ai::pulumi:providers:snowflake::p",
            news=_struct(_provider_config()),
        ),
        timeout=60,
    )
    offline_plugin.stub.Configure(
        provider_pb2.ConfigureRequest(args=checked.inputs, acceptSecrets=True, acceptResources=True),
        timeout=60,
    )
    with pytest.raises(grpc.RpcError) as refused:
        offline_plugin.stub.Create(
            provider_pb2.CreateRequest(
                urn=f"urn:pulumi:production::sophia-ai::{WAREHOUSE}::wh",
                properties=_struct({"name": "SOPHIA_AI_WH", "warehouseSize": "XSMALL"}),
            ),
            timeout=60,
        )
    assert f"resource snowflake_warehouse: create refused because {SWITCH}=1" in str(refused.value.details())


def test_without_the_switch_configure_signs_in_and_fails_here(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = _start(monkeypatch, offline=False)
    try:
        with pytest.raises(grpc.RpcError) as failed:
            plugin.stub.Configure(
                # The driver retries a refused login until its login timeout; 10 s proves it tried.
                provider_pb2.ConfigureRequest(
                    args=_struct({**_provider_config(), "loginTimeout": 10}),
                    acceptSecrets=True,
                    acceptResources=True,
                ),
                timeout=120,
            )
    finally:
        plugin.close()
    details = str(failed.value.details())
    assert (
        "open snowflake connection" in details
        and "uhdecno-cvb64222.snowflakecomputing.com" in details.lower()
    )
