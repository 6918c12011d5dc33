"""gpu-slices-admitted (stack policy): no container asks a strict time-sliced pool for more than one slice.

With `sharing.timeSlicing.failRequestsGreaterThanOne: true` in its config, the NVIDIA device plugin refuses
any container that asks for more than one shared `nvidia.com/gpu` when the kubelet admits the pod (the pod
fails with UnexpectedAdmissionError; NVIDIA k8s-device-plugin README, "With CUDA Time-Slicing"; GPU Operator
docs, "Time-Slicing GPUs in Kubernetes"). A pool is time-sliced when its config advertises each GPU more than
once (`replicas` > 1). The pool's config is read from the time-slicing ConfigMap it registers (labelled
`sophia.ai/gpu-pool: <pool>`, key `config.yaml`), as gpu-capacity reads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from domain.gpu import InvalidQuantity, whole_gpu_count
from domain.gpu_pool import (
    GPU_RESOURCES,
    TIME_SLICING_CONFIG_KEY,
    InvalidTimeSlicingConfig,
    fails_requests_greater_than_one,
    time_slicing_replicas,
)

from .known import UNKNOWN, Path, field_path, get_path, resolve_unknowns
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
        config_text = get_path(resource.props, "data", TIME_SLICING_CONFIG_KEY)
        if not isinstance(pool, str) or not fails_requests_greater_than_one(config_text):
            continue
        try:
            replicas = time_slicing_replicas(config_text)
        except InvalidTimeSlicingConfig:
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


def stack_problems(
    resources: Sequence[Registered], pools: dict[str, StrictPool] | None = None
) -> Iterator[tuple[int, str]]:
    """(index of the resource, message) for every container a strict pool would refuse."""
    pools = strict_pools(resources) if pools is None else pools
    if not pools:
        return
    for index, resource in enumerate(resources):
        for pod_spec, spec_path, from_release in _pod_specs(resource):
            for path, message in oversized_requests(pod_spec, pools):
                where = release_field(path) if from_release else (*spec_path, *path)
                label = describe(resource.resource_type, resource.name)
                yield index, f"{label}: {field_path(where)}: {message}"


def _at(props: Any, *keys: str) -> Any:
    """The value at `keys` of SDK properties: UNKNOWN where a step is not known, None where it is absent."""
    node = props
    try:
        for key in keys:
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
    except UnknownValueError:
        return UNKNOWN
    return node


def _read(resource: PolicyResource) -> dict[str, Any]:
    """The few inputs the rule reads, made plain without walking the rest (values, env, scripts)."""
    props = resource.props
    if resource.resource_type == CONFIG_MAP:
        return {
            "metadata": {"labels": resolve_unknowns(_at(props, "metadata", "labels"))},
            "data": {TIME_SLICING_CONFIG_KEY: resolve_unknowns(_at(props, "data", TIME_SLICING_CONFIG_KEY))},
        }
    if resource.resource_type == HELM_RELEASE:
        values = {key: resolve_unknowns(_at(props, "values", key)) for key in ("resources", "nodeSelector")}
        return {"chart": resolve_unknowns(_at(props, "chart")), "values": values}
    return resolve_unknowns(props)


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    # Only the pools' ConfigMaps, workloads and releases matter; reading the others costs time.
    relevant = [
        item
        for item in args.resources
        if item.resource_type in (CONFIG_MAP, HELM_RELEASE) or is_workload(item.resource_type)
    ]
    config_maps = [item for item in relevant if item.resource_type == CONFIG_MAP]
    pools = strict_pools([Registered(item.resource_type, item.name, _read(item)) for item in config_maps])
    if not pools:
        return
    registered = [Registered(item.resource_type, item.name, _read(item)) for item in relevant]
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
