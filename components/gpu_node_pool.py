"""GpuNodePool: Lambda GPU instances joined to the k3s cluster and time-sliced by the NVIDIA GPU Operator.

The capacity and cost arithmetic lives in domain/gpu_pool.py (`plan_gpu_pool` here only names the stack keys
in its errors): how many time-sliced `nvidia.com/gpu` units the MCP servers ask for (one per replica), how
many nodes cover them, what the pool costs and what one whole GPU per MCP replica would cost instead.
Everything in it is known at preview.

The component then launches the nodes behind a Lambda firewall ruleset that opens only the k3s agent ports
of the WireGuard mesh, from the server and from each other (domain/k3s_network.py has the design and the
documented port table); each node is a k3s agent with the pool's label, the GPU taint and its public address
(domain/cloud_init.py). Lambda's interface may hold only the private address (1:1 NAT), so the address the
API reports for each instance is published in the ConfigMap `sophia-<pool>-addresses` (kube-system), which a
service account may `get` and nothing else; its token and the cluster CA go into the user data, and a node
whose interfaces have no public address reads its own entry there. Per node, a `PoolNode`
(components/pool_node.py) waits until its Kubernetes Node is Ready with the expected `nvidia.com/gpu` slices,
and cordons, drains and deletes that Node when the instance is replaced or removed. Through the caller's
kubernetes provider it installs:

* the `gpu-operator` namespace and the device plugin's time-slicing ConfigMap in it, which always refuses
  requests above one slice (`failRequestsGreaterThanOne: true`);
* the GPU Operator chart, with the driver, the container toolkit and CDI left to the host (Lambda Stack images
  ship the driver; the node's cloud-init makes sure the toolkit is there, and k3s wires it into containerd);
* a RuntimeClass of the pool's own, whose scheduling block carries the pool's node selector and the GPU
  toleration into every pod that names it; created after every `PoolNode`, it is the pool's `ready`.

Why the RuntimeClass is not called plain `nvidia`: k3s already creates a RuntimeClass `nvidia` on every
cluster (k3s manifests/runtimes.yaml), and the GPU Operator creates and keeps overwriting one of that name
with its own object (controllers/object_controls.go `RuntimeClass`: Get, then Update with the operator's
template). A Pulumi-owned `nvidia` would fail to create (pulumi-kubernetes >= 4.29 creates client-side and
reports AlreadyExists) and its scheduling block would be erased by the operator. `nvidia-<pool>` uses the same
`nvidia` containerd handler and belongs to this stack alone.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from components.config import (
    PROJECT,
    ClusterConfig,
    GpuPoolConfig,
    LambdaConfig,
    McpServerConfig,
    StackConfigError,
)
from components.lambda_firewall import (
    LambdaFirewallRuleset,
    LambdaFirewallRulesetArgs,
    LambdaFirewallRulesetRules,
    LambdaFirewallRulesetRulesArgs,
)
from components.lambda_instance import MAX_NAME_PREFIX_LENGTH, LambdaInstance, LambdaInstanceArgs
from components.pool_node import PoolNode, PoolNodeArgs
from components.versions import GPU_OPERATOR_CHART_REPO, GPU_OPERATOR_CHART_VERSION
from domain.cloud_init import (
    AddressSource,
    InvalidAgentSettings,
    check_agent_settings,
    k3s_agent_user_data,
)
from domain.gpu import NVIDIA_RUNTIME_CLASS, GpuPoolScheduling
from domain.gpu_pool import (
    OPERATOR_NAMESPACE,
    POOL_LABEL,
    POOL_TAINT,
    TIME_SLICING_CONFIG_KEY,
    TIME_SLICING_CONFIG_MAP,
    GpuPoolPlan,
    PoolPlanError,
    node_name,
    pool_tags,
    time_slicing_config,
)
from domain.gpu_pool import plan_gpu_pool as plan_pool
from domain.k3s_network import agent_firewall_rules

COMPONENT_TYPE = "sophia:index:GpuNodePool"
OPERATOR_CHART = "gpu-operator"
# Where the pool's address ConfigMap (node name -> instance `ip`, as the Lambda API reports it) and the
# account that may read it live: kube-system exists on every cluster, before anything of the stack.
ADDRESS_NAMESPACE = "kube-system"

# The stack key behind each pool setting, for errors that name the key to fix.
_POOL_KEYS = {
    "pool_name": "gpuPoolName",
    "instance_type": "gpuPoolInstanceType",
    "node_count": "gpuPoolNodeCount",
    "time_slicing_replicas": "gpuPoolTimeSlicingReplicas",
    "headroom_slices": "gpuPoolHeadroomSlices",
}
_SERVER_KEYS = {"replicas": "replicas", "gpu_share": "gpuShare"}


def _setting_key(setting: str, server: int | None) -> str:
    if setting in _SERVER_KEYS:
        index = "i" if server is None else str(server)
        return f"{PROJECT}:mcpServers[{index}].{_SERVER_KEYS[setting]}"
    return f"{PROJECT}:{_POOL_KEYS[setting]}"


def pool_config_error(error: PoolPlanError) -> StackConfigError:
    """The domain's error, with every setting it names written as its stack key."""
    return StackConfigError(error.render(_setting_key))


