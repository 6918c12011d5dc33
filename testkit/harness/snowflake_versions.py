"""Snowflake inputs the program sets, as the 2.22.0 SDK users run types them and as the v1.2.3 provider the
tests run declares them.

The program is written against pulumi_snowflake 2.22.0 (terraform-provider-snowflake v2.x); the engine tests
run terraform-provider-snowflake v1.2.3 bridged (testkit/toolchain/snowflake). `differences` lists every
input the program sets (production and staging, every property path of each Snowflake resource and provider)
whose type or requiredness is not the same in the two; docs/snowflake-provider-versions.md holds the table,
and a test regenerates it so it cannot go stale. `sdk_type_mismatches` checks the values the program sets
against the 2.22.0 SDK's own annotations.

`python -m harness.snowflake_versions` rewrites the table in the document from the built plugin's schema.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import re
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi_snowflake

from harness.paths import PROJECT_DIR
from offline.engine import preview
from offline.plan import Plan, Secret, Unknown
from offline.provider_check import ProviderPlugin

STACKS = ("production", "staging")
PROVIDER_TYPE = "pulumi:providers:snowflake"
DOCUMENT = PROJECT_DIR / "docs" / "snowflake-provider-versions.md"
BEGIN, END = "<!-- table: python -m harness.snowflake_versions -->", "<!-- end of table -->"


@dataclass(frozen=True, order=True)
class Shape:
    """A property's type as a short string (string, integer, array<string>, object GrantOwnershipOn, ...)."""

    type: str
    required: bool

    def __str__(self) -> str:
        return f"{self.type}, {'required' if self.required else 'optional'}"


@dataclass(frozen=True, order=True)
class Difference:
    resource: str
    property: str
    sdk: Shape | None
    schema: Shape | None


def _paths(inputs: dict[str, Any], prefix: str = "") -> typing.Iterator[tuple[str, Any]]:
    """Every property path the inputs set (`on.objectType`), objects descended into."""
    for name, value in inputs.items():
        if name.startswith("__"):
            continue
        path = f"{prefix}{name}"
        yield path, value
        if isinstance(value, dict):
            yield from _paths(value, f"{path}.")


def program_inputs(stacks: tuple[str, ...] = STACKS) -> dict[str, dict[str, list[Any]]]:
    """resource type -> property path -> the values the program sets, over the stacks' offline plans."""
    found: dict[str, dict[str, list[Any]]] = {}
    for stack in stacks:
        plan: Plan = preview(PROJECT_DIR, stack)
        for resource in plan.resources:
            if resource.type == PROVIDER_TYPE or resource.type.startswith("snowflake:"):
                for path, value in _paths(resource.inputs):
                    found.setdefault(resource.type, {}).setdefault(path, []).append(value)
    return found


def _snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", camel).lower()


def _args_class(resource_type: str) -> type:
    name = "Provider" if resource_type == PROVIDER_TYPE else resource_type.rsplit(":", 1)[-1]
    return getattr(pulumi_snowflake, f"{name}Args")


_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", typing.Any: "any"}


def _plain(annotation: Any) -> Any:
    """The value type of `pulumi.Input[X]` (Union[X, Awaitable[X], Output[T]]), without its Optional."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return members[0]
    return annotation


def _sdk_type(annotation: Any) -> str:
    value = _plain(annotation)
    if isinstance(value, typing.ForwardRef):
        referenced = value.__forward_arg__
        target = getattr(pulumi_snowflake, referenced, None)
        if isinstance(target, type) and issubclass(target, enum.Enum):
            return f"enum {referenced}"
        return f"object {referenced.removesuffix('Args')}"
    if isinstance(value, type) and issubclass(value, enum.Enum):
        return f"enum {value.__name__}"
    if value in _SCALARS:
        return _SCALARS[value]
    origin = typing.get_origin(value)
    if origin in (collections.abc.Sequence, list):
        return f"array<{_sdk_type(typing.get_args(value)[0])}>"
    if origin in (collections.abc.Mapping, dict):
        return f"map<{_sdk_type(typing.get_args(value)[1])}>"
    return repr(value)


def sdk_shape(resource_type: str, path: str) -> Shape | None:
    """The SDK's shape of a property path, following nested `...Args` classes."""
    owner: Any = _args_class(resource_type)
    shape = None
    for name in path.split("."):
        if owner is None:
            return None
        parameter = inspect.signature(owner.__init__).parameters.get(_snake(name))
        if parameter is None:
            return None
        shape = Shape(_sdk_type(parameter.annotation), parameter.default is inspect.Parameter.empty)
        nested = _plain(parameter.annotation)
        owner = (
            getattr(pulumi_snowflake, nested.__forward_arg__, None)
            if isinstance(nested, typing.ForwardRef)
            else None
        )
    return shape


