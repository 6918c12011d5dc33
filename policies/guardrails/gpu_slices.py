"""gpu-slices-admitted (stack policy): no container asks a strict time-sliced pool for more than one slice.

With `sharing.timeSlicing.failRequestsGreaterThanOne: true` in its config, the NVIDIA device plugin refuses
any container that asks for more than one shared `nvidia.com/gpu` when the kubelet admits the pod (the pod
fails with UnexpectedAdmissionError; NVIDIA k8s-device-plugin README, "With CUDA Time-Slicing"; GPU Operator
docs, "Time-Slicing GPUs in Kubernetes"). A pool is time-sliced when its config advertises each GPU more than
once (`replicas` > 1). The pool's config is read from the time-slicing ConfigMap it registers (labelled
`sophia.ai/gpu-pool: <pool>`, key `config.yaml`), as gpu-capacity reads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from domain.gpu import InvalidQuantity, whole_gpu_count

from .gpu_capacity import TIME_SLICING_KEY, Unverifiable, time_slicing_replicas
from .mcp_gpu import GPU_RESOURCES
from .plain import UNKNOWN, Path, field_path, get_path, plain
from .resources import (
    CONFIG_MAP,
    GPU_POOL_LABEL,
    HELM_RELEASE,
    containers,
    describe,
    is_mcp_chart,
    is_workload,
    pod_template,
    release_field,
    release_pod_spec,
)

NAME = "gpu-slices-admitted"


@dataclass(frozen=True)
class StrictPool:
    name: str
    replicas: int


def fails_requests_greater_than_one(config_text: Any) -> bool:
    """The device plugin config's `sharing.timeSlicing.failRequestsGreaterThanOne` (default false)."""
    try:
        config = yaml.safe_load(config_text) if isinstance(config_text, str) else None
    except yaml.YAMLError:
        return False
    return get_path(config, "sharing", "timeSlicing", "failRequestsGreaterThanOne") is True


@dataclass(frozen=True)
class Registered:
    """What the rule reads of one registered resource."""

    resource_type: str
    name: str
    props: Any


def strict_pools(resources: Sequence[Registered]) -> dict[str, StrictPool]:
    """Pools whose device plugin is time-sliced and refuses requests above one slice."""
    pools: dict[str, StrictPool] = {}
    for resource in resources:
        if resource.resource_type != CONFIG_MAP:
            continue
        pool = get_path(resource.props, "metadata", "labels", GPU_POOL_LABEL)
        config_text = get_path(resource.props, "data", TIME_SLICING_KEY)
        if not isinstance(pool, str) or not fails_requests_greater_than_one(config_text):
            continue
        try:
            replicas = time_slicing_replicas(config_text)
        except Unverifiable:
            continue  # gpu-capacity reports an unreadable config
        if replicas > 1:
            pools[pool] = StrictPool(pool, replicas)
    return pools


def _pod_specs(resource: Registered) -> Iterator[tuple[Any, Path, bool]]:
    """(pod spec, path of the spec, whether the spec was derived from a release's values)."""
    props = resource.props if isinstance(resource.props, dict) else {}
    if is_workload(resource.resource_type):
        template = pod_template(resource.resource_type, props)
        yield template.spec, template.spec_path, False
    elif resource.resource_type == HELM_RELEASE and is_mcp_chart(props.get("chart")):
        values = props.get("values")
        if isinstance(values, dict):
            yield release_pod_spec(values, resource.name), (), True


def oversized_requests(pod_spec: Any, pools: dict[str, StrictPool]) -> Iterator[tuple[Path, str]]:
    """Containers of a pod that a strict pool would refuse: (path in the pod spec, why)."""
    if not pools or not isinstance(pod_spec, dict):
        return
    selector = pod_spec.get("nodeSelector")
    pinned = selector.get(GPU_POOL_LABEL) if isinstance(selector, dict) else None
    if isinstance(pinned, str):
        targets = [pools[pinned]] if pinned in pools else []
        landing = "is pinned to"
    else:
        targets = list(pools.values())
        landing = "is not pinned to a pool, so it may land on"
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


def stack_problems(resources: Sequence[Registered]) -> Iterator[tuple[int, str]]:
    """(index of the resource, message) for every container a strict pool would refuse."""
    pools = strict_pools(resources)
    if not pools:
        return
    for index, resource in enumerate(resources):
        for pod_spec, spec_path, from_release in _pod_specs(resource):
            for path, message in oversized_requests(pod_spec, pools):
                where = release_field(path) if from_release else (*spec_path, *path)
                label = describe(resource.resource_type, resource.name)
                yield index, f"{label}: {field_path(where)}: {message}"


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    if not any(resource.resource_type == CONFIG_MAP for resource in args.resources):
        return
    registered = [
        Registered(resource.resource_type, resource.name, plain(resource.props))
        for resource in args.resources
    ]
    for index, message in stack_problems(registered):
        report_violation(message, args.resources[index].urn)


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