def plan_gpu_pool(pool: GpuPoolConfig, servers: list[McpServerConfig], region: str) -> GpuPoolPlan:
    """Size and price the pool for `servers`; raise StackConfigError naming the key of any inconsistency."""
    try:
        return plan_pool(pool, servers, region, MAX_NAME_PREFIX_LENGTH)
    except PoolPlanError as error:
        raise pool_config_error(error) from None


def gpu_operator_values(scheduling: GpuPoolScheduling) -> dict[str, Any]:
    """Values of the gpu-operator chart (deployments/gpu-operator/values.yaml in NVIDIA/gpu-operator).

    * `driver.enabled: false`: Lambda Stack images ship the NVIDIA driver ("pre-installed drivers" install).
    * `cdi.enabled: false`: from v25.10.0 the operator turns CDI on by default, and then the container
      runtime injects GPUs from CDI specs
      (docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/cdi.html: "Starting with GPU Operator
      v25.10.0, CDI is used by default ... CDI support in container runtimes, e.g. containerd and cri-o, is
      used to inject GPU(s)"). With the toolkit operand disabled nothing here
      generates those specs or enables CDI in k3s's containerd, so pods would start without their GPU.
      `cdi.enabled` is a documented chart option (install-gpu-operator.html, "Chart Customization Options");
      off, injection stays with the host's nvidia-container-runtime in legacy mode, which k3s registered as
      the `nvidia` handler this pool's RuntimeClass uses.
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
        "cdi": {"enabled": False},
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
    public_ips: pulumi.Output[list[str]]

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
        self.taint = POOL_TAINT
        self.runtime_class = scheduling.runtime_class
        self.replicas = scheduling.replicas_per_gpu
        self.slice_capacity = scheduling.slice_capacity
        self.hourly_cost_usd = plan.hourly_cost_usd
        child = pulumi.ResourceOptions(parent=self)

        # The documented k3s agent ports (domain/k3s_network.py), from the server's public address first: the
        # ruleset must exist before any instance, which names its rulesets at launch. Once the instances have
        # addresses, the same ports are opened to each other (the WireGuard mesh is all nodes to all nodes).
        server_ip = args.cluster.k3s_server_public_ip
        firewall = LambdaFirewallRuleset(
            f"{name}-firewall",
            LambdaFirewallRulesetArgs(
                api_key=args.lambda_cloud.api_key,
                name=f"sophia-{plan.pool}-k3s-agents",
                region=plan.region,
                rules=agent_firewall_rules(server_ip),
                base_url=args.lambda_cloud.api_base_url,
            ),
            opts=child,
        )
        address_source = self._address_source(name, args, child)
        nodes = [
            self._node(name, index, args, firewall, address_source, child) for index in range(plan.nodes)
        ]
        self.instance_ids = [node.instance_id for node in nodes]
        # The address the API reports for each instance, for a node that finds only a private one at boot.
        addresses = kubernetes.core.v1.ConfigMap(
            f"{name}-addresses",
            # Not labelled with the pool: to the pack, a ConfigMap so labelled is the time-slicing config.
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=address_config_map(plan.pool), namespace=ADDRESS_NAMESPACE
            ),
            # Keyed by node name, which is known at preview; the addresses are known once Lambda reports them.
            data={node_name(plan.pool, index): node.ip for index, node in enumerate(nodes)},
            opts=child,
        )
        mesh = LambdaFirewallRulesetRules(
            f"{name}-firewall-mesh",
            LambdaFirewallRulesetRulesArgs(
                api_key=args.lambda_cloud.api_key,
                ruleset_id=firewall.ruleset_id,
                rules=pulumi.Output.all(*[node.ip for node in nodes]).apply(
                    lambda ips: agent_firewall_rules(server_ip, sorted(str(ip) for ip in ips))
                ),
                base_rules=agent_firewall_rules(server_ip),
                base_url=args.lambda_cloud.api_base_url,
            ),
            opts=child,
        )
        # What other systems allow in from the pool (e.g. network policies of the services the MCP servers
        # call): every instance's public IPv4 address, as Lambda reports it.
        self.public_ips = pulumi.Output.all(*[node.ip for node in nodes]).apply(
            lambda ips: [str(ip) for ip in ips]
        )

        # A cluster that already runs the operator has its namespace; the pool only adds its ConfigMap there.
        operator_installed = args.cluster.gpu_operator_installed
        namespace_name: pulumi.Input[str] = OPERATOR_NAMESPACE
        if not operator_installed:
            namespace = kubernetes.core.v1.Namespace(
                f"{name}-operator-namespace",
                metadata=kubernetes.meta.v1.ObjectMetaArgs(
                    name=OPERATOR_NAMESPACE,
                    # The operands are privileged DaemonSets; GPU Operator install docs label the namespace so
                    # Pod Security Admission admits them.
                    labels={"pod-security.kubernetes.io/enforce": "privileged"},
                ),
                opts=child,
            )
            namespace_name = namespace.metadata.name
        time_slicing = kubernetes.core.v1.ConfigMap(
            f"{name}-time-slicing",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=TIME_SLICING_CONFIG_MAP,
                namespace=namespace_name,
                labels={POOL_LABEL: plan.pool},
            ),
            data={TIME_SLICING_CONFIG_KEY: time_slicing_config(plan.replicas_per_gpu)},
            opts=child,
        )
        operator: kubernetes.helm.v3.Release | None = None
        if not operator_installed:
            operator = kubernetes.helm.v3.Release(
                f"{name}-gpu-operator",
                kubernetes.helm.v3.ReleaseArgs(
                    name=OPERATOR_CHART,
                    chart=OPERATOR_CHART,
                    version=GPU_OPERATOR_CHART_VERSION,
                    repository_opts=kubernetes.helm.v3.RepositoryOptsArgs(repo=GPU_OPERATOR_CHART_REPO),
                    namespace=namespace_name,
                    values=gpu_operator_values(scheduling),
                ),
                # The device plugin reads the ConfigMap when it starts; created after it, it starts unshared.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[time_slicing]),
            )
        # One membership per instance: its create waits for the Node (joined, Ready, expected allocatable
        # nvidia.com/gpu), its delete cordons, drains and deletes the Node when the instance goes. The device
        # plugin only advertises slices once the operator runs with the time-slicing config.
        members = [
            PoolNode(
                f"{name}-node-{index}-member",
                PoolNodeArgs(
                    kubeconfig=args.cluster.kubeconfig,
                    instance_id=node.instance_id,
                    agent_name=node_name(plan.pool, index),
                    instance_ips=pulumi.Output.all(node.ip, node.private_ip).apply(
                        lambda ips: [str(ip) for ip in ips if ip]
                    ),
                    external_ip=node.ip,
                    expected_gpus=plan.slices_per_node,
                ),
                # The node reads its public address from `addresses` before it can join.
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[node, addresses, operator or time_slicing, time_slicing]
                ),
            )
            for index, node in enumerate(nodes)
        ]
        runtime_class = kubernetes.node.v1.RuntimeClass(
            f"{name}-runtime-class",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=scheduling.runtime_class, labels={POOL_LABEL: plan.pool}
            ),
            handler=NVIDIA_RUNTIME_CLASS,
            scheduling=kubernetes.node.v1.SchedulingArgs(
                node_selector=scheduling.node_selector,
                tolerations=[
                    kubernetes.core.v1.TolerationArgs(
                        key=t["key"], operator=t["operator"], effect=t["effect"]
                    )
                    for t in scheduling.tolerations
                ],
            ),
            # The pool's last step: created once every node has joined, is Ready and advertises its GPU
            # slices. Workloads wait for this one resource instead of every node, which keeps each
            # workload's dependency list short.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[operator or time_slicing, mesh, *members]),
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
                "publicIps": self.public_ips,
                "operatorChartVersion": operator.version if operator else "installed outside the stack",
            }
        )

    def _address_source(
        self, name: str, args: GpuNodePoolArgs, child: pulumi.ResourceOptions
    ) -> pulumi.Output[AddressSource]:
        """An account that may only read the pool's address ConfigMap, and its token for the user data."""
        config_map = address_config_map(args.plan.pool)
        metadata = kubernetes.meta.v1.ObjectMetaArgs(
            name=config_map, namespace=ADDRESS_NAMESPACE, labels={POOL_LABEL: args.plan.pool}
        )
        account = kubernetes.core.v1.ServiceAccount(
            f"{name}-address-reader", metadata=metadata, automount_service_account_token=False, opts=child
        )
        role = kubernetes.rbac.v1.Role(
            f"{name}-address-reader",
            metadata=metadata,
            rules=[
                kubernetes.rbac.v1.PolicyRuleArgs(
                    api_groups=[""], resources=["configmaps"], resource_names=[config_map], verbs=["get"]
                )
            ],
            opts=child,
        )
        binding = kubernetes.rbac.v1.RoleBinding(
            f"{name}-address-reader",
            metadata=metadata,
            role_ref=kubernetes.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.name
            ),
            subjects=[
                kubernetes.rbac.v1.SubjectArgs(
                    kind="ServiceAccount", name=account.metadata.name, namespace=ADDRESS_NAMESPACE
                )
            ],
            opts=child,
        )
        # A long-lived token Secret: the token controller fills in `token` and `ca.crt`, and the provider
        # waits until it has (pulumi-kubernetes pkg/await/awaiters.go `untilCoreV1SecretInitialized`;
        # kubernetes.io/docs/concepts/configuration/secret, "Service account token Secrets").
        token = kubernetes.core.v1.Secret(
            f"{name}-address-token",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=f"{config_map}-token",
                namespace=ADDRESS_NAMESPACE,
                labels={POOL_LABEL: args.plan.pool},
                annotations={"kubernetes.io/service-account.name": config_map},
            ),
            type="kubernetes.io/service-account-token",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, binding]),
        )
        # A Secret's `data` output is secret (pulumi-kubernetes marks it so), and so is all made from it.
        server_url = args.cluster.k3s_server_url
        return token.data.apply(lambda data: address_source(server_url, args.plan.pool, data))

    def _node(
        self,
        name: str,
        index: int,
        args: GpuNodePoolArgs,
        firewall: LambdaFirewallRuleset,
        address_source: pulumi.Output[AddressSource],
        child: pulumi.ResourceOptions,
    ) -> LambdaInstance:
        plan = args.plan
        agent_name = node_name(plan.pool, index)
        labels = dict(plan.scheduling.node_selector)
        taints = [POOL_TAINT]
        server_url = args.cluster.k3s_server_url
        user_data = pulumi.Output.all(args.cluster.k3s_join_token, address_source).apply(
            lambda values: k3s_agent_user_data(
                server_url,
                str(values[0]),
                agent_name,
                labels,
                taints,
                address_source=values[1],
                k3s_version=args.cluster.k3s_version,
            )
        )
        return LambdaInstance(
            f"{name}-node-{index}",
            LambdaInstanceArgs(
                api_key=args.lambda_cloud.api_key,
                region=plan.region,
                instance_type=plan.instance_type,
                ssh_key_name=args.lambda_cloud.ssh_key_name,
                name=agent_name,
                user_data=user_data,
                tags=dict(pool_tags(plan.pool)),
                firewall_ruleset_ids=[firewall.ruleset_id],
                base_url=args.lambda_cloud.api_base_url,
            ),
            opts=child,
        )


