"""The GPU pool's arithmetic and names, for the program and the policy pack alike.

Owns: the pool's label, taint, Lambda tag and device-plugin names; the time-slicing config (written for the
ConfigMap, parsed back by the pack); each MCP server's demand in time slices; the pool plan (nodes, slices,
cost); and the capacity check. No Pulumi and no pydantic here: the policy pack's virtualenv has neither.

A pool of `nodes` instances with `gpus` GPUs each, whose device plugin advertises every GPU as `replicas`
time slices, offers `nodes * gpus * replicas` schedulable `nvidia.com/gpu` units (NVIDIA k8s-device-plugin
README, "Shared Access to GPUs"). A replica asks for exactly one slice: time slices give no proportional
compute, so the pool sets `failRequestsGreaterThanOne: true` and the device plugin refuses a larger request
at admission (same README, "With CUDA Time-Slicing").

Errors are `PoolPlanError`s: their text names a setting by a `{placeholder}` (`{time_slicing_replicas}`,
`{gpu_share}` ...) that the caller renders with its own key names; this module knows no stack keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, Protocol

import yaml

from domain.gpu import (
    GPU_RESOURCE,
    GPU_TAINT_EFFECT,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    NVIDIA_RUNTIME_CLASS,
    GpuPoolScheduling,
    slices_for_share,
)
from domain.lambda_catalog import (
    UnknownInstanceType,
    auto_node_count,
    hourly_cost_usd,
    instance_type_spec,
    load_catalog,
    slice_capacity,
    whole_gpu_per_replica_hourly_cost_usd,
)
from domain.lambda_tags import GPU_POOL_TAG, gpu_pool_tags

# The node label that pins a workload to a pool (value: the pool's name), on nodes, ConfigMaps and releases.
POOL_LABEL = "sophia.ai/gpu-pool"
# The Lambda instance tag that names an instance's pool (what the pack counts as the pool's capacity).
# Lambda's tag keys cannot hold the label's '.' and '/' (domain/lambda_tags.py): it is a key of its own.
POOL_TAG_KEY = GPU_POOL_TAG
# On every pool node: only pods that tolerate it (GPU workloads, the operator's operands) land there.
POOL_TAINT = f"{GPU_TAINT_KEY}={GPU_TAINT_VALUE}:{GPU_TAINT_EFFECT}"
# The device plugin's time-slicing ConfigMap and the data key each node's config is read from.
OPERATOR_NAMESPACE = "gpu-operator"
TIME_SLICING_CONFIG_MAP = "time-slicing-config"
TIME_SLICING_CONFIG_KEY = "config.yaml"
# With `renameByDefault: true` the device plugin advertises slices under this name instead.
SHARED_GPU_RESOURCE = "nvidia.com/gpu.shared"
GPU_RESOURCES = (GPU_RESOURCE, SHARED_GPU_RESOURCE)

_HUNDRED = Decimal(100)
_TENTH = Decimal("0.1")

# How a setting is called when the caller gives no name of its own.
_DEFAULT_SETTING_NAMES = {
    "pool_name": "the pool name",
    "instance_type": "the instance type",
    "node_count": "the node count",
    "time_slicing_replicas": "the time-slicing replicas",
    "headroom_slices": "the headroom slices",
    "replicas": "the server's replicas",
    "gpu_share": "the server's GPU share",
}


class PoolPlanError(ValueError):
    """A pool setting that cannot be planned. `setting` is at fault (`server` its index for server settings).

    `template` names settings as `{setting}` fields; `render` fills them with the caller's names for them.
    """

    def __init__(self, template: str, setting: str, server: int | None = None) -> None:
        self.template = template
        self.setting = setting
        self.server = server
        super().__init__(self.render(lambda name, _index: _DEFAULT_SETTING_NAMES[name]))

    def render(self, name_of: Callable[[str, int | None], str]) -> str:
        names = {setting: name_of(setting, self.server) for setting in _DEFAULT_SETTING_NAMES}
        return self.template.format_map(names)


class InvalidTimeSlicingConfig(ValueError):
    """A device-plugin config whose time-slicing replicas cannot be read."""


class PoolSizing(Protocol):
    """What the plan reads from the pool's configuration."""

    @property
    def name(self) -> str: ...
    @property
    def instance_type(self) -> str: ...
    @property
    def node_count(self) -> int | Literal["auto"]: ...
    @property
    def time_slicing_replicas(self) -> int: ...
    @property
    def headroom_slices(self) -> int: ...


