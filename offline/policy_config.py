"""Policy configuration: the `--policy-pack-config` file and its reconciliation with the pack's schemas.

Configure carries every policy: schema defaults first, then the pack's initial config, then the
--policy-pack-config file, where "all" sets every policy's level (pulumi/pulumi
pkg/resource/analyzer/config.go: ReconcilePolicyPackConfig, applyConfig, parsePolicyPackConfig); the result is
validated against each policy's config schema. The SDK applies no defaults itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2

from offline.wire import LEVEL_BY_WIRE

__all__ = ["LEVELS", "PolicyConfigError", "PolicySetting", "load_policy_config", "reconcile_config"]

LEVELS = ("advisory", "mandatory", "remediate", "disabled")


class PolicyConfigError(ValueError):
    """The policy config file, or the config it yields for a policy, is not valid."""


@dataclass(frozen=True)
class PolicySetting:
    level: str | None
    properties: dict[str, Any]


def _parse_setting(name: str, value: Any) -> PolicySetting:
    if isinstance(value, str):
        if value not in LEVELS:
            raise PolicyConfigError(f"{name}: {value!r} is not an enforcement level ({', '.join(LEVELS)})")
        return PolicySetting(value, {})
    if not isinstance(value, Mapping):
        raise PolicyConfigError(f"{name}: {value!r} is not valid; give an enforcement level or an object")
    properties = {key: item for key, item in value.items() if key != "enforcementLevel"}
    level = value.get("enforcementLevel")
    if level is not None and level not in LEVELS:
        raise PolicyConfigError(f"{name}.enforcementLevel: {level!r} is not one of {', '.join(LEVELS)}")
    return PolicySetting(level, properties)


def _parse_config(config: Mapping[str, Any] | None) -> dict[str, PolicySetting]:
    if not config:
        return {}
    if not isinstance(config, Mapping):
        raise PolicyConfigError("policy config must be a JSON object keyed by policy name")
    return {name: _parse_setting(name, value) for name, value in config.items()}


def load_policy_config(path: Path) -> dict[str, Any]:
    """Read a `--policy-pack-config` file: a JSON object whose keys are policy names (or "all") and whose
    values are an enforcement level or an object of config properties with an optional `enforcementLevel`."""
    text = Path(path).read_text(encoding="utf-8")
    if not text.strip():
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyConfigError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise PolicyConfigError(f"{path}: must hold a JSON object keyed by policy name")
    _parse_config(config)
    return config


def _apply(result: dict[str, PolicySetting], to_apply: Mapping[str, PolicySetting]) -> None:
    everything = to_apply.get("all")
    if everything is not None and everything.level is not None:
        for name, setting in result.items():
            result[name] = PolicySetting(everything.level, setting.properties)
    for name, given in to_apply.items():
        current = result.get(name, PolicySetting(None, {}))
        result[name] = PolicySetting(given.level or current.level, {**current.properties, **given.properties})


def reconcile_config(
    info: analyzer_pb2.AnalyzerInfo, config: Mapping[str, Any] | None
) -> dict[str, PolicySetting]:
    """Each policy's enforcement level and properties as the engine computes them before Configure."""
    result: dict[str, PolicySetting] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema.properties)
        schemas[policy.name] = {
            "type": "object",
            "properties": {**schema, "enforcementLevel": {"type": "string", "enum": list(LEVELS)}},
            "required": list(policy.configSchema.required),
        }
        defaults = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
        result[policy.name] = PolicySetting(LEVEL_BY_WIRE[policy.enforcementLevel], defaults)
    initial = {
        name: PolicySetting(
            LEVEL_BY_WIRE[value.enforcementLevel], json_format.MessageToDict(value.properties)
        )
        for name, value in info.initialConfig.items()
    }
    _apply(result, initial)
    given = _parse_config(config)
    unknown = sorted(set(given) - set(schemas) - {"all"})
    if unknown:
        raise PolicyConfigError(
            f"policy config names {', '.join(unknown)}, which pack {info.name} does not have (its policies: "
            f"{', '.join(sorted(schemas))})"
        )
    _apply(result, given)
    errors = []
    for name, setting in result.items():
        if name in schemas:
            validator = jsonschema.Draft7Validator(schemas[name])
            errors += [f"{name}: {error.message}" for error in validator.iter_errors(setting.properties)]
    if errors:
        raise PolicyConfigError("policy config is invalid:\n  " + "\n  ".join(errors))
    return result