def address_config_map(pool: str) -> str:
    """The pool's address ConfigMap, its reader's ServiceAccount, Role and RoleBinding share this name."""
    return f"sophia-{pool}-addresses"


def address_source(server_url: str, pool: str, token_data: Mapping[str, str]) -> AddressSource:
    """Where a node reads its address: the ConfigMap's URL on the server the agent joins (k3s serves the
    Kubernetes API on the same port, docs.k3s.io/installation/requirements "Inbound Rules"), and the reader's
    token and the cluster CA from the token Secret's base64 `data`."""
    config_map = address_config_map(pool)
    url = f"{server_url.rstrip('/')}/api/v1/namespaces/{ADDRESS_NAMESPACE}/configmaps/{config_map}"
    return AddressSource(
        url=url,
        token=base64.b64decode(token_data["token"]).decode(),
        ca_cert=base64.b64decode(token_data["ca.crt"]).decode(),
    )


def _check_join_settings(args: GpuNodePoolArgs, index: int) -> None:
    try:
        check_agent_settings(
            args.cluster.k3s_server_url,
            node_name(args.plan.pool, index),
            args.plan.scheduling.node_selector,
            [POOL_TAINT],
            args.cluster.k3s_version,
        )
    except InvalidAgentSettings as error:
        source = _SETTING_SOURCE.get(error.setting, f"GPU node {index} join settings")
        raise StackConfigError(f"{source}: {error}") from None