class ServerSizing(Protocol):
    """What the plan reads from one MCP server's configuration."""

    @property
    def name(self) -> str: ...
    @property
    def replicas(self) -> int: ...
    @property
    def gpu_share(self) -> float: ...


# --- the time-slicing config


def time_slicing_config(replicas_per_gpu: int) -> str:
    """The device plugin's config file: every GPU advertised as `replicas_per_gpu` units of nvidia.com/gpu.

    Format: NVIDIA/k8s-device-plugin README, "Shared Access to GPUs" (`version: v1`, `flags.migStrategy`,
    `sharing.timeSlicing.{renameByDefault, failRequestsGreaterThanOne, resources[{name, replicas}]}`).
    `renameByDefault: false` keeps the resource name `nvidia.com/gpu`, which is what the MCP chart requests.
    `failRequestsGreaterThanOne: true` is NVIDIA's recommendation: a pod asking for several slices would get
    no more GPU than a pod asking for one, so the device plugin refuses it at admission instead of letting it
    hoard capacity (`server_demand` refuses such a share before the stack deploys).
    """
    config = {
        "version": "v1",
        "flags": {"migStrategy": "none"},
        "sharing": {
            "timeSlicing": {
                "renameByDefault": False,
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": GPU_RESOURCE, "replicas": replicas_per_gpu}],
            }
        },
    }
    return yaml.safe_dump(config, sort_keys=False)


def fails_requests_greater_than_one(config_text: object) -> bool:
    """The device plugin config's `sharing.timeSlicing.failRequestsGreaterThanOne` (default false)."""
    try:
        config = yaml.safe_load(config_text) if isinstance(config_text, str) else None
    except yaml.YAMLError:
        return False
    sharing = config.get("sharing") if isinstance(config, dict) else None
    time_slicing = sharing.get("timeSlicing") if isinstance(sharing, dict) else None
    return isinstance(time_slicing, dict) and time_slicing.get("failRequestsGreaterThanOne") is True


def time_slicing_replicas(config_text: object) -> int:
    """How many units the device plugin advertises per GPU, read back from its config file.

    No `sharing.timeSlicing.resources` means no sharing: 1 unit per GPU.
    """
    if not isinstance(config_text, str):
        raise InvalidTimeSlicingConfig(
            f"has no data[{TIME_SLICING_CONFIG_KEY!r}] with the device plugin's time-slicing config"
        )
    try:
        config = yaml.safe_load(config_text)
    except yaml.YAMLError as error:
        raise InvalidTimeSlicingConfig(f"data[{TIME_SLICING_CONFIG_KEY!r}] is not YAML ({error})") from None
    if not isinstance(config, dict) or config.get("version") != "v1":
        raise InvalidTimeSlicingConfig(
            f"data[{TIME_SLICING_CONFIG_KEY!r}] is not a device-plugin config (version: v1)"
        )
    sharing = config.get("sharing")
    time_slicing = sharing.get("timeSlicing") if isinstance(sharing, dict) else None
    resources = time_slicing.get("resources") if isinstance(time_slicing, dict) else None
    if resources is None:
        return 1
    for entry in resources if isinstance(resources, list) else []:
        if isinstance(entry, dict) and entry.get("name") in GPU_RESOURCES:
            replicas = entry.get("replicas")
            if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas >= 1:
                return replicas
            raise InvalidTimeSlicingConfig(f"time-slicing replicas {replicas!r} is not a whole number >= 1")
    raise InvalidTimeSlicingConfig("sharing.timeSlicing.resources lists no nvidia.com/gpu entry")


def offered_slices(gpus_per_instance: Iterable[int], replicas_per_gpu: int) -> int:
    """Schedulable units of a pool whose instances have these GPU counts."""
    return sum(gpus_per_instance) * replicas_per_gpu


# --- demand


@dataclass(frozen=True)
class ServerDemand:
    """How many time slices one server takes from the GPU pool."""

    name: str
    replicas: int
    gpu_share: float
    slices_per_replica: int

    @property
    def slices(self) -> int:
        return self.replicas * self.slices_per_replica


