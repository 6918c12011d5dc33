"""The plan as a Markdown summary for a pull request: what each component adds or changes, the GPU plan and
its cost, and the policy verdicts (`python -m offline preview --markdown FILE [--compare BASE.json]`).

Offline there is no prior state, so without a base every resource is "to create". Given the `--json` plan of
the base (the same command run on the base branch), resources are compared by URN on what the JSON plan
holds: type, parent, provider, protect, dependencies and inputs, secrets redacted (so a changed secret value
is not seen).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from offline.plan import Plan
from offline.report import gpu_plan, plan_json
from offline.verdicts import GateResult

__all__ = ["Comparison", "compare", "markdown_summary"]

_COMPARED = ("type", "parent", "custom", "protect", "provider", "dependencies", "inputs")
_STACK_LEVEL = "(stack)"


def _cell(text: object) -> str:
    """Text that stays inside one table cell."""
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def _short_type(resource_type: str) -> str:
    package, _, name = resource_type.rpartition(":")
    return f"{name} provider" if package == "pulumi:providers" else name


def _components(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Each resource's URN -> the label of the top-level component it belongs to."""
    by_urn = {resource["urn"]: resource for resource in resources}

    def top(resource: dict[str, Any]) -> dict[str, Any] | None:
        seen = set()
        while resource.get("parent") in by_urn and resource["urn"] not in seen:
            seen.add(resource["urn"])
            resource = by_urn[resource["parent"]]
        return None if resource.get("custom") else resource

    labels = {}
    for resource in resources:
        component = top(resource)
        labels[resource["urn"]] = (
            f"{_short_type(component['type'])} `{component['name']}`" if component else _STACK_LEVEL
        )
    return labels


def _field(resource: Mapping[str, Any], name: str) -> Any:
    # Dependencies are a set: plans written before they were sorted list them in any order.
    value = resource.get(name)
    return sorted(value) if name == "dependencies" and isinstance(value, list) else value


class Comparison:
    """The resources of a plan against a base plan's, by URN."""

    def __init__(self, current: list[dict[str, Any]], base: list[dict[str, Any]]) -> None:
        now = {resource["urn"]: resource for resource in current}
        before = {resource["urn"]: resource for resource in base}
        self.added = [now[urn] for urn in now if urn not in before]
        self.removed = [before[urn] for urn in before if urn not in now]
        self.changed: list[tuple[dict[str, Any], list[str]]] = []
        for urn in now.keys() & before.keys():
            fields = [name for name in _COMPARED if _field(now[urn], name) != _field(before[urn], name)]
            if fields:
                self.changed.append((now[urn], fields))
        self.changed.sort(key=lambda item: item[0]["urn"])
        self.unchanged = len(now.keys() & before.keys()) - len(self.changed)
        self.labels = _components(base) | _components(current)


def compare(plan_document: Mapping[str, Any], base_document: Mapping[str, Any]) -> Comparison:
    return Comparison(list(plan_document["resources"]), list(base_document.get("resources") or []))


def _resources_to_create(resources: list[dict[str, Any]]) -> list[str]:
    labels = _components(resources)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for resource in resources:
        if resource.get("custom"):
            counts[labels[resource["urn"]]][_short_type(resource["type"])] += 1
    lines = ["| component | resources to create |", "|---|---|"]
    for component in sorted(counts, key=lambda label: (label == _STACK_LEVEL, label)):
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(counts[component].items()))
        lines.append(f"| {_cell(component)} | {_cell(kinds)} |")
    total = sum(sum(counter.values()) for counter in counts.values())
    lines.append(
        f"\n{total} resources to create (offline there is no prior state; give `--compare` a base plan)."
    )
    return lines


def _resources_against(comparison: Comparison) -> list[str]:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for resource in comparison.added:
        per[comparison.labels[resource["urn"]]]["added"] += 1
    for resource, _ in comparison.changed:
        per[comparison.labels[resource["urn"]]]["changed"] += 1
    for resource in comparison.removed:
        per[comparison.labels[resource["urn"]]]["removed"] += 1
    if not per:
        return [f"No resource is added, changed or removed ({comparison.unchanged} unchanged)."]
    lines = ["| component | added | changed | removed |", "|---|---:|---:|---:|"]
    for component in sorted(per, key=lambda label: (label == _STACK_LEVEL, label)):
        counts = per[component]
        lines.append(
            f"| {_cell(component)} | {counts['added']} | {counts['changed']} | {counts['removed']} |"
        )
    lines += [
        "",
        f"{comparison.unchanged} resources unchanged.",
        "",
        "<details><summary>Resources</summary>",
        "",
    ]
    for resource in comparison.added:
        lines.append(f"- added `{resource['name']}` ({_short_type(resource['type'])})")
    for resource, fields in comparison.changed:
        lines.append(f"- changed `{resource['name']}` ({_short_type(resource['type'])}): {', '.join(fields)}")
    for resource in comparison.removed:
        lines.append(f"- removed `{resource['name']}` ({_short_type(resource['type'])})")
    lines += ["", "</details>"]
    return lines


