"""GpuNodePool: Lambda GPU instances joined to the k3s cluster and time-sliced by the NVIDIA GPU Operator.

`plan_gpu_pool` is the capacity and cost arithmetic, a plain function of the stack config: how many
time-sliced `nvidia.com/gpu` units the MCP servers ask for (one per replica, see
`components.mcp_servers.gpu_demand`), how many nodes cover them, what the pool costs and
what one whole GPU per MCP replica would cost instead. Everything in it is known at preview.

The component then launches the nodes (each a k3s agent with the pool's label and the GPU taint, see
domain/cloud_init.py) and installs, through the caller's kubernetes provider:

* the `gpu-operator` namespace and the device plugin's time-slicing ConfigMap in it, which always refuses
  requests above one slice (`failRequestsGreaterThanOne: true`);
* the GPU Operator chart, with the driver and the container toolkit left to the host (Lambda Stack images ship
  the driver; the node's cloud-init makes sure the toolkit is there, and k3s wires it into containerd itself);
* a RuntimeClass of the pool's own, whose scheduling block carries the pool's node selector and the GPU
  toleration into every pod that names it.

Why the RuntimeClass is not called plain `nvidia`: k3s already creates a RuntimeClass `nvidia` on every
cluster (k3s manifests/runtimes.yaml), and the GPU Operator creates and keeps overwriting one of that name
with its own object (controllers/object_controls.go `RuntimeClass`: Get, then Update with the operator's
template). A Pulumi-owned `nvidia` would fail to create (pulumi-kubernetes >= 4.29 creates client-side and
reports AlreadyExists) and its scheduling block would be erased by the operator. `nvidia-<pool>` uses the same
`nvidia` containerd handler and belongs to this stack alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.config import (
    PROJECT,
    ClusterConfig,
    GpuPoolConfig,
    LambdaConfig,
    McpServerConfig,
    StackConfigError,
)
from components.lambda_instance import MAX_NAME_PREFIX_LENGTH, LambdaInstance, LambdaInstanceArgs
from components.mcp_servers import ServerDemand, gpu_demand
from components.versions import GPU_OPERATOR_CHART_REPO, GPU_OPERATOR_CHART_VERSION
from domain.cloud_init import InvalidAgentSettings, check_agent_settings, k3s_agent_user_data
from domain.gpu import (
    GPU_RESOURCE,
    GPU_TAINT_EFFECT,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    NVIDIA_RUNTIME_CLASS,
    GpuPoolScheduling,
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

COMPONENT_TYPE = "sophia:index:GpuNodePool"
GPU_POOL_LABEL = "sophia.ai/gpu-pool"
OPERATOR_NAMESPACE = "gpu-operator"
OPERATOR_CHART = "gpu-operator"
TIME_SLICING_CONFIG_MAP = "time-slicing-config"
TIME_SLICING_CONFIG_KEY = "config.yaml"
GPU_TAINT = f"{GPU_TAINT_KEY}={GPU_TAINT_VALUE}:{GPU_TAINT_EFFECT}"
_HUNDRED = Decimal(100)
_TENTH = Decimal("0.1")


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
        return f"{NVIDIA_RUNTIME_CLASS}-{self.pool}"

    @property
    def scheduling(self) -> GpuPoolScheduling:
        return GpuPoolScheduling(
            pool_name=self.pool,
            node_label_key=GPU_POOL_LABEL,
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


def plan_gpu_pool(pool: GpuPoolConfig, servers: list[McpServerConfig], region: str) -> GpuPoolPlan:
    """Size and price the pool for `servers`; raise StackConfigError naming the key of any inconsistency."""
    try:
        spec = instance_type_spec(pool.instance_type)
    except UnknownInstanceType as error:
        raise StackConfigError(f"{PROJECT}:gpuPoolInstanceType: {error}") from None
    if pool.time_slicing_replicas < 1:
        raise StackConfigError(
            f"{PROJECT}:gpuPoolTimeSlicingReplicas is {pool.time_slicing_replicas}; it must be at least 1 "
            "(1 means no sharing)"
        )
    planned = tuple(gpu_demand(servers, pool.time_slicing_replicas))
    demand = sum(server.slices for server in planned)
    per_node = slice_capacity(1, spec.gpus, pool.time_slicing_replicas)
    if pool.node_count == "auto":
        nodes = auto_node_count(demand, pool.headroom_slices, spec.gpus, pool.time_slicing_replicas)
    else:
        nodes = pool.node_count
        if slice_capacity(nodes, spec.gpus, pool.time_slicing_replicas) < demand:
            needed = auto_node_count(demand, 0, spec.gpus, pool.time_slicing_replicas)
            raise StackConfigError(
                f"{PROJECT}:gpuPoolNodeCount is {nodes}, which offers {nodes * per_node} slices "
                f"({nodes} x {spec.gpus} GPU x {pool.time_slicing_replicas}), but the MCP servers ask for "
                f"{demand}; set it to at least {needed}, or to auto "
                f"({auto_node_count(demand, pool.headroom_slices, spec.gpus, pool.time_slicing_replicas)} "
                f"with the {pool.headroom_slices} headroom slices)"
            )
    last_instance_prefix = f"{instance_name_prefix(pool.name)}{nodes - 1}"
    if len(last_instance_prefix) > MAX_NAME_PREFIX_LENGTH:
        raise StackConfigError(
            f"{PROJECT}:gpuPoolName {pool.name!r} is too long: instance names such as "
            f"{last_instance_prefix!r} may have at most {MAX_NAME_PREFIX_LENGTH} characters before Lambda's "
            "unique suffix"
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
        replicas_per_gpu=pool.time_slicing_replicas,
        slices_offered=nodes * per_node,
        slices_used=demand,
        headroom_slices=pool.headroom_slices,
        hourly_cost_usd=cost,
        whole_gpu_hourly_cost_usd=whole_gpu_cost,
        saving_percent=saving,
        prices_read=load_catalog().prices_read,
        servers=planned,
    )


def time_slicing_config(plan: GpuPoolPlan) -> str:
    """The device plugin's config file: every GPU advertised as `replicas_per_gpu` units of nvidia.com/gpu.

    Format: NVIDIA/k8s-device-plugin README, "Shared Access to GPUs" (`version: v1`, `flags.migStrategy`,
    `sharing.timeSlicing.{renameByDefault, failRequestsGreaterThanOne, resources[{name, replicas}]}`).
    `renameByDefault: false` keeps the resource name `nvidia.com/gpu`, which is what the MCP chart requests.
    `failRequestsGreaterThanOne: true` is NVIDIA's recommendation: a pod asking for several slices would get
    no more GPU than a pod asking for one, so the device plugin refuses it at admission instead of letting it
    hoard capacity (`gpu_demand` refuses such a share before the stack deploys).
    """
    config = {
        "version": "v1",
        "flags": {"migStrategy": "none"},
        "sharing": {
            "timeSlicing": {
                "renameByDefault": False,
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": GPU_RESOURCE, "replicas": plan.replicas_per_gpu}],
            }
        },
    }
    return yaml.safe_dump(config, sort_keys=False)


def gpu_operator_values(scheduling: GpuPoolScheduling) -> dict[str, Any]:
    """Values of the gpu-operator chart (deployments/gpu-operator/values.yaml in NVIDIA/gpu-operator).

    * `driver.enabled: false`: Lambda Stack images ship the NVIDIA driver ("pre-installed drivers" install).
    * `toolkit.enabled: false`: the host has nvidia-container-toolkit (ensured by the node's cloud-init) and
      k3s adds the `nvidia` runtime to its containerd config on start; the toolkit operand would rewrite
      containerd's config at the stock paths, which k3s does not use.
    * `devicePlugin.config.{name, default}`: the time-slicing ConfigMap and the key every node uses.
    * `dcgmExporter.enabled`: per-GPU utilisation metrics, which is how slice contention shows up.
    * `daemonsets.tolerations`: the operands (device plugin, GFD, dcgm-exporter, validator) run as DaemonSets
      on the nodes NFD labels `nvidia.com/gpu.present`; the chart has no node selector for them, only this
      toleration list, which must let them onto the pool's tainted nodes. The NFD worker's own default
      tolerations already include `nvidia.com/gpu` with effect NoSchedule.
    """
    return {
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "devicePlugin": {"config": {"name": TIME_SLICING_CONFIG_MAP, "default": TIME_SLICING_CONFIG_KEY}},
        "dcgmExporter": {"enabled": True},
        "daemonsets": {"tolerations": scheduling.tolerations},
    }


# Where each join setting comes from, for errors that name the key to fix.
_SETTING_SOURCE = {
    "server_url": f"{PROJECT}:clusterK3sServerUrl",
    "node_name": f"{PROJECT}:gpuPoolName",
    "labels": f"{PROJECT}:gpuPoolName",
    "k3s_version": f"{PROJECT}:clusterK3sVersion",
}


def instance_name_prefix(pool_name: str) -> str:
    """What every instance name of the pool starts with; Lambda appends nothing before a launch finds it."""
    return f"sophia-{pool_name}-"


def _node_name(plan: GpuPoolPlan, index: int) -> str:
    return f"{instance_name_prefix(plan.pool)}{index}"


@dataclass
class GpuNodePoolArgs:
    """What the pool needs: its plan, Lambda access and the cluster it joins.

    The kubernetes provider comes from the caller through `opts` (`providers` or `provider`).
    """

    plan: GpuPoolPlan
    lambda_cloud: LambdaConfig
    cluster: ClusterConfig


class GpuNodePool(pulumi.ComponentResource):
    """Lambda GPU instances as tainted, labelled k3s agents, time-sliced by the NVIDIA GPU Operator."""

    plan: GpuPoolPlan
    scheduling: GpuPoolScheduling
    node_label: dict[str, str]
    taint: str
    runtime_class: str
    replicas: int
    slice_capacity: int
    hourly_cost_usd: Decimal
    instance_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Everything but the join token is known now, so a bad setting stops the program before anything is
        # registered, let alone launched.
        for index in range(args.plan.nodes):
            _check_join_settings(args, index)
        super().__init__(COMPONENT_TYPE, name, None, opts)
        if self.get_provider("kubernetes:core/v1:Namespace") is None:
            raise ValueError(
                f"GpuNodePool {name!r} needs the cluster's kubernetes provider: pass "
                "opts=pulumi.ResourceOptions(providers={'kubernetes': provider}) so nothing falls back to an "
                "ambient kubeconfig"
            )
        plan = args.plan
        scheduling = plan.scheduling
        self.plan = plan
        self.scheduling = scheduling
        self.node_label = scheduling.node_selector
        self.taint = GPU_TAINT
        self.runtime_class = scheduling.runtime_class
        self.replicas = scheduling.replicas_per_gpu
        self.slice_capacity = scheduling.slice_capacity
        self.hourly_cost_usd = plan.hourly_cost_usd
        child = pulumi.ResourceOptions(parent=self)

        nodes = [self._node(name, index, args, child) for index in range(plan.nodes)]
        self.instance_ids = [node.instance_id for node in nodes]

        namespace = k8s.core.v1.Namespace(
            f"{name}-operator-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=OPERATOR_NAMESPACE,
                # The operands are privileged DaemonSets; GPU Operator install docs label the namespace so Pod
                # Security Admission admits them.
                labels={"pod-security.kubernetes.io/enforce": "privileged"},
            ),
            opts=child,
        )
        time_slicing = k8s.core.v1.ConfigMap(
            f"{name}-time-slicing",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=TIME_SLICING_CONFIG_MAP,
                namespace=namespace.metadata.name,
                labels={GPU_POOL_LABEL: plan.pool},
            ),
            data={TIME_SLICING_CONFIG_KEY: time_slicing_config(plan)},
            opts=child,
        )
        operator = k8s.helm.v3.Release(
            f"{name}-gpu-operator",
            k8s.helm.v3.ReleaseArgs(
                name=OPERATOR_CHART,
                chart=OPERATOR_CHART,
                version=GPU_OPERATOR_CHART_VERSION,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=GPU_OPERATOR_CHART_REPO),
                namespace=namespace.metadata.name,
                values=gpu_operator_values(scheduling),
            ),
            # The device plugin reads the ConfigMap when it starts; created after it, it would start unshared.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[time_slicing]),
        )
        runtime_class = k8s.node.v1.RuntimeClass(
            f"{name}-runtime-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=scheduling.runtime_class, labels={GPU_POOL_LABEL: plan.pool}
            ),
            handler=NVIDIA_RUNTIME_CLASS,
            scheduling=k8s.node.v1.SchedulingArgs(
                node_selector=scheduling.node_selector,
                tolerations=[
                    k8s.core.v1.TolerationArgs(key=t["key"], operator=t["operator"], effect=t["effect"])
                    for t in scheduling.tolerations
                ],
            ),
            # The pool's last step: created once the nodes and the device plugin exist. Workloads wait for
            # this one resource instead of every node, which keeps each workload's dependency list short.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[operator, *nodes]),
        )
        self.ready: pulumi.Resource = runtime_class

        self.register_outputs(
            {
                "plan": plan.to_output(),
                "nodeLabel": self.node_label,
                "taint": self.taint,
                "runtimeClass": runtime_class.metadata.name,
                "replicas": self.replicas,
                "sliceCapacity": self.slice_capacity,
                "hourlyCostUsd": float(self.hourly_cost_usd),
                "instanceIds": self.instance_ids,
                "operatorChartVersion": operator.version,
            }
        )

    def _node(
        self, name: str, index: int, args: GpuNodePoolArgs, child: pulumi.ResourceOptions
    ) -> LambdaInstance:
        plan = args.plan
        node_name = _node_name(plan, index)
        labels = dict(plan.scheduling.node_selector)
        taints = [GPU_TAINT]
        server_url = args.cluster.k3s_server_url
        user_data = pulumi.Output.all(args.cluster.k3s_join_token).apply(
            lambda values: k3s_agent_user_data(
                server_url, str(values[0]), node_name, labels, taints, args.cluster.k3s_version
            )
        )
        return LambdaInstance(
            f"{name}-node-{index}",
            LambdaInstanceArgs(
                api_key=args.lambda_cloud.api_key,
                region=plan.region,
                instance_type=plan.instance_type,
                ssh_key_name=args.lambda_cloud.ssh_key_name,
                name=node_name,
                user_data=user_data,
                tags={GPU_POOL_LABEL: plan.pool, "managed-by": "pulumi"},
                base_url=args.lambda_cloud.api_base_url,
            ),
            opts=child,
        )


def _check_join_settings(args: GpuNodePoolArgs, index: int) -> None:
    try:
        check_agent_settings(
            args.cluster.k3s_server_url,
            _node_name(args.plan, index),
            args.plan.scheduling.node_selector,
            [GPU_TAINT],
            args.cluster.k3s_version,
        )
    except InvalidAgentSettings as error:
        source = _SETTING_SOURCE.get(error.setting, f"GPU node {index} join settings")
        raise StackConfigError(f"{source}: {error}") from None
