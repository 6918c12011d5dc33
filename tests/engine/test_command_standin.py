"""The command:local:Command stand-in (testkit/toolchain/command) against the pinned pulumi_command SDK and
pulumi-command's documented behaviour, over the provider protocol the engine speaks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pulumi_command
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi import _types
from pulumi.runtime.proto import provider_pb2

from harness.real_engine import project_plugin_or_skip, toolchain_or_skip
from offline.provider_check import ProviderPlugin
from offline.wire import SECRET_SIG, SIG_KEY

TOKEN = "command:local:Command"
URN = f"urn:pulumi:production::sophia-ai::{TOKEN}::publish"


@pytest.fixture(scope="module")
def plugin() -> Iterator[ProviderPlugin]:
    toolchain = toolchain_or_skip()
    started = ProviderPlugin(project_plugin_or_skip(toolchain, "command") / "pulumi-resource-command")
    started.stub.Configure(
        provider_pb2.ConfigureRequest(acceptSecrets=True, acceptResources=True), timeout=60
    )
    yield started
    started.close()


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def _create(plugin: ProviderPlugin, inputs: dict[str, Any], preview: bool = False) -> dict[str, Any]:
    response = plugin.stub.Create(
        provider_pb2.CreateRequest(
            urn=URN, name="publish", type=TOKEN, properties=_struct(inputs), preview=preview
        ),
        timeout=60,
    )
    return dict(json_format.MessageToDict(response.properties))


def test_the_schema_has_the_sdks_token_inputs_and_outputs(plugin: ProviderPlugin) -> None:
    resource = plugin.schema()["resources"][TOKEN]
    sdk_inputs = set(_types.input_type_py_to_pulumi_names(pulumi_command.local.CommandArgs).values())
    sdk_properties = set(_types.resource_py_to_pulumi_names(pulumi_command.local.Command).values())
    assert set(resource["inputProperties"]) == sdk_inputs
    assert set(resource["properties"]) == sdk_properties
    assert resource["inputProperties"]["triggers"].get("replaceOnChanges") is True
    assert "command:local:Logging" in plugin.schema()["types"]


def test_create_runs_in_dir_with_environment_stdin_and_interpreter(
    plugin: ProviderPlugin, tmp_path: Path
) -> None:
    state = _create(
        plugin,
        {
            "create": "import os, sys; print(os.getcwd(), os.environ['FLOW_TENANT'], sys.stdin.read())",
            "interpreter": ["python3", "-c"],
            "dir": str(tmp_path),
            "environment": {"FLOW_TENANT": "Pay_Ready/"},
            "stdin": "catalog",
        },
    )
    assert state["stdout"] == f"{tmp_path} Pay_Ready/ catalog"
    assert state["stderr"] == ""


def test_a_preview_runs_nothing(plugin: ProviderPlugin, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    _create(plugin, {"create": f"touch {marker}"}, preview=True)
    assert not marker.exists()


def test_update_gets_the_previous_stdout_and_delete_runs_its_command(
    plugin: ProviderPlugin, tmp_path: Path
) -> None:
    created = _create(
        plugin, {"create": "echo flow/a flow/b", "update": 'echo "was: $PULUMI_COMMAND_STDOUT"'}
    )
    assert created["stdout"] == "flow/a flow/b"
    news = {"create": "echo flow/a", "update": 'echo "was: $PULUMI_COMMAND_STDOUT"'}
    updated = plugin.stub.Update(
        provider_pb2.UpdateRequest(id="publish-1", urn=URN, olds=_struct(created), news=_struct(news)),
        timeout=60,
    )
    assert json_format.MessageToDict(updated.properties)["stdout"] == "was: flow/a flow/b"
    deleted = tmp_path / "deleted"
    plugin.stub.Delete(
        provider_pb2.DeleteRequest(
            id="publish-1", urn=URN, properties=_struct({**created, "delete": f"echo gone > {deleted}"})
        ),
        timeout=60,
    )
    assert deleted.read_text() == "gone\n"


def test_without_previous_output_in_env_the_update_sees_none(plugin: ProviderPlugin) -> None:
    created = _create(plugin, {"create": "echo first", "addPreviousOutputInEnv": False})
    news = {"create": 'echo "[${PULUMI_COMMAND_STDOUT:-}]"', "addPreviousOutputInEnv": False}
    updated = plugin.stub.Update(
        provider_pb2.UpdateRequest(id="publish-2", urn=URN, olds=_struct(created), news=_struct(news)),
        timeout=60,
    )
    assert json_format.MessageToDict(updated.properties)["stdout"] == "[]"


def test_a_changed_trigger_replaces_and_a_changed_command_updates(plugin: ProviderPlugin) -> None:
    olds = _create(plugin, {"create": "echo one", "triggers": ["hash-1"]})

    def diff(news: dict[str, Any]) -> provider_pb2.DiffResponse:
        return plugin.stub.Diff(
            provider_pb2.DiffRequest(id="publish-3", urn=URN, olds=_struct(olds), news=_struct(news)),
            timeout=60,
        )

    # The provider reports the change; the replacement is the engine's, from the SDK's replace_on_changes on
    # "triggers[*]" (pulumi_command/local/command.py) and the schema's replaceOnChanges.
    retriggered = diff({"create": "echo one", "triggers": ["hash-2"]})
    assert retriggered.changes == provider_pb2.DiffResponse.DIFF_SOME and "triggers" in retriggered.diffs
    changed = diff({"create": "echo two", "triggers": ["hash-1"]})
    assert list(changed.diffs) == ["create"] and not changed.replaces


def test_outputs_of_a_secret_input_stay_secret(plugin: ProviderPlugin) -> None:
    secret_token = {SIG_KEY: SECRET_SIG, "value": "flow-token-3f9c0d2e"}
    state = _create(
        plugin, {"create": 'echo "$FLOW_AUTH_TOKEN"', "environment": {"FLOW_AUTH_TOKEN": secret_token}}
    )
    assert state["stdout"] == {SIG_KEY: SECRET_SIG, "value": "flow-token-3f9c0d2e"}
    assert state["environment"]["FLOW_AUTH_TOKEN"] == secret_token


def test_a_failing_command_fails_the_create_with_its_output(plugin: ProviderPlugin) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        _create(plugin, {"create": "echo no flowctl >&2; exit 3"})
    assert "exit status 3" in str(raised.value.details()) and "no flowctl" in str(raised.value.details())