def _gpu_section(plan: Plan, base_document: Mapping[str, Any] | None) -> list[str]:
    pool = gpu_plan(plan.outputs)
    if pool is None:
        return ["No GPU pool in this plan."]
    lines = [
        f"Pool `{pool.get('pool')}`: {pool.get('nodes')} x `{pool.get('instanceType')}` "
        f"({pool.get('gpusPerNode')} GPU each, {pool.get('replicasPerGpu')} slices per GPU); "
        f"slices offered {pool.get('slicesOffered')}, used {pool.get('slicesUsed')}, "
        f"headroom {pool.get('headroomSlices')}.",
        "",
        f"**Cost: ${pool.get('hourlyCostUsd')}/hour**; one whole GPU per MCP replica would be "
        f"${pool.get('wholeGpuHourlyCostUsd')}/hour ({pool.get('savingPercent')}% saved; prices read "
        f"{pool.get('pricesRead')}).",
    ]
    before = gpu_plan((base_document or {}).get("outputs") or {})
    if before is not None and before.get("hourlyCostUsd") != pool.get("hourlyCostUsd"):
        lines.append(f"The base plan costs ${before.get('hourlyCostUsd')}/hour.")
    lines += [
        "",
        "| MCP server | replicas | GPU share | nvidia.com/gpu per replica |",
        "|---|---:|---:|---:|",
    ]
    for server in pool.get("servers", []):
        lines.append(
            f"| {_cell(server.get('name'))} | {server.get('replicas')} | {server.get('gpuShare')} | "
            f"{server.get('slicesPerReplica')} |"
        )
    return lines


def _policy_section(plan: Plan, result: GateResult | None) -> list[str]:
    if result is None:
        lines = ["The policy pack was not run (no `--policy-pack`)."]
        # The gate would refuse these whatever the pack says; say so even without it.
        lines += [
            f"- not rendered offline: `{item.type}` `{item.name}`: {item.reason}" for item in plan.unrendered
        ]
        return lines
    verdict = "fails" if result.mandatory_count else "passes"
    advisory = len(result.violations) - result.mandatory_count
    lines = [
        f"**The gate {verdict}**: {result.mandatory_count} mandatory and {advisory} advisory violation(s); "
        f"pack `{result.pack}@{result.version}`, {len(result.descriptions)} policies, "
        f"{result.resources} resources."
    ]
    if result.violations:
        lines += ["", "| policy | level | resource | message |", "|---|---|---|---|"]
        ordered = sorted(result.violations, key=lambda v: (v.level != "mandatory", v.policy, v.urn))
        for violation in ordered:
            resource = violation.urn.rsplit("::", 1)[-1] if violation.urn else "the stack"
            row = [f"`{violation.policy}`", violation.level, f"`{_cell(resource)}`", _cell(violation.message)]
            lines.append(f"| {' | '.join(row)} |")
    return lines


def markdown_summary(
    plan: Plan, result: GateResult | None, base_document: Mapping[str, Any] | None = None
) -> str:
    """The pull-request summary of one stack's plan."""
    document = json.loads(plan_json(plan))
    if result is not None and result.mandatory_count:
        status = "policy gate fails"
    elif result is not None:
        status = "policy gate passes"
    else:
        status = "policy gate not run"
    lines = [f"### Stack `{plan.stack}` ({plan.project}): {status}", "", "#### Resources", ""]
    if base_document is None:
        lines += _resources_to_create(document["resources"])
    else:
        lines += _resources_against(compare(document, base_document))
    lines += ["", "#### GPU plan", "", *_gpu_section(plan, base_document)]
    lines += ["", "#### Policy verdicts", "", *_policy_section(plan, result)]
    return "\n".join(lines) + "\n"
