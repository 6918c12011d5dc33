"""The floor: replay a recorded plan through the bare Pulumi SDK, with none of the project's code.

Every resource is re-registered with the same type, name, parent, provider and inputs, in the order the
program registered them, as generic `CustomResource` / `ComponentResource` / `ProviderResource` objects under
the same mock runtime. What is left is the SDK's own cost of registering that plan.
"""

from __future__ import annotations

from typing import Any

import pulumi

from offline.engine import record
from offline.plan import Plan, Secret, Unknown
from offline.stack_files import StackSettings


def _inputs(value: Any) -> Any:
    if isinstance(value, Secret):
        return pulumi.Output.secret(_inputs(value.value))
    if isinstance(value, Unknown):
        return "unknown"
    if isinstance(value, dict):
        return {key: _inputs(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_inputs(item) for item in value]
    return value


def replay(plan: Plan, stack_settings: StackSettings) -> Plan:
    """Register exactly the plan's resources through the bare SDK and return what was recorded."""

    def program() -> None:
        created: dict[str, pulumi.Resource] = {}
        for resource in plan.resources:
            parent = created.get(resource.parent or "")
            provider = created.get(resource.provider or "")
            opts = pulumi.ResourceOptions(
                parent=parent,
                provider=provider if isinstance(provider, pulumi.ProviderResource) else None,
                protect=resource.protect,
            )
            props = _inputs(resource.inputs)
            if resource.type.startswith("pulumi:providers:"):
                package = resource.type.split(":")[-1]
                created[resource.urn] = pulumi.ProviderResource(package, resource.name, props, opts)
            elif resource.custom:
                created[resource.urn] = pulumi.CustomResource(resource.type, resource.name, props, opts)
            else:
                component = pulumi.ComponentResource(resource.type, resource.name, None, opts)
                component.register_outputs({})
                created[resource.urn] = component
        for key, value in plan.outputs.items():
            pulumi.export(key, _inputs(value))

    return record(program, stack_settings)
