"""mcp-servers-require-gpu: every MCP server runs on a GPU slice of the GPU pool.

The verdict on one pod spec is the plain function `pod_spec_gpu_problems`, so the same judgement applies to a
workload's pod template, to the pod a sophia-mcp Helm release will render (policies see a release's values,
never its pods), and, in the tests, to the pods `helm template` really renders from those values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from domain.gpu import GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE, InvalidQuantity, whole_gpu_count
from domain.gpu_pool import GPU_RESOURCES
from domain.scheduling import InvalidSelector, NodeSelection, UnknownSelector, node_selection, placement

from .known import UNKNOWN, Path, get_path, located, resolve_unknowns
from .pods import may_hold_pods, pods_in
from .resources import (
    GPU_POOL_LABEL,
    HELM_RELEASE,
    MCP_CHART,
    MCP_COMPONENT,
    MCP_COMPONENT_LABEL,
    containers,
    describe,
    is_mcp_chart,
    release_field,
    release_pod_spec,
)

NAME = "mcp-servers-require-gpu"
_TOLERATION_HINT = f"{{key: {GPU_TAINT_KEY}, operator: Exists, effect: {GPU_TAINT_EFFECT}}}"


@dataclass(frozen=True)
class Problem:
    """Why a pod would not run on a GPU slice of the pool; `path` is relative to the pod spec."""

    path: Path
    message: str
    # A problem even on a sidecar (a quantity Kubernetes refuses, an unknown), not only on the server.
    fatal: bool = False


def _unknown(path: Path, what: str) -> Problem:
    return Problem(
        path,
        f"{what} is not known during preview, so the GPU requirement cannot be verified; derive it from "
        "stack config (known at preview) rather than from another resource's output",
        fatal=True,
    )


def _container_problems(index: int, container: Any) -> list[Problem]:
    path: Path = ("containers", index)
    if container is UNKNOWN:
        return [_unknown(path, "the container")]
    limits = get_path(container, "resources", "limits")
    if limits is UNKNOWN:
        return [_unknown((*path, "resources", "limits"), "resources.limits")]
    gpu_key = next((key for key in GPU_RESOURCES if isinstance(limits, dict) and key in limits), None)
    if gpu_key is None or limits[gpu_key] is None:
        return [
            Problem(
                (*path, "resources", "limits", GPU_RESOURCES[0]),
                "has no nvidia.com/gpu limit; every MCP server needs at least 1 whole GPU unit (one "
                'time-slice on a time-sliced pool): set resources.limits["nvidia.com/gpu"] to 1',
            )
        ]
    quantity = limits[gpu_key]
    quantity_path: Path = (*path, "resources", "limits", gpu_key)
    if quantity is UNKNOWN:
        return [_unknown(quantity_path, f"the {gpu_key} limit")]
    try:
        count = whole_gpu_count(quantity)
    except InvalidQuantity as error:
        return [Problem(quantity_path, str(error), fatal=True)]
    if count < 1:
        return [Problem(quantity_path, f"is {quantity!r}; an MCP server needs at least 1 {gpu_key}")]
    return []


def _tolerates_gpu_taint(toleration: Any) -> bool:
    """Kubernetes' matching (core/v1 Toleration): an empty key with `Exists` matches every taint key, an
    empty effect every effect; `Equal` (the default) also needs the taint's value."""
    if not isinstance(toleration, dict):
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    effect = toleration.get("effect") or ""
    if effect not in ("", GPU_TAINT_EFFECT):
        return False
    if key == "":
        return operator == "Exists"
    if key != GPU_TAINT_KEY:
        return False
    return operator == "Exists" or (operator == "Equal" and toleration.get("value") == GPU_TAINT_VALUE)


def _toleration_problems(pod_spec: dict[str, Any]) -> list[Problem]:
    tolerations = pod_spec.get("tolerations")
    if tolerations is UNKNOWN:
        return [_unknown(("tolerations",), "tolerations")]
    listed = tolerations if isinstance(tolerations, list) else []
    if any(_tolerates_gpu_taint(item) for item in listed):
        return []
    if any(item is UNKNOWN or (isinstance(item, dict) and UNKNOWN in item.values()) for item in listed):
        return [_unknown(("tolerations",), "a toleration")]
    return [
        Problem(
            ("tolerations",),
            f"does not tolerate the GPU nodes' taint {GPU_TAINT_KEY}={GPU_TAINT_VALUE}:{GPU_TAINT_EFFECT}, "
            f"so the pod can never schedule there; add {_TOLERATION_HINT}",
        )
    ]


def _placement_problems(pod_spec: dict[str, Any]) -> list[Problem]:
    """The scheduler's view (domain/scheduling.py): some pool node must fit the pod, no other node may."""
    try:
        selection = node_selection(pod_spec)
    except UnknownSelector as error:
        return [_unknown(_selection_field(pod_spec), str(error))]
    except InvalidSelector as error:
        return [Problem(("affinity",), f"{error}; the API server refuses this node selection")]
    where = _selection_field(pod_spec)
    decided = placement(selection)
    if not decided.fits_pool:
        return [
            Problem(
                where,
                f"selects nodes no GPU pool node has ({_shown(selection)}), so the pod never schedules "
                f"on the pool; select the pool's label alone ({GPU_POOL_LABEL}: <pool>)",
            )
        ]
    if decided.escapes_pool:
        return [
            Problem(
                where,
                f"is not pinned to a GPU pool: a node outside the pools also fits {_shown(selection)}; set "
                f"nodeSelector {GPU_POOL_LABEL}: <pool> (or a required node affinity term on that label in "
                "every term)",
            )
        ]
    return []