def _one_slice_fix(replicas_per_gpu: int) -> str:
    return (
        f"use the pool's share, {1 / replicas_per_gpu} (one slice of a GPU split {replicas_per_gpu} ways), "
        "or change {time_slicing_replicas} so that 1/replicas is the share wanted (e.g. 2 for half GPUs)"
    )


def server_demand(servers: Sequence[ServerSizing], replicas_per_gpu: int) -> list[ServerDemand]:
    """Each server's time slices on a pool that advertises each GPU `replicas_per_gpu` times: one per replica.

    A share that is not exactly one slice on such a pool (a fraction of a slice, or several slices) is a
    PoolPlanError on that server's `gpu_share`.
    """
    demands: list[ServerDemand] = []
    for index, server in enumerate(servers):
        where = f"{{gpu_share}} ({server.name}) is {server.gpu_share}, which"
        try:
            slices = slices_for_share(server.gpu_share, replicas_per_gpu)
        except ValueError:
            raise PoolPlanError(
                f"{where} is not a whole number of time slices on a pool with {replicas_per_gpu} slices per "
                "GPU ({time_slicing_replicas}). Every replica takes exactly one slice; to fix it, "
                f"{_one_slice_fix(replicas_per_gpu)}",
                "gpu_share",
                index,
            ) from None
        if slices != 1:
            raise PoolPlanError(
                f"{where} would be {slices} time slices per replica on a pool with {replicas_per_gpu} slices "
                "per GPU ({time_slicing_replicas}). Time slices give no proportional compute: a pod holding "
                f"{slices} slices gets no more of the GPU than one holding 1, and the pool's device plugin "
                "(failRequestsGreaterThanOne: true) refuses any request above one slice with "
                f"UnexpectedAdmissionError. To fix it, {_one_slice_fix(replicas_per_gpu)}",
                "gpu_share",
                index,
            )
        demands.append(ServerDemand(server.name, server.replicas, server.gpu_share, slices))
    return demands


def check_capacity(demands: Sequence[ServerDemand], scheduling: GpuPoolScheduling) -> None:
    """Refuse demand above what the pool offers. One slice per replica fits on any node, so only the total
    counts."""
    total = sum(demand.slices for demand in demands)
    if total > scheduling.slice_capacity:
        breakdown = ", ".join(
            f"{demand.name} {demand.replicas} x {demand.slices_per_replica}" for demand in demands
        )
        raise PoolPlanError(
            f"the MCP servers need {total} GPU time slices ({breakdown}) but GPU pool "
            f"{scheduling.pool_name!r} offers {scheduling.slice_capacity}; raise {{node_count}} (or set it "
            "to auto), or lower {gpu_share} or {replicas}",
            "node_count",
        )


# --- the plan


def instance_name_prefix(pool: str) -> str:
    """What every instance name of the pool starts with; Lambda appends nothing before a launch finds it."""
    return f"sophia-{pool}-"


def node_name(pool: str, index: int) -> str:
    """The name a pool node is launched and registered under (k3s appends its node id)."""
    return f"{instance_name_prefix(pool)}{index}"


def runtime_class_name(pool: str) -> str:
    """The pool's own RuntimeClass (not plain `nvidia`, which k3s and the GPU Operator both own)."""
    return f"{NVIDIA_RUNTIME_CLASS}-{pool}"


