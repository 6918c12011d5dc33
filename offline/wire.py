"""Pulumi's wire format for property values, both ways, and the Analyzer messages built from a plan.

`from_wire` reads what the program sends the resource monitor; `to_wire` writes what the engine sends a
policy pack. Where each detail comes from:

* Signatures: sdk/python/lib/pulumi/runtime/rpc.py (`_special_sig_key`, `_special_secret_sig`,
  `_special_resource_sig`, `_special_asset_sig`); the policy SDK reads the same ones
  (pulumi_policy/deserialize.py, SPECIAL_SIG_KEY / SPECIAL_SECRET_SIG).
* For analyzers the engine marshals properties keeping unknowns (as the unknown sentinel) and secrets (signed)
  and skipping internal `__` keys (pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go,
  Analyze/AnalyzeStack).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from offline.plan import UNKNOWN, UNKNOWN_SENTINEL, ResourcePlan, Secret, Unknown

__all__ = [
    "LEVEL_BY_WIRE",
    "WIRE_BY_LEVEL",
    "WireError",
    "analyzer_options",
    "analyzer_provider",
    "from_wire",
    "struct",
    "to_wire",
]

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - a protocol constant, not a credential
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"

LEVEL_BY_WIRE = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
WIRE_BY_LEVEL = {level: wire for wire, level in LEVEL_BY_WIRE.items()}


class WireError(ValueError):
    """A plan value has no form on the wire."""


def from_wire(value: Any) -> Any:
    """Turn a struct (as plain JSON) into plan values: Secret for secrets, UNKNOWN for unknowns."""
    if isinstance(value, dict):
        signature = value.get(SIG_KEY)
        if signature == SECRET_SIG:
            return Secret(from_wire(value.get("value")))
        if signature == RESOURCE_SIG:
            return value.get("urn")
        return {key: from_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_wire(item) for item in value]
    if value == UNKNOWN_SENTINEL:
        return UNKNOWN
    # Struct numbers are doubles on the wire; the SDK reads whole ones back as ints, and so does the plan.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def to_wire(value: Any, path: str = "") -> Any:
    """A plan value as the engine marshals it for analyzers: secrets signed, unknowns as the sentinel,
    internal `__` keys dropped."""
    if isinstance(value, Secret):
        return {SIG_KEY: SECRET_SIG, "value": to_wire(value.value, path)}
    if isinstance(value, Unknown):
        return UNKNOWN_SENTINEL
    if isinstance(value, Mapping):
        return {
            str(key): to_wire(item, f"{path}.{key}" if path else str(key))
            for key, item in value.items()
            if not str(key).startswith("__")
        }
    if isinstance(value, (list, tuple)):
        return [to_wire(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"{path}: a {type(value).__name__} cannot be sent to a policy pack")


def struct(properties: Mapping[str, Any], urn: str) -> struct_pb2.Struct:
    """A resource's properties as the Struct an Analyze request carries."""
    message = struct_pb2.Struct()
    try:
        message.update(to_wire(properties))
    except WireError as error:
        raise WireError(f"{urn}: {error}") from None
    return message


def analyzer_options(resource: ResourcePlan) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        parent=resource.parent or "",
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
    )


def analyzer_provider(
    resource: ResourcePlan, by_urn: Mapping[str, ResourcePlan]
) -> analyzer_pb2.AnalyzerProviderResource | None:
    if not resource.provider:
        return None
    # A provider reference is `<urn>::<id>`; the recorded plan may hold the reference or the bare URN.
    provider = by_urn.get(resource.provider) or by_urn.get(resource.provider.rsplit("::", 1)[0])
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type,
        urn=provider.urn,
        name=provider.name,
        properties=struct(provider.inputs, provider.urn),
    )