def _selection_field(pod_spec: dict[str, Any]) -> Path:
    if get_path(pod_spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"):
        return ("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    return ("nodeSelector",)


def _shown(selection: NodeSelection) -> str:
    terms = [" AND ".join(str(item) for item in term) for term in selection.alternatives()]
    return " OR ".join(f"({term})" for term in terms if term) or "no node selection"


def pod_spec_gpu_problems(pod_spec: Any) -> list[Problem]:
    """Everything that keeps this pod from running on a GPU slice of the GPU pool; empty when nothing does.

    Every app container needs a whole `nvidia.com/gpu` limit of at least 1, the pod a toleration for the
    GPU taint (`nvidia.com/gpu` with Exists, or Equal `present`; effect NoSchedule or empty) and a
    nodeSelector or a required node affinity that places it on a pool.
    """
    if pod_spec is UNKNOWN:
        return [_unknown((), "the pod spec")]
    if not isinstance(pod_spec, dict):
        return [Problem((), "has no pod spec")]
    if pod_spec.get("containers") is UNKNOWN:
        return [_unknown(("containers",), "the container list")]
    problems: list[Problem] = []
    listed = list(containers(pod_spec))
    if not listed:
        problems.append(Problem(("containers",), "has no containers"))
    found = [_container_problems(index, container) for index, container in listed]
    if any(not container_problems for container_problems in found):
        # The server has its GPU; containers beside it without one are sidecars (a proxy, a log shipper).
        found = [[p for p in container_problems if p.fatal] for container_problems in found]
    for container_problems in found:
        problems.extend(container_problems)
    problems.extend(_toleration_problems(pod_spec))
    problems.extend(_placement_problems(pod_spec))
    return problems


def release_gpu_problems(values: Any, release_name: str) -> list[Problem]:
    """The verdict on the pod a sophia-mcp release renders, with paths into the release's inputs."""
    if values is UNKNOWN:
        return [_unknown(("values",), "values")]
    pod_spec = release_pod_spec(values if isinstance(values, dict) else {}, release_name)
    return [
        Problem(release_field(problem.path), problem.message) for problem in pod_spec_gpu_problems(pod_spec)
    ]


def _exemptions(config: Mapping[str, Any]) -> frozenset[str]:
    listed = config.get("exemptions") or []
    return frozenset(name for name in listed if isinstance(name, str))


@dataclass(frozen=True)
class Verdict:
    """The rule's decision on one resource: not an MCP server (None problems), or its problems."""

    problems: list[Problem] | None
    undecidable: str | None = None


def resource_gpu_problems(resource_type: str, name: str, props: dict[str, Any]) -> Verdict:
    """The verdict on one resource's plain inputs: every MCP pod it holds or renders (pods.py finds them
    wherever they are written), sophia-mcp releases by the pod their values render."""
    if resource_type == HELM_RELEASE and props.get("chart") is UNKNOWN:
        why = "chart is not known during preview, so the policy cannot tell whether this is a "
        why += f"{MCP_CHART} release"
        return Verdict(None, why)
    pods = pods_in(resource_type, name, props)
    if any(pod.labels is UNKNOWN for pod in pods):
        return Verdict(
            None,
            "the pod template labels are not known during preview, so the policy cannot tell whether "
            f"this is an MCP workload ({MCP_COMPONENT_LABEL}: {MCP_COMPONENT}); use literal labels",
        )
    servers = [pod for pod in pods if pod.is_mcp]
    if not servers:
        return Verdict(None)
    problems = [
        Problem(pod.field(problem.path), problem.message)
        for pod in servers
        for problem in pod_spec_gpu_problems(pod.spec)
    ]
    if resource_type == HELM_RELEASE and is_mcp_chart(props.get("chart")) and props.get("valueYamlFiles"):
        problems.append(
            Problem(
                ("valueYamlFiles",),
                "values read from files are invisible to policies; pass the server's values inline",
            )
        )
    return Verdict(problems)


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not may_hold_pods(args.resource_type):
        return
    resource = describe(args.resource_type, args.name)
    verdict = resource_gpu_problems(args.resource_type, args.name, resolve_unknowns(args.props))
    if verdict.undecidable:
        report_violation(f"{resource}: {verdict.undecidable}", None)
        return
    problems = verdict.problems or []
    if problems and args.name in _exemptions(args.get_config()):
        args.not_applicable(f"{resource} is exempted by this policy's `exemptions` config")
    for problem in problems:
        report_violation(located(resource, problem.path, problem.message), None)


mcp_servers_require_gpu = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Every MCP server runs on the GPU pool: each MCP workload (pod template labelled "
        f"{MCP_COMPONENT_LABEL}: {MCP_COMPONENT}) and each {MCP_CHART} Helm release gives every container a "
        f"whole nvidia.com/gpu limit of at least 1, tolerates the {GPU_TAINT_KEY} taint and is placed on a "
        "GPU pool by nodeSelector or required node affinity."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=(
        'Set resources.limits["nvidia.com/gpu"] to 1 (one time-slice on a time-sliced pool), add the '
        f"toleration {_TOLERATION_HINT}, and set nodeSelector to the pool's label ({GPU_POOL_LABEL}: "
        f"<pool>). For a {MCP_CHART} release these are the values resources, tolerations and nodeSelector; "
        "the GpuNodePool component exposes all three."
    ),
    config_schema=PolicyConfigSchema(
        properties={
            "exemptions": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Pulumi names of MCP workloads or releases allowed to run without a GPU.",
            }
        }
    ),
)
