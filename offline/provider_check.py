"""The providers' own Check on every registered resource, when their plugins are on this machine.

A real preview sends each resource's inputs to its provider's Check before anything else looks at them, and
stops on the provider's refusals (a warehouse size Snowflake does not have, a network rule mode that does not
exist). The offline gate does the same over the same gRPC call, with the plugins the CLI itself would load:

* a plugin the project names in Pulumi.yaml (`plugins: providers: - name, path`, the documented form for
  local plugins), else
* the one `pulumi plugin install` put in $PULUMI_HOME (default ~/.pulumi) at the version the installed SDK
  asks for (its pulumi-plugin.json), as plugins/resource-NAME-vVERSION/pulumi-resource-NAME.

Each plugin is started without an engine address (the form pulumi's pkg/resource/provider/main.go serves
when given no arguments: it listens and prints its port; the CLI would pass its own engine's address), and
gets CheckConfig for each explicit provider's inputs, then Check for each resource. Nothing is configured:
Configure is where a provider signs in (the Snowflake provider opens a session), and the gate contacts
nothing. A package without a plugin here is listed as not checked and the gate goes on; the plugins are
optional. Failures are reported as the CLI reports them (pkg/resource/deploy/step_generator.go
issueCheckFailures, sdk/go/common/diag/errors.go codes 2002 and 2003).
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from offline.plan import Plan, ResourcePlan, Secret, Unknown
from offline.processes import stop_process
from offline.wire import to_wire

__all__ = [
    "CheckFailure",
    "ProviderCheckResult",
    "ProviderPlugin",
    "ProviderPluginError",
    "check_plan",
    "find_plugin",
]

PROVIDER_PREFIX = "pulumi:providers:"
_START_TIMEOUT_S = 60.0
_CALL_TIMEOUT_S = 60.0

# Packages whose Check the gate does not run, and why.
NOT_CHECKED = {
    # Its Check of a helm.sh Release downloads the chart from the release's repository (a real preview
    # offline fails on the GPU Operator's), and the gate contacts nothing.
    "kubernetes": "its Check of a Helm release fetches the chart from the release's repository",
    # Dynamic providers run inside the program; the offline engine has no such host.
    "pulumi-python": "dynamic providers are checked by the program's own process, not a plugin",
}


class ProviderPluginError(RuntimeError):
    """A provider plugin that is there but does not start or answer."""


@dataclass(frozen=True)
class CheckFailure:
    """One refusal by a provider's Check (or CheckConfig, for a provider resource)."""

    urn: str
    type: str
    name: str
    property: str
    value: Any
    reason: str

    def message(self) -> str:
        """As the CLI prints it: diag codes 2003 (a property named) and 2002 (none)."""
        if self.property:
            return (
                f"{self.type} resource '{self.name}': property {self.property} value {_shown(self.value)} "
                f"has a problem: {self.reason}"
            )
        return f"{self.type} resource '{self.name}' has a problem: {self.reason}"


@dataclass
class ProviderCheckResult:
    failures: list[CheckFailure] = field(default_factory=list)
    # package -> plugin binary whose Check ran
    checked: dict[str, Path] = field(default_factory=dict)
    # package -> why its resources were not checked
    unchecked: dict[str, str] = field(default_factory=dict)
    resources_checked: int = 0


def _shown(value: Any) -> str:
    """A value the way the CLI prints it in a check failure, secrets redacted."""
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, Unknown):
        return "output<string>"
    if isinstance(value, str):
        return "{" + value + "}"
    return "{" + json.dumps(value, default=str) + "}"


def package_of(resource_type: str) -> str:
    if resource_type.startswith(PROVIDER_PREFIX):
        return resource_type[len(PROVIDER_PREFIX) :]
    return resource_type.split(":", 1)[0]


def sdk_plugin_version(package: str) -> str | None:
    """The plugin version the installed Python SDK of `package` asks for, from its pulumi-plugin.json."""
    spec = importlib.util.find_spec(f"pulumi_{package.replace('-', '_')}")
    if spec is None or not spec.submodule_search_locations:
        return None
    declared = Path(next(iter(spec.submodule_search_locations))) / "pulumi-plugin.json"
    if not declared.is_file():
        return None
    return str(json.loads(declared.read_text()).get("version") or "") or None