@dataclass(frozen=True)
class GpuPoolPlan:
    """The pool's size, capacity and cost, decided from the stack config alone."""

    pool: str
    instance_type: str
    region: str
    nodes: int
    gpus_per_node: int
    replicas_per_gpu: int
    slices_offered: int
    slices_used: int
    headroom_slices: int
    hourly_cost_usd: Decimal
    whole_gpu_hourly_cost_usd: Decimal
    saving_percent: Decimal
    prices_read: str
    servers: tuple[ServerDemand, ...] = field(default_factory=tuple)

    @property
    def runtime_class(self) -> str:
        return runtime_class_name(self.pool)

    @property
    def node_names(self) -> list[str]:
        return [node_name(self.pool, index) for index in range(self.nodes)]

    @property
    def slices_per_node(self) -> int:
        """What each node must advertise as allocatable `nvidia.com/gpu` once the device plugin runs."""
        return self.gpus_per_node * self.replicas_per_gpu

    @property
    def scheduling(self) -> GpuPoolScheduling:
        return GpuPoolScheduling(
            pool_name=self.pool,
            node_label_key=POOL_LABEL,
            node_label_value=self.pool,
            runtime_class=self.runtime_class,
            replicas_per_gpu=self.replicas_per_gpu,
            slice_capacity=self.slices_offered,
        )

    def to_output(self) -> dict[str, Any]:
        """The `gpuPlan` stack output, in the camelCase keys the offline preview prints."""
        return {
            "pool": self.pool,
            "instanceType": self.instance_type,
            "nodes": self.nodes,
            "gpusPerNode": self.gpus_per_node,
            "replicasPerGpu": self.replicas_per_gpu,
            "slicesOffered": self.slices_offered,
            "slicesUsed": self.slices_used,
            "headroomSlices": self.headroom_slices,
            "hourlyCostUsd": float(self.hourly_cost_usd),
            "wholeGpuHourlyCostUsd": float(self.whole_gpu_hourly_cost_usd),
            "savingPercent": float(self.saving_percent),
            "pricesRead": self.prices_read,
            "servers": [
                {
                    "name": server.name,
                    "replicas": server.replicas,
                    "gpuShare": server.gpu_share,
                    "slicesPerReplica": server.slices_per_replica,
                }
                for server in self.servers
            ],
        }


def plan_gpu_pool(
    pool: PoolSizing, servers: Sequence[ServerSizing], region: str, max_node_name_length: int
) -> GpuPoolPlan:
    """Size and price the pool for `servers`; a PoolPlanError names the setting of any inconsistency.

    `max_node_name_length` is how long a node's name may be before the cloud's unique suffix.
    """
    try:
        spec = instance_type_spec(pool.instance_type)
    except UnknownInstanceType as error:
        raise PoolPlanError(f"{{instance_type}}: {_braces(str(error))}", "instance_type") from None
    replicas = pool.time_slicing_replicas
    planned = tuple(server_demand(servers, replicas))
    demand = sum(server.slices for server in planned)
    per_node = slice_capacity(1, spec.gpus, replicas)
    auto = auto_node_count(demand, pool.headroom_slices, spec.gpus, replicas)
    if pool.node_count == "auto":
        nodes = auto
    else:
        nodes = pool.node_count
        if nodes * per_node < demand:
            needed = auto_node_count(demand, 0, spec.gpus, replicas)
            raise PoolPlanError(
                f"{{node_count}} is {nodes}, which offers {nodes * per_node} slices ({nodes} x {spec.gpus} "
                f"GPU x {replicas}), but the MCP servers ask for {demand}; set it to at least {needed}, or "
                f"to auto ({auto} with the {pool.headroom_slices} headroom slices)",
                "node_count",
            )
    last_node = node_name(pool.name, nodes - 1)
    if len(last_node) > max_node_name_length:
        raise PoolPlanError(
            f"{{pool_name}} {pool.name!r} is too long: instance names such as {last_node!r} may have at most "
            f"{max_node_name_length} characters before Lambda's unique suffix",
            "pool_name",
        )
    cost = hourly_cost_usd(pool.instance_type, nodes)
    whole_gpu_cost = whole_gpu_per_replica_hourly_cost_usd(
        sum(server.replicas for server in planned), pool.instance_type
    )
    saving = (
        ((whole_gpu_cost - cost) / whole_gpu_cost * _HUNDRED).quantize(_TENTH, rounding=ROUND_HALF_UP)
        if whole_gpu_cost
        else Decimal(0)
    )
    return GpuPoolPlan(
        pool=pool.name,
        instance_type=pool.instance_type,
        region=region,
        nodes=nodes,
        gpus_per_node=spec.gpus,
        replicas_per_gpu=replicas,
        slices_offered=nodes * per_node,
        slices_used=demand,
        headroom_slices=pool.headroom_slices,
        hourly_cost_usd=cost,
        whole_gpu_hourly_cost_usd=whole_gpu_cost,
        saving_percent=saving,
        prices_read=load_catalog().prices_read,
        servers=planned,
    )


def _braces(text: str) -> str:
    """Text from elsewhere, safe inside a PoolPlanError template."""
    return text.replace("{", "{{").replace("}", "}}")


def pool_tags(pool: str) -> Mapping[str, str]:
    """The tags every pool instance is launched with, checked against what Lambda accepts."""
    return gpu_pool_tags(pool)
