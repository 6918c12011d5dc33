"""gpu-capacity (stack policy): the GPU slices MCP servers ask for fit in what the GPU node pools offer.

A GpuNodePool is a component (`sophia:index:GpuNodePool`), and component inputs never reach policies, so the
capacity is read from two kinds of custom resources the pool registers:

* its time-slicing ConfigMap: `kubernetes:core/v1:ConfigMap` labelled `sophia.ai/gpu-pool: <pool>` whose data
  key (the one the GPU Operator's `devicePlugin.config.default` selects, pools.py) holds the NVIDIA
  device-plugin config (`version: v1`,
  `sharing.timeSlicing.resources[{name: nvidia.com/gpu, replicas: N}]`); no timeSlicing section means N = 1;
* its instances: `pulumi-python:dynamic...` resources with an `instance_type` (or `instanceType`) input
  and the pool's name in `tags["sophia-ai:gpu-pool"]` (domain/lambda_tags.py; or a `gpuPool` input); GPUs
  per instance come from domain/lambda_catalog.py, or from a `gpusPerInstance` input for types the catalog
  does not know.

Capacity of a pool = sum of its instances' GPUs x N. Demand = for every MCP pod (pods.py finds them in any
Kubernetes object) and sophia-mcp release,
its GPU limit per pod (summed over containers) x its pod count (release: `replicaCount`, or
`autoscaling.maxReplicas` when autoscaling is on; Deployment/StatefulSet/ReplicaSet: `replicas`, default 1;
Job and CronJob: `parallelism`, default 1; DaemonSet: one per instance of its pool). Demand that the
scheduler can only put on one pool (domain/scheduling.py: its nodeSelector and required node affinity) must
fit in that pool; the total must fit in all pools together. The label, tag and data key, the config's
parser and the capacity formula are domain/gpu_pool.py's, the same the GpuNodePool writes with; this module
owns only reading them out of the resources.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from domain.gpu import InvalidQuantity, whole_gpu_count
from domain.gpu_pool import (
    GPU_RESOURCES,
    POOL_LABEL,
    POOL_TAG_KEY,
    TIME_SLICING_CONFIG_KEY,
    InvalidTimeSlicingConfig,
    offered_slices,
    time_slicing_replicas,
)
from domain.lambda_catalog import UnknownInstanceType, instance_type_spec
from domain.scheduling import InvalidSelector, UnknownSelector, node_selection

from .known import UNKNOWN, get_path, resolve_unknowns
from .pods import FoundPod, may_hold_pods, pods_in, replicas_of
from .pools import operator_default_keys, pool_config
from .resources import HELM_RELEASE, containers, describe, is_mcp_chart, release_pod_spec

NAME = "gpu-capacity"
_DYNAMIC_PREFIX = "pulumi-python:dynamic"


class Unverifiable(Exception):
    """A value the capacity depends on is unknown or unreadable; the message says which and why."""


@dataclass
class Pool:
    name: str
    replicas: int = 1
    config_urn: str | None = None
    instance_gpus: list[int] = field(default_factory=list)

    @property
    def capacity(self) -> int:
        return offered_slices(self.instance_gpus, self.replicas)


@dataclass(frozen=True)
class Demand:
    urn: str
    resource: str
    pool: str | None
    slices: int


def _pool_replicas(config_text: Any, key: str) -> int:
    if config_text is UNKNOWN:
        raise Unverifiable(f"data[{key!r}] is not known during preview")
    try:
        return time_slicing_replicas(config_text)
    except InvalidTimeSlicingConfig as error:
        raise Unverifiable(str(error)) from None


def _count(value: Any, what: str, default: int) -> int:
    if value is None:
        return default
    if value is UNKNOWN:
        raise Unverifiable(f"{what} is not known during preview")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        raise Unverifiable(f"{what} {value!r} is not a whole number")
    return int(value)


def _gpus_per_pod(pod_spec: Any) -> int:
    total = 0
    for index, container in containers(pod_spec):
        limits = get_path(container, "resources", "limits")
        if limits is UNKNOWN or container is UNKNOWN:
            raise Unverifiable(f"containers[{index}].resources.limits is not known during preview")
        for name in GPU_RESOURCES:
            quantity = limits.get(name) if isinstance(limits, dict) else None
            if quantity is UNKNOWN:
                raise Unverifiable(f"containers[{index}] {name} limit is not known during preview")
            if quantity is not None:
                try:
                    total += whole_gpu_count(quantity)
                except InvalidQuantity:
                    # gpu-quantities-valid reports the quantity; it cannot be scheduled, so it takes none.
                    continue
    return total


def _pinned_pool(pod_spec: Any, pools: dict[str, Pool]) -> str | None:
    """The one pool the scheduler may put the pod on (domain/scheduling.py); None when it may land on
    several. A selection of a pool nobody declares is returned as is, for the rule to name it."""
    try:
        selection = node_selection(pod_spec if isinstance(pod_spec, dict) else {})
    except UnknownSelector as error:
        raise Unverifiable(f"{error} is not known during preview") from None
    except InvalidSelector:
        return None  # mcp-servers-require-gpu reports it
    landing = selection.pools_it_may_land_on(list(pools))
    if len(landing) == 1 and selection.pool_values():
        return landing[0]
    named = selection.pool_values()
    if not landing and len(named) == 1:
        return next(iter(named))
    return None


def _release_demand(values: Any, pools: dict[str, Pool], name: str) -> tuple[int, str | None]:
    if values is UNKNOWN:
        raise Unverifiable("values is not known during preview")
    values = values if isinstance(values, dict) else {}
    gpus = _gpus_per_pod({"containers": [{"resources": values.get("resources")}]})
    autoscaling = values.get("autoscaling")
    if isinstance(autoscaling, dict) and autoscaling.get("enabled") is True:
        pods = _count(autoscaling.get("maxReplicas"), "autoscaling.maxReplicas", 0)
    elif values.get("replicaCount") is None:
        raise Unverifiable(
            "values.replicaCount is not set, so the chart's default (invisible to policies) decides the pod "
            "count; set replicaCount explicitly"
        )
    else:
        pods = _count(values.get("replicaCount"), "values.replicaCount", 1)
    return gpus * pods, _pinned_pool(release_pod_spec(values, name), pools)


def _pod_demand(pod: FoundPod, pools: dict[str, Pool]) -> tuple[int, str | None]:
    gpus = _gpus_per_pod(pod.spec)
    pool = _pinned_pool(pod.spec, pools)
    counted = replicas_of(pod)
    if counted is not None:
        field_name, value = counted
        pods = _count(value, field_name, 1)
    elif pod.kind == "DaemonSet":
        matching = [pools[pool]] if pool in pools else ([] if pool else list(pools.values()))
        pods = sum(len(candidate.instance_gpus) for candidate in matching)
    else:
        pods = 1
    return gpus * pods, pool


def _instance_pool(props: dict[str, Any]) -> Any:
    tags = props.get("tags")
    tagged = tags.get(POOL_TAG_KEY) if isinstance(tags, dict) else None
    return props.get("gpuPool") or props.get("gpu_pool") or tagged


def _instance_gpus(props: dict[str, Any], instance_type: Any) -> int:
    if instance_type is UNKNOWN:
        raise Unverifiable("instance_type is not known during preview")
    declared = props.get("gpusPerInstance")
    if declared is not None:
        return _count(declared, "gpusPerInstance", 0)
    try:
        return instance_type_spec(str(instance_type)).gpus
    except UnknownInstanceType as error:
        raise Unverifiable(f"{error}; or give the instance a gpusPerInstance input") from None


def _pools(resources: list[tuple[PolicyResource, Any]], report: ReportViolation) -> dict[str, Pool]:
    pools: dict[str, Pool] = {}

    def pool_named(name: str) -> Pool:
        return pools.setdefault(name, Pool(name))

    default_keys = operator_default_keys((resource.resource_type, props) for resource, props in resources)
    for resource, props in resources:
        label = describe(resource.resource_type, resource.name)
        try:
            config = pool_config(resource.resource_type, props, default_keys)
            if config is not None:
                if config.pool is UNKNOWN:
                    raise Unverifiable(f"label {POOL_LABEL} is not known during preview")
                if isinstance(config.pool, str):
                    pool = pool_named(config.pool)
                    pool.config_urn = resource.urn
                    pool.replicas = _pool_replicas(config.text, config.key)
            elif resource.resource_type.startswith(_DYNAMIC_PREFIX):
                instance_type = props.get("instance_type", props.get("instanceType"))
                pool_name = _instance_pool(props)
                if instance_type is None or pool_name is None:
                    continue
                if pool_name is UNKNOWN:
                    raise Unverifiable("the instance's pool name is not known during preview")
                pool_named(str(pool_name)).instance_gpus.append(_instance_gpus(props, instance_type))
        except Unverifiable as error:
            report(f"{label}: {error}; the GPU capacity cannot be verified", resource.urn)
    return pools


def _demands(
    resources: list[tuple[PolicyResource, Any]], pools: dict[str, Pool], report: ReportViolation
) -> Iterator[Demand]:
    for resource, props in resources:
        label = describe(resource.resource_type, resource.name)
        try:
            if resource.resource_type == HELM_RELEASE and is_mcp_chart(props.get("chart")):
                slices, pool = _release_demand(props.get("values"), pools, resource.name)
                yield Demand(resource.urn, label, pool, slices)
                continue
            for pod in pods_in(resource.resource_type, resource.name, props):
                if pod.is_mcp:
                    slices, pool = _pod_demand(pod, pools)
                    yield Demand(resource.urn, label, pool, slices)
        except Unverifiable as error:
            report(f"{label}: {error}; its GPU demand cannot be counted", resource.urn)


def _listing(demands: list[Demand]) -> str:
    return ", ".join(f"{demand.resource} {demand.slices}" for demand in demands)


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    # Pools are Kubernetes ConfigMaps and dynamic instances, demands Kubernetes objects: only those are read.
    resources = [
        (resource, resolve_unknowns(resource.props))
        for resource in args.resources
        if may_hold_pods(resource.resource_type) or resource.resource_type.startswith(_DYNAMIC_PREFIX)
    ]
    pools = _pools(resources, report_violation)
    demands = [demand for demand in _demands(resources, pools, report_violation) if demand.slices > 0]
    if not demands:
        return
    if not pools:
        report_violation(
            f"MCP servers ask for {sum(d.slices for d in demands)} GPU slices ({_listing(demands)}) but no "
            f"GPU node pool declares any capacity (no ConfigMap labelled {POOL_LABEL} and no pool "
            "instances)",
            None,
        )
        return
    by_pool: dict[str | None, list[Demand]] = defaultdict(list)
    for demand in demands:
        by_pool[demand.pool].append(demand)
    for pool_name, pinned in by_pool.items():
        if pool_name is None:
            continue
        pool = pools.get(pool_name)
        if pool is None:
            for demand in pinned:
                report_violation(
                    f"{demand.resource}: nodeSelector {POOL_LABEL}={pool_name} names a pool no "
                    f"GpuNodePool declares (known pools: {', '.join(sorted(pools))})",
                    demand.urn,
                )
            continue
        asked = sum(demand.slices for demand in pinned)
        if asked > pool.capacity:
            report_violation(
                f"GPU pool {pool_name!r} offers {pool.capacity} slices ({sum(pool.instance_gpus)} GPUs on "
                f"{len(pool.instance_gpus)} instances x {pool.replicas} time-slicing replicas) but its MCP "
                f"servers ask for {asked} ({_listing(pinned)}); add nodes, raise the replicas, or lower GPU "
                "shares",
                pool.config_urn,
            )
    unpinned = by_pool.get(None, [])
    if unpinned:
        # Servers not pinned to a pool may land on any; they fit only in what pinned servers leave free.
        spare = sum(
            max(pool.capacity - sum(demand.slices for demand in by_pool.get(name, [])), 0)
            for name, pool in pools.items()
        )
        asked = sum(demand.slices for demand in unpinned)
        if asked > spare:
            report_violation(
                f"MCP servers not pinned to a pool ask for {asked} GPU slices ({_listing(unpinned)}) but "
                f"the pools have {spare} left after the pinned servers",
                None,
            )


gpu_capacity = StackValidationPolicy(
    name=NAME,
    description=(
        "The GPU slices all MCP servers ask for (GPU limit x pods) fit in the capacity the GPU node pools "
        "declare (instances x GPUs per instance x time-slicing replicas). Pools are read from ConfigMaps "
        f"labelled {POOL_LABEL}: <pool> holding the device plugin's config (under the key the GPU Operator's "
        f"devicePlugin.config.default selects, else {TIME_SLICING_CONFIG_KEY}), and from "
        "pulumi-python:dynamic instances with an instance_type input and the pool name in "
        f"tags[{POOL_TAG_KEY!r}] (or a gpuPool input)."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=(
        "Grow the pool (more or larger instances), raise the time-slicing replicas in the pool's ConfigMap, "
        "or lower replicaCount or GPU shares of MCP servers; pin each server to its pool with nodeSelector "
        f"{POOL_LABEL}: <pool>."
    ),
)