def _schema_type(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    ref = spec.get("$ref")
    if ref:
        token = ref.removeprefix("#/types/")
        name = token.rsplit(":", 1)[-1]
        return f"enum {name}" if "enum" in schema.get("types", {}).get(token, {}) else f"object {name}"
    kind = spec.get("type", "any")
    if kind == "array":
        return f"array<{_schema_type(spec.get('items', {}), schema)}>"
    if kind == "object":
        return f"map<{_schema_type(spec.get('additionalProperties', {}), schema)}>"
    return str(kind)


def schema_shape(schema: dict[str, Any], resource_type: str, path: str) -> Shape | None:
    """The provider schema's shape of a property path, following `$ref`s to object types."""
    owner = schema["provider"] if resource_type == PROVIDER_TYPE else schema["resources"].get(resource_type)
    properties, required = ("inputProperties", "requiredInputs")
    shape = None
    for name in path.split("."):
        if owner is None or name not in owner.get(properties, {}):
            return None
        spec = owner[properties][name]
        shape = Shape(_schema_type(spec, schema), name in owner.get(required, []))
        ref = spec.get("$ref", "").removeprefix("#/types/")
        owner = schema.get("types", {}).get(ref) if ref else None
        properties, required = ("properties", "required")
    return shape


def differences(schema: dict[str, Any], inputs: dict[str, dict[str, list[Any]]]) -> list[Difference]:
    rows = []
    for resource_type, props in inputs.items():
        for prop in props:
            sdk, declared = sdk_shape(resource_type, prop), schema_shape(schema, resource_type, prop)
            if sdk != declared:
                rows.append(Difference(resource_type, prop, sdk, declared))
    return sorted(rows)


def markdown_table(rows: list[Difference]) -> str:
    lines = [
        "| resource | input | pulumi_snowflake 2.22.0 SDK | terraform-provider-snowflake v1.2.3 schema |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{row.resource}` | `{row.property}` | {row.sdk or 'absent'} | {row.schema or 'absent'} |"
        )
    return "\n".join(lines)


def _fits(value: Any, kind: str) -> bool:
    if isinstance(value, Secret):
        return _fits(value.value, kind)
    if isinstance(value, Unknown) or value is None or kind == "any":
        return True
    if kind == "string" or kind.startswith("enum "):
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind.startswith("array<"):
        return isinstance(value, list) and all(_fits(item, kind[6:-1]) for item in value)
    if kind.startswith(("map<", "object ")):
        return isinstance(value, dict)
    return False


def sdk_type_mismatches(inputs: dict[str, dict[str, list[Any]]]) -> list[str]:
    """Every value the program sets that the 2.22.0 SDK's annotation does not admit (or an unknown input)."""
    problems = []
    for resource_type, props in sorted(inputs.items()):
        for prop, values in sorted(props.items()):
            shape = sdk_shape(resource_type, prop)
            if shape is None:
                problems.append(f"{resource_type}.{prop}: not an input of the 2.22.0 SDK")
                continue
            problems.extend(
                f"{resource_type}.{prop}: {value!r} is not {shape.type}"
                for value in values
                if not _fits(value, shape.type)
            )
    return problems


def plugin_schema(plugin_dir: Path) -> dict[str, Any]:
    plugin = ProviderPlugin(plugin_dir / "pulumi-resource-snowflake")
    try:
        return plugin.schema()
    finally:
        plugin.close()


def document_table(text: str) -> str:
    """The table between the markers of the document."""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def main() -> int:
    from harness.real_engine import load_toolchain

    toolchain = load_toolchain()
    if toolchain is None or "snowflake" not in toolchain.project_plugins:
        print("the Snowflake plugin is not built: run `make toolchain`", file=sys.stderr)
        return 1
    table = markdown_table(
        differences(plugin_schema(toolchain.project_plugins["snowflake"]), program_inputs())
    )
    head, rest = DOCUMENT.read_text().split(BEGIN, 1)
    DOCUMENT.write_text(f"{head}{BEGIN}\n{table}\n{END}{rest.split(END, 1)[1]}")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