def find_plugin(package: str, project_dir: Path) -> Path | str:
    """The plugin binary for `package` as the CLI would pick it, or why there is none."""
    binary = f"pulumi-resource-{package}"
    project_file = project_dir / "Pulumi.yaml"
    project = yaml.safe_load(project_file.read_text()) if project_file.is_file() else {}
    for entry in ((project or {}).get("plugins") or {}).get("providers") or []:
        if entry.get("name") == package and entry.get("path"):
            candidate = (project_dir / str(entry["path"])) / binary
            if candidate.is_file():
                return candidate
            return f"Pulumi.yaml names {entry['path']} for it, which holds no {binary}"
    version = sdk_plugin_version(package)
    if version is None:
        return f"no pulumi_{package} SDK is installed to say which version"
    home = Path(os.environ.get("PULUMI_HOME") or Path.home() / ".pulumi")
    candidate = home / "plugins" / f"resource-{package}-v{version}" / binary
    if candidate.is_file():
        return candidate
    return f"{package} {version} is not installed (`pulumi plugin install resource {package} {version}`)"


def _struct(properties: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(to_wire(properties))
    return message


class ProviderPlugin:
    """One provider plugin process, started as the CLI starts it, talked to over gRPC."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self._process = subprocess.Popen(
            [str(binary)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stderr: list[str] = []
        self._stdout: list[str] = []
        self._first_line = threading.Event()
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self._first_line.wait(_START_TIMEOUT_S)
        if not self._stdout or not self._stdout[0].strip().isdigit():
            first = self._stdout[0].strip() if self._stdout else ""
            self.close()
            raise ProviderPluginError(
                f"{binary} printed no port within {_START_TIMEOUT_S:.0f}s (first output {first!r}); "
                f"stderr: {''.join(self._stderr)[-2000:]}"
            )
        # Loopback only: an HTTP(S)_PROXY in the environment must not carry the call elsewhere.
        self._channel = grpc.insecure_channel(
            f"127.0.0.1:{self._stdout[0].strip()}", options=[("grpc.enable_http_proxy", 0)]
        )
        try:
            grpc.channel_ready_future(self._channel).result(timeout=_START_TIMEOUT_S)
        except grpc.FutureTimeoutError:
            self.close()
            raise ProviderPluginError(
                f"{binary} printed port {self._stdout[0].strip()} but does not answer on it"
            ) from None
        self.stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def _drain_stdout(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._stdout.append(line)
            self._first_line.set()
        self._first_line.set()

    def _drain_stderr(self) -> None:
        assert self._process.stderr is not None
        self._stderr.extend(self._process.stderr)

    def check(self, request: provider_pb2.CheckRequest, config: bool) -> provider_pb2.CheckResponse:
        call = self.stub.CheckConfig if config else self.stub.Check
        return call(request, timeout=_CALL_TIMEOUT_S)

    def schema(self) -> dict[str, Any]:
        """The package schema the plugin serves (GetSchema), as the CLI reads it."""
        response = self.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=_CALL_TIMEOUT_S)
        return dict(json.loads(response.schema))

    def close(self) -> None:
        stop_process(self._process)
        if hasattr(self, "_channel"):
            self._channel.close()


def _request(resource: ResourcePlan) -> provider_pb2.CheckRequest:
    return provider_pb2.CheckRequest(
        urn=resource.urn,
        name=resource.name,
        type=resource.type,
        olds=struct_pb2.Struct(),
        news=_struct(resource.inputs),
        # As the engine seeds a new resource's auto-naming: 32 random bytes.
        randomSeed=secrets.token_bytes(32),
    )


def check_plan(plan: Plan, project_dir: Path) -> ProviderCheckResult:
    """Send every custom resource of the plan (and every explicit provider) to its provider's Check."""
    result = ProviderCheckResult()
    by_package: dict[str, list[ResourcePlan]] = {}
    for resource in plan.resources:
        if resource.custom:
            by_package.setdefault(package_of(resource.type), []).append(resource)
    for package, resources in sorted(by_package.items()):
        if package in NOT_CHECKED:
            result.unchecked[package] = NOT_CHECKED[package]
            continue
        found = find_plugin(package, project_dir)
        if isinstance(found, str):
            result.unchecked[package] = found
            continue
        plugin = ProviderPlugin(found)
        try:
            for resource in resources:
                is_provider = resource.type.startswith(PROVIDER_PREFIX)
                try:
                    response = plugin.check(_request(resource), config=is_provider)
                except grpc.RpcError as error:
                    details = error.details() if hasattr(error, "details") else str(error)
                    response = provider_pb2.CheckResponse(
                        failures=[provider_pb2.CheckFailure(property="", reason=str(details))]
                    )
                result.resources_checked += 1
                result.failures.extend(
                    CheckFailure(
                        urn=resource.urn,
                        type=resource.type,
                        name=resource.name,
                        property=failure.property,
                        value=resource.inputs.get(failure.property),
                        reason=failure.reason,
                    )
                    for failure in response.failures
                )
        finally:
            plugin.close()
        result.checked[package] = found
    return result
