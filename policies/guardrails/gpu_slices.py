"""gpu-slices-admitted (stack policy): no container asks a strict time-sliced pool for more than one slice.

With `sharing.timeSlicing.failRequestsGreaterThanOne: true` in its config, the NVIDIA device plugin refuses
any container that asks for more than one shared `nvidia.com/gpu` when the kubelet admits the pod (the pod
fails with UnexpectedAdmissionError; NVIDIA k8s-device-plugin README, "With CUDA Time-Slicing"; GPU Operator
docs, "Time-Slicing GPUs in Kubernetes"). A pool is time-sliced when its config advertises each GPU more than
once (`replicas` > 1). The pool's config is read from the time-slicing ConfigMap it registers (labelled
`sophia.ai/gpu-pool: <pool>`), under the data key the GPU Operator's `devicePlugin.config.default` selects
(pools.py), as gpu-capacity reads it. Every pod of the stack is judged wherever it is written (pods.py: any
workload, any chart's values, manifests in strings), on the pools the scheduler may put it on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from domain.gpu import InvalidQuantity, whole_gpu_count
from domain.gpu_pool import (
    GPU_RESOURCES,
    InvalidTimeSlicingConfig,
    fails_requests_greater_than_one,
    time_slicing_replicas,
)
from domain.scheduling import InvalidSelector, UnknownSelector, node_selection

from .known import UNKNOWN, Path, field_path, get_path, resolve_unknowns
from .pods import may_hold_pods, pods_in
from .pools import operator_default_keys, pool_config
from .resources import GPU_POOL_LABEL, containers, describe

NAME = "gpu-slices-admitted"


@dataclass(frozen=True)
class StrictPool:
    name: str
    replicas: int


@dataclass(frozen=True)
class Registered:
    """What the rule reads of one registered resource."""

    resource_type: str
    name: str
    props: Any


def strict_pools(resources: Sequence[Registered]) -> dict[str, StrictPool]:
    """Pools whose device plugin is time-sliced and refuses requests above one slice, reading the data key
    the GPU Operator selects (pools.py)."""
    default_keys = operator_default_keys((item.resource_type, item.props) for item in resources)
    pools: dict[str, StrictPool] = {}
    for resource in resources:
        config = pool_config(resource.resource_type, resource.props, default_keys)
        if config is None or not isinstance(config.pool, str):
            continue
        if not fails_requests_greater_than_one(config.text):
            continue
        try:
            replicas = time_slicing_replicas(config.text)
        except InvalidTimeSlicingConfig:
            continue  # gpu-capacity reports an unreadable config
        if replicas > 1:
            pools[config.pool] = StrictPool(config.pool, replicas)
    return pools


def _landing(pod_spec: dict[str, Any], pools: dict[str, StrictPool]) -> tuple[list[StrictPool], str]:
    """The strict pools the scheduler may put the pod on (domain/scheduling.py), and how to say so."""
    try:
        selection = node_selection(pod_spec)
    except (UnknownSelector, InvalidSelector):
        # mcp-servers-require-gpu names the selection; until it is known, the pod may land anywhere.
        return list(pools.values()), "may land on"
    names = selection.pools_it_may_land_on(list(pools))
    pinned = selection.pool_values() and len(names) == 1
    return [pools[name] for name in names], "is pinned to" if pinned else "may land on"


def oversized_requests(pod_spec: Any, pools: dict[str, StrictPool]) -> Iterator[tuple[Path, str]]:
    """Containers of a pod that a strict pool would refuse: (path in the pod spec, why)."""
    if not pools or not isinstance(pod_spec, dict):
        return
    targets, landing = _landing(pod_spec, pools)
    if not targets:
        return
    names = ", ".join(f"{pool.name!r} ({pool.replicas} slices per GPU)" for pool in targets)
    for index, container in containers(pod_spec):
        limits = get_path(container, "resources", "limits")
        for resource_name in GPU_RESOURCES:
            quantity = limits.get(resource_name) if isinstance(limits, dict) else None
            if quantity is None or quantity is UNKNOWN:
                continue
            try:
                count = whole_gpu_count(quantity)
            except InvalidQuantity:
                continue  # gpu-quantities-valid reports it
            if count > 1:
                yield (
                    ("containers", index, "resources", "limits", resource_name),
                    f"asks for {count} {resource_name} and {landing} time-sliced pool {names}, whose device "
                    "plugin has failRequestsGreaterThanOne: true and refuses a container asking for more "
                    "than one slice at admission (UnexpectedAdmissionError); ask for 1 (one time slice; "
                    "more slices give no more GPU time) or schedule onto an unshared pool",
                )


def stack_problems(
    resources: Sequence[Registered], pools: dict[str, StrictPool] | None = None
) -> Iterator[tuple[int, str]]:
    """(index of the resource, message) for every container a strict pool would refuse."""
    pools = strict_pools(resources) if pools is None else pools
    if not pools:
        return
    for index, resource in enumerate(resources):
        for pod in pods_in(resource.resource_type, resource.name, resource.props):
            for path, message in oversized_requests(pod.spec, pools):
                label = describe(resource.resource_type, resource.name)
                yield index, f"{label}: {field_path(pod.field(path))}: {message}"


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    # Pools, their operator and pods are all Kubernetes objects; reading the others costs time.
    relevant = [item for item in args.resources if may_hold_pods(item.resource_type)]
    registered = [
        Registered(item.resource_type, item.name, resolve_unknowns(item.props)) for item in relevant
    ]
    pools = strict_pools(registered)
    if not pools:
        return
    for index, message in stack_problems(registered, pools):
        report_violation(message, relevant[index].urn)


gpu_slices_admitted = StackValidationPolicy(
    name=NAME,
    description=(
        "No container asks for more than one nvidia.com/gpu on a time-sliced GPU pool whose device plugin "
        "sets failRequestsGreaterThanOne: true (read from the pool's time-slicing ConfigMap, labelled "
        f"{GPU_POOL_LABEL}): the device plugin would refuse the pod at admission."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=(
        'Set resources.limits["nvidia.com/gpu"] to 1 for containers on a time-sliced pool: one slice is '
        "all the GPU time a container gets there."
    ),
)
