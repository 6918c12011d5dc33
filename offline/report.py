"""What the offline preview prints: the resource tree, the stack's plans, the policy verdict."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import yaml

from offline.plan import Plan, ResourcePlan, redact


def _short_type(resource_type: str) -> str:
    return resource_type.split(":")[-1] if resource_type.count(":") >= 2 else resource_type


def resource_tree(plan: Plan) -> str:
    """An indented tree of components and resources, as `pulumi preview` shows it."""
    children: dict[str | None, list[ResourcePlan]] = {}
    known = {resource.urn for resource in plan.resources}
    for resource in plan.resources:
        parent = resource.parent if resource.parent in known else None
        children.setdefault(parent, []).append(resource)
    lines = [f"{plan.project}-{plan.stack} (pulumi:pulumi:Stack)"]

    def walk(parent: str | None, depth: int) -> None:
        for resource in sorted(children.get(parent, []), key=lambda item: (item.type, item.name)):
            flags = " [protected]" if resource.protect else ""
            lines.append(f"{'    ' * depth}+ {resource.name} ({_short_type(resource.type)}){flags}")
            walk(resource.urn, depth + 1)

    walk(None, 1)
    return "\n".join(lines)


def resource_counts(plan: Plan) -> str:
    counts = Counter(resource.type for resource in plan.resources)
    return "\n".join(f"  {count:>4}  {kind}" for kind, count in sorted(counts.items()))


def gpu_plan_summary(plan: Plan) -> str | None:
    gpu_plan = redact(plan.outputs.get("gpuPlan"))
    if not isinstance(gpu_plan, dict):
        return None
    lines = [
        f"  pool {gpu_plan.get('pool')}: {gpu_plan.get('nodes')} x {gpu_plan.get('instanceType')} "
        f"({gpu_plan.get('gpusPerNode')} GPU each, {gpu_plan.get('replicasPerGpu')} slices per GPU)",
        f"  slices offered {gpu_plan.get('slicesOffered')}, used {gpu_plan.get('slicesUsed')}, "
        f"headroom {gpu_plan.get('headroomSlices')}",
        f"  cost ${gpu_plan.get('hourlyCostUsd')}/hour; one whole GPU per MCP replica instead would be "
        f"${gpu_plan.get('wholeGpuHourlyCostUsd')}/hour ({gpu_plan.get('savingPercent')}% saved)",
        f"  prices read {gpu_plan.get('pricesRead')}",
    ]
    for server in gpu_plan.get("servers", []):
        lines.append(
            f"    {server.get('name')}: {server.get('replicas')} x {server.get('gpuShare')} GPU "
            f"-> nvidia.com/gpu {server.get('slicesPerReplica')} per replica"
        )
    return "\n".join(lines)


def estuary_summary(plan: Plan) -> str | None:
    catalog_text = redact(plan.outputs.get("estuaryCatalog"))
    if not isinstance(catalog_text, str) or catalog_text == "[secret]":
        return None
    catalog = yaml.safe_load(catalog_text) or {}
    lines = []
    for name, capture in sorted((catalog.get("captures") or {}).items()):
        targets = [binding.get("target") for binding in capture.get("bindings", [])]
        image = capture.get("endpoint", {}).get("connector", {}).get("image")
        lines.append(f"  capture {name} ({image}) -> {', '.join(str(t) for t in targets)}")
    lines.append(f"  collections: {len(catalog.get('collections') or {})}")
    for name, materialization in sorted((catalog.get("materializations") or {}).items()):
        image = materialization.get("endpoint", {}).get("connector", {}).get("image")
        lines.append(f"  materialization {name} ({image})")
        for binding in materialization.get("bindings", []):
            lines.append(f"    {binding.get('source')} -> {binding.get('resource', {}).get('table')}")
    return "\n".join(lines)


def objectives_summary(plan: Plan) -> str | None:
    """The objectives the monitoring rules watch, one short row each."""
    rows = redact(plan.outputs.get("objectives"))
    if not isinstance(rows, list) or not rows:
        return None
    header = ("objective", "SLI", "alerts")
    widths = [max(len(str(row[column])) for row in [header, *rows]) for column in range(2)]
    return "\n".join(
        f"  {row[0]!s:<{widths[0]}}  {row[1]!s:<{widths[1]}}  {row[2]}" for row in [header, *rows]
    )


def plan_json(plan: Plan, policy: dict[str, Any] | None = None) -> str:
    """The --json document; every secret is replaced by "[secret]"."""
    document: dict[str, Any] = {
        "project": plan.project,
        "stack": plan.stack,
        "resources": [
            {
                "urn": resource.urn,
                "type": resource.type,
                "name": resource.name,
                "parent": resource.parent,
                "custom": resource.custom,
                "protect": resource.protect,
                "provider": resource.provider,
                "dependencies": resource.dependencies,
                "inputs": redact(resource.inputs),
            }
            for resource in plan.resources
        ],
        "outputs": redact(plan.outputs),
        "policy": policy if policy is not None else {"violations": []},
    }
    return json.dumps(document, indent=2, sort_keys=False)
