"""Everything the offline preview prints or writes: the resource tree, the stack's plans, the policy verdict
and the JSON plan."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import yaml

from offline.plan import Plan, ResourcePlan, redact
from offline.provider_check import ProviderCheckResult
from offline.verdicts import GateResult, Violation


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


def gpu_plan(outputs: dict[str, Any]) -> dict[str, Any] | None:
    """The stack's `gpuPlan` output (secrets redacted), if it has one."""
    exported = redact(outputs.get("gpuPlan"))
    return exported if isinstance(exported, dict) else None


def gpu_plan_summary(plan: Plan) -> str | None:
    pool = gpu_plan(plan.outputs)
    if pool is None:
        return None
    lines = [
        f"  pool {pool.get('pool')}: {pool.get('nodes')} x {pool.get('instanceType')} "
        f"({pool.get('gpusPerNode')} GPU each, {pool.get('replicasPerGpu')} slices per GPU)",
        f"  slices offered {pool.get('slicesOffered')}, used {pool.get('slicesUsed')}, "
        f"headroom {pool.get('headroomSlices')}",
        f"  cost ${pool.get('hourlyCostUsd')}/hour; one whole GPU per MCP replica instead would be "
        f"${pool.get('wholeGpuHourlyCostUsd')}/hour ({pool.get('savingPercent')}% saved)",
        f"  prices read {pool.get('pricesRead')}",
    ]
    for server in pool.get("servers", []):
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


def plan_json(
    plan: Plan, policy: dict[str, Any] | None = None, provider_checks: dict[str, Any] | None = None
) -> str:
    """The --json document; every secret is replaced by "[secret]".

    The SDK registers resources from several threads and gathers dependencies in sets, so neither order means
    anything; resources are written by URN and dependencies sorted, and the same plan gives the same bytes.
    """
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
                "dependencies": sorted(resource.dependencies),
                "inputs": redact(resource.inputs),
            }
            for resource in sorted(plan.resources, key=lambda item: item.urn)
        ],
        "outputs": redact(plan.outputs),
        "policy": policy if policy is not None else {"violations": []},
    }
    if provider_checks is not None:
        document["providerCheck"] = provider_checks
    return json.dumps(document, indent=2, sort_keys=False)


def _resource_of(urn: str) -> str:
    if not urn:
        return "the stack"
    parts = urn.split("::")
    return f"{parts[-1]} ({parts[-2].rsplit('$', 1)[-1]})" if len(parts) >= 4 else urn


def _grouped(violations: list[Violation]) -> Iterator[tuple[str, list[Violation]]]:
    order: dict[str, list[Violation]] = {}
    for violation in violations:
        order.setdefault(violation.policy, []).append(violation)
    yield from order.items()


def format_violations(result: GateResult) -> str:
    """The violations grouped by policy (resource, level, message each) and a one-line summary."""
    lines = [f"Policy pack {result.pack}@{result.version}:"]
    for policy, violations in _grouped(result.violations):
        lines.append(f"  {policy}: {result.descriptions.get(policy, '')}".rstrip())
        for violation in violations:
            lines.append(f"    [{violation.level}] {_resource_of(violation.urn)}")
            lines.extend(f"      {line}" for line in violation.message.splitlines())
    advisory = len(result.violations) - result.mandatory_count
    policies = len({violation.policy for violation in result.violations})
    if not result.violations:
        lines.append(f"  no violations ({len(result.descriptions)} policies, {result.resources} resources)")
    summary = (
        f"{result.mandatory_count} mandatory and {advisory} advisory violation(s) in {policies} "
        f"polic{'y' if policies == 1 else 'ies'}; "
        + ("the gate fails." if result.mandatory_count else "the gate passes.")
    )
    lines.append(summary)
    return "\n".join(lines)


def violations_document(result: GateResult) -> dict[str, Any]:
    """The `policy` section of the --json plan, in a stable order (by policy, then resource)."""
    ordered = sorted(result.violations, key=lambda v: (v.policy, v.urn, v.level, v.message))
    return {
        "violations": [
            {"policy": v.policy, "level": v.level, "urn": v.urn, "message": v.message} for v in ordered
        ]
    }


def format_provider_checks(checks: ProviderCheckResult) -> str:
    """Which providers' Check ran on how many resources, what they refused (as the CLI prints it), and which
    packages were not checked and why."""
    packages = ", ".join(sorted(checks.checked)) or "none"
    lines = [f"Provider Check ({packages}; {checks.resources_checked} resources):"]
    lines.extend(f"  error: {failure.message()}" for failure in checks.failures)
    if not checks.failures and checks.checked:
        lines.append("  no failures")
    lines.extend(f"  not checked: {package}: {why}" for package, why in sorted(checks.unchecked.items()))
    return "\n".join(lines)


def provider_check_document(checks: ProviderCheckResult | None) -> dict[str, Any] | None:
    """The `providerCheck` section of the --json plan (absent when the check was not asked for)."""
    if checks is None:
        return None
    return {
        "checked": sorted(checks.checked),
        "unchecked": dict(sorted(checks.unchecked.items())),
        "failures": [
            {"urn": f.urn, "property": f.property, "reason": f.reason, "message": f.message()}
            for f in sorted(checks.failures, key=lambda f: (f.urn, f.property, f.reason))
        ],
    }
