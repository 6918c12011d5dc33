"""GpuNodePool: the capacity and cost plan as plain functions, then the component under Pulumi's mocks."""

from __future__ import annotations

import base64
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from components.config import GpuPoolConfig, McpServerConfig, StackConfigError, load_stack_config
from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs, address_source, plan_gpu_pool
from components.versions import GPU_OPERATOR_CHART_REPO, GPU_OPERATOR_CHART_VERSION
from domain.gpu_pool import POOL_LABEL, GpuPoolPlan
from domain.lambda_catalog import PRICES_READ, instance_type_spec, load_catalog
from domain.lambda_tags import tag_problems
from offline.engine import InvalidStack
from offline.plan import UNKNOWN, Plan, ResourcePlan, Secret, redact
from offline.stack_files import SECRET_PLACEHOLDER_PREFIX
from tests.samples import record_on_production

A10 = "gpu_1x_a10"
A10_PRICE = instance_type_spec(A10).price_per_hour_usd
PRODUCTION_SHARES = {"ai-memory": 0.25, "snowflake-admin": 0.25, "linear": 0.25, "asana": 0.25, "gong": 0.25}
# Ten replicas at one A10 slice each (plus 2 headroom) fit on 3 A10s; one whole A10 per replica would be 10.
PRODUCTION_NODES = 3
WHOLE_GPU_NODES = 10
PRODUCTION_SAVING = (
    (WHOLE_GPU_NODES * A10_PRICE - PRODUCTION_NODES * A10_PRICE) / (WHOLE_GPU_NODES * A10_PRICE) * 100
).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _pool(**fields: Any) -> GpuPoolConfig:
    values: dict[str, Any] = {
        "gpuPoolName": "lambda-gpu",
        "gpuPoolInstanceType": A10,
        "gpuPoolNodeCount": "auto",
        "gpuPoolTimeSlicingReplicas": 4,
        "gpuPoolHeadroomSlices": 2,
    }
    values.update(fields)
    return GpuPoolConfig.model_validate(values)


def _server(name: str, share: float, replicas: int = 2) -> McpServerConfig:
    return McpServerConfig.model_validate(
        {
            "name": name,
            "image": f"ghcr.io/pay-ready/mcp-{name}",
            "tag": "1.0.0",
            "port": 9000,
            "replicas": replicas,
            "gpuShare": share,
        }
    )


def _production_servers() -> list[McpServerConfig]:
    return [_server(name, share) for name, share in PRODUCTION_SHARES.items()]


def _plan(pool: GpuPoolConfig | None = None, servers: list[McpServerConfig] | None = None) -> GpuPoolPlan:
    return plan_gpu_pool(pool or _pool(), _production_servers() if servers is None else servers, "us-east-1")


# --- the plan


def test_production_pool_is_three_a10_nodes_with_twelve_slices_for_ten_requested() -> None:
    plan = _plan()
    assert [server.slices_per_replica for server in plan.servers] == [1, 1, 1, 1, 1]
    assert plan.slices_used == 10
    assert plan.nodes == PRODUCTION_NODES
    assert plan.gpus_per_node == 1
    assert plan.slices_offered == 12
    assert plan.headroom_slices == 2


def test_production_cost_against_one_whole_gpu_per_replica() -> None:
    plan = _plan()
    assert plan.hourly_cost_usd == PRODUCTION_NODES * A10_PRICE
    assert plan.whole_gpu_hourly_cost_usd == WHOLE_GPU_NODES * A10_PRICE
    assert plan.saving_percent == PRODUCTION_SAVING
    assert plan.prices_read == PRICES_READ == load_catalog().prices_read


def test_plan_output_has_exactly_the_keys_the_preview_prints() -> None:
    output = _plan().to_output()
    assert set(output) == {
        "pool",
        "instanceType",
        "nodes",
        "gpusPerNode",
        "replicasPerGpu",
        "slicesOffered",
        "slicesUsed",
        "headroomSlices",
        "hourlyCostUsd",
        "wholeGpuHourlyCostUsd",
        "savingPercent",
        "pricesRead",
        "servers",
    }
    assert output["hourlyCostUsd"] == float(PRODUCTION_NODES * A10_PRICE)
    assert output["savingPercent"] == float(PRODUCTION_SAVING)
    assert output["servers"][0] == {
        "name": "ai-memory",
        "replicas": 2,
        "gpuShare": 0.25,
        "slicesPerReplica": 1,
    }
    assert json.loads(json.dumps(output)) == output


def test_scheduling_selects_the_pool_label_through_the_pool_runtime_class() -> None:
    scheduling = _plan().scheduling
    assert scheduling.node_selector == {POOL_LABEL: "lambda-gpu"} == {"sophia.ai/gpu-pool": "lambda-gpu"}
    assert scheduling.runtime_class == "nvidia-lambda-gpu"
    assert scheduling.replicas_per_gpu == 4
    assert scheduling.slice_capacity == 12
    assert scheduling.tolerations == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_fixed_node_count_is_kept_when_it_covers_the_demand() -> None:
    plan = _plan(_pool(gpuPoolNodeCount="5"))
    assert (plan.nodes, plan.slices_offered, plan.hourly_cost_usd) == (5, 20, 5 * A10_PRICE)


def test_multi_gpu_nodes_count_every_gpu() -> None:
    plan = _plan(_pool(gpuPoolInstanceType="gpu_8x_h100_sxm5"))
    price = instance_type_spec("gpu_8x_h100_sxm5").price_per_hour_usd
    assert (plan.nodes, plan.gpus_per_node, plan.slices_offered, plan.slices_used) == (1, 8, 32, 10)
    assert plan.hourly_cost_usd == price
    # Ten replicas with a whole GPU each need ten GPUs: two 8-GPU instances.
    assert plan.whole_gpu_hourly_cost_usd == 2 * price


def test_half_a_gpu_is_one_slice_on_a_pool_that_splits_each_gpu_in_two() -> None:
    servers = [_server(name, 0.5) for name in PRODUCTION_SHARES]
    plan = _plan(_pool(gpuPoolTimeSlicingReplicas=2), servers)
    assert [server.slices_per_replica for server in plan.servers] == [1, 1, 1, 1, 1]
    assert (plan.slices_used, plan.slices_offered, plan.nodes) == (10, 12, 6)


def _config_error(pool: GpuPoolConfig, servers: list[McpServerConfig] | None = None) -> str:
    with pytest.raises(StackConfigError) as raised:
        _plan(pool, servers)
    return str(raised.value)


def test_unknown_instance_type_names_the_key_and_the_known_types() -> None:
    message = _config_error(_pool(gpuPoolInstanceType="gpu_1x_b300"))
    assert "sophia-ai:gpuPoolInstanceType" in message
    assert "gpu_1x_b300" in message
    assert all(name in message for name in load_catalog().instance_types)


def test_fixed_node_count_below_demand_names_the_key_and_what_is_needed() -> None:
    message = _config_error(_pool(gpuPoolNodeCount="2"))
    assert "sophia-ai:gpuPoolNodeCount" in message
    assert "ask for 10" in message
    assert "at least 3" in message


def test_share_that_is_not_whole_slices_names_its_key() -> None:
    servers = [_server("ai-memory", 0.3), *_production_servers()[1:]]
    message = _config_error(_pool(), servers)
    assert "sophia-ai:mcpServers[0].gpuShare" in message


@pytest.mark.parametrize(("share", "slices"), [(0.5, 2), (1.0, 4), (2.0, 8)])
def test_a_share_of_more_than_one_slice_is_refused_naming_its_key_and_the_fixes(
    share: float, slices: int
) -> None:
    servers = [*_production_servers()[:2], _server("linear", share), *_production_servers()[3:]]
    message = _config_error(_pool(), servers)
    assert "sophia-ai:mcpServers[2].gpuShare (linear)" in message
    assert f"would be {slices} time slices" in message
    assert "no proportional compute" in message
    assert "failRequestsGreaterThanOne" in message
    assert "0.25" in message
    assert "sophia-ai:gpuPoolTimeSlicingReplicas" in message


def test_pool_name_too_long_for_lambda_instance_names_names_the_key() -> None:
    message = _config_error(_pool(gpuPoolName="p" * 60))
    assert "sophia-ai:gpuPoolName" in message


_REPLICAS_PER_GPU = st.sampled_from([1, 2, 4, 8])


@st.composite
def _sizing(draw: st.DrawFn) -> tuple[GpuPoolConfig, list[McpServerConfig]]:
    replicas_per_gpu = draw(_REPLICAS_PER_GPU)
    instance_type = draw(st.sampled_from(sorted(load_catalog().instance_types)))
    headroom = draw(st.integers(min_value=0, max_value=40))
    count = draw(st.integers(min_value=1, max_value=6))
    servers = [
        _server(f"server-{index}", 1 / replicas_per_gpu, draw(st.integers(min_value=1, max_value=8)))
        for index in range(count)
    ]
    pool = _pool(
        gpuPoolInstanceType=instance_type,
        gpuPoolTimeSlicingReplicas=replicas_per_gpu,
        gpuPoolHeadroomSlices=headroom,
    )
    return pool, servers


@given(_sizing())
def test_auto_sizing_is_the_fewest_nodes_covering_demand_and_headroom(
    sizing: tuple[GpuPoolConfig, list[McpServerConfig]],
) -> None:
    pool, servers = sizing
    plan = _plan(pool, servers)
    per_node = plan.gpus_per_node * plan.replicas_per_gpu
    needed = plan.slices_used + pool.headroom_slices
    assert all(server.slices_per_replica == 1 for server in plan.servers)
    assert plan.slices_used == sum(server.replicas for server in servers)
    assert plan.nodes * per_node >= needed
    assert (plan.nodes - 1) * per_node < needed
    assert plan.slices_offered == plan.nodes * per_node


# --- the component under mocks


def _record(
    overrides: dict[str, Any] | None = None, with_provider: bool = True
) -> tuple[Plan, dict[str, Any]]:
    built: dict[str, Any] = {}

    def program() -> None:
        config = load_stack_config()
        plan = plan_gpu_pool(config.gpu_pool, list(config.mcp.servers), config.lambda_cloud.region)
        opts = None
        if with_provider:
            provider = kubernetes.Provider("cluster", kubeconfig=config.cluster.kubeconfig)
            opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
        built["pool"] = GpuNodePool(
            "gpu",
            GpuNodePoolArgs(plan, config.lambda_cloud, config.cluster),
            opts,
        )
        pulumi.export("gpuPlan", plan.to_output())

    plan = record_on_production(program, overrides)
    return plan, built


@pytest.fixture(scope="module")
def recorded() -> tuple[Plan, dict[str, Any]]:
    return _record()


@pytest.fixture(scope="module")
def plan(recorded: tuple[Plan, dict[str, Any]]) -> Plan:
    return recorded[0]


def _of_type(plan: Plan, suffix: str) -> list[ResourcePlan]:
    return [resource for resource in plan.resources if resource.type.endswith(suffix)]


def _one(plan: Plan, suffix: str) -> ResourcePlan:
    (resource,) = _of_type(plan, suffix)
    return resource


def _nodes(plan: Plan) -> list[ResourcePlan]:
    return sorted(_of_type(plan, "lambdacloud:Instance"), key=lambda resource: resource.name)


def test_component_owns_every_child(plan: Plan) -> None:
    component = _one(plan, "sophia:index:GpuNodePool")
    children = [r for r in plan.resources if r.parent == component.urn]
    assert {r.name for r in children} == {
        "gpu-firewall",
        "gpu-firewall-mesh",
        "gpu-node-0",
        "gpu-node-1",
        "gpu-node-2",
        "gpu-node-0-member",
        "gpu-node-1-member",
        "gpu-node-2-member",
        "gpu-address-reader",
        "gpu-address-token",
        "gpu-addresses",
        "gpu-operator-namespace",
        "gpu-time-slicing",
        "gpu-gpu-operator",
        "gpu-runtime-class",
    }


def test_one_lambda_instance_per_planned_node(plan: Plan) -> None:
    nodes = _nodes(plan)
    assert [node.name for node in nodes] == [f"gpu-node-{index}" for index in range(PRODUCTION_NODES)]
    for index, node in enumerate(nodes):
        assert node.inputs["name"] == f"sophia-lambda-gpu-{index}"
        assert node.inputs["region"] == "us-east-1"
        assert node.inputs["instance_type"] == A10
        assert node.inputs["ssh_key_name"] == "sophia-ops"
        assert node.inputs["base_url"] == "https://cloud.lambda.ai/api/v1/"
        assert node.inputs["tags"] == {"sophia-ai:gpu-pool": "lambda-gpu", "managed-by": "pulumi"}
        assert tag_problems(node.inputs["tags"]) == []


def test_api_key_and_user_data_are_recorded_as_secrets(plan: Plan) -> None:
    for node in _nodes(plan):
        assert isinstance(node.inputs["api_key"], Secret)
        assert isinstance(node.inputs["user_data"], Secret)
    component = _one(plan, "sophia:index:GpuNodePool")
    children = [resource.inputs for resource in plan.resources if resource.parent == component.urn]
    assert SECRET_PLACEHOLDER_PREFIX not in json.dumps(redact(children))


def test_user_data_waits_for_the_address_readers_token_and_stays_secret(plan: Plan) -> None:
    """The user data holds the token the cluster mints for the address reader: unknown until it exists."""
    (token,) = [s for s in _of_type(plan, "core/v1:Secret") if s.name == "gpu-address-token"]
    for node in _nodes(plan):
        assert isinstance(node.inputs["user_data"], Secret)
        assert node.inputs["user_data"].value is UNKNOWN
        assert token.urn in node.property_dependencies["user_data"]


def test_the_address_reader_may_get_the_pools_address_config_map_and_nothing_else(plan: Plan) -> None:
    name = "sophia-lambda-gpu-addresses"
    (account,) = _of_type(plan, "core/v1:ServiceAccount")
    (role,) = _of_type(plan, "rbac.authorization.k8s.io/v1:Role")
    (binding,) = _of_type(plan, "rbac.authorization.k8s.io/v1:RoleBinding")
    for resource in (account, role, binding):
        assert resource.inputs["metadata"]["name"] == name
        assert resource.inputs["metadata"]["namespace"] == "kube-system"
    assert account.inputs["automountServiceAccountToken"] is False
    assert role.inputs["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [name], "verbs": ["get"]}
    ]
    assert binding.inputs["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": name,
    }
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": name, "namespace": "kube-system"}
    ]
    (token,) = [s for s in _of_type(plan, "core/v1:Secret") if s.name == "gpu-address-token"]
    assert token.inputs["type"] == "kubernetes.io/service-account-token"
    assert token.inputs["metadata"]["annotations"] == {"kubernetes.io/service-account.name": name}
    assert {account.urn, binding.urn} <= set(token.dependencies)


def test_the_addresses_the_api_reports_are_published_before_a_node_is_awaited(plan: Plan) -> None:
    (addresses,) = [c for c in _of_type(plan, "core/v1:ConfigMap") if c.name == "gpu-addresses"]
    assert addresses.inputs["metadata"] == {"name": "sophia-lambda-gpu-addresses", "namespace": "kube-system"}
    # Each node's name (its --node-name) -> its instance's ip, known once Lambda reports it.
    assert addresses.inputs["data"] == {f"sophia-lambda-gpu-{index}": UNKNOWN for index in range(3)}
    assert {node.urn for node in _nodes(plan)} <= set(addresses.dependencies)
    for member in _members(plan):
        assert addresses.urn in member.dependencies


def test_a_node_reads_its_address_from_the_server_it_joins_with_the_minted_token() -> None:
    ca = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2ln"
    data = {
        "token": base64.b64encode(token.encode()).decode(),
        "ca.crt": base64.b64encode(ca.encode()).decode(),
    }
    source = address_source("https://203.0.113.10:6443/", "lambda-gpu", data)
    assert source.url == (
        "https://203.0.113.10:6443/api/v1/namespaces/kube-system/configmaps/sophia-lambda-gpu-addresses"
    )
    assert (source.token, source.ca_cert) == (token, ca)


def test_kubernetes_resources_use_the_callers_provider_and_instances_do_not(plan: Plan) -> None:
    (provider,) = _of_type(plan, "providers:kubernetes")
    kubernetes = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert len(kubernetes) == 9
    assert all(resource.provider == provider.urn for resource in kubernetes)
    assert all(node.provider != provider.urn for node in _nodes(plan))


def _time_slicing_map(plan: Plan) -> ResourcePlan:
    (config_map,) = [c for c in _of_type(plan, "core/v1:ConfigMap") if c.name == "gpu-time-slicing"]
    return config_map


def _time_slicing(plan: Plan) -> dict[str, Any]:
    config_map = _time_slicing_map(plan)
    loaded = yaml.safe_load(config_map.inputs["data"]["config.yaml"])
    assert isinstance(loaded, dict)
    return loaded


def test_time_slicing_config_map_advertises_each_gpu_as_the_configured_replicas(plan: Plan) -> None:
    config_map = _time_slicing_map(plan)
    assert config_map.inputs["metadata"] == {
        "name": "time-slicing-config",
        "namespace": "gpu-operator",
        "labels": {"sophia.ai/gpu-pool": "lambda-gpu"},
    }
    config = _time_slicing(plan)
    assert config["version"] == "v1"
    assert config["flags"] == {"migStrategy": "none"}
    time_slicing = config["sharing"]["timeSlicing"]
    assert time_slicing["renameByDefault"] is False
    assert time_slicing["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    assert time_slicing["failRequestsGreaterThanOne"] is True


@pytest.mark.parametrize("replicas_per_gpu", [1, 2, 8])
def test_time_slicing_follows_the_configured_replicas_and_always_refuses_multi_slice_requests(
    replicas_per_gpu: int,
) -> None:
    servers = [
        _server(name, 1 / replicas_per_gpu).model_dump(mode="json", by_alias=True)
        for name in PRODUCTION_SHARES
    ]
    plan, _ = _record({"gpuPoolTimeSlicingReplicas": replicas_per_gpu, "mcpServers": servers})
    time_slicing = _time_slicing(plan)["sharing"]["timeSlicing"]
    assert time_slicing["resources"] == [{"name": "nvidia.com/gpu", "replicas": replicas_per_gpu}]
    assert time_slicing["failRequestsGreaterThanOne"] is True


def test_gpu_operator_release_is_pinned_and_points_at_the_time_slicing_config(plan: Plan) -> None:
    release = _one(plan, "helm.sh/v3:Release")
    config_map = _time_slicing_map(plan)
    inputs = release.inputs
    assert inputs["chart"] == "gpu-operator"
    assert inputs["version"] == GPU_OPERATOR_CHART_VERSION
    assert inputs["repositoryOpts"] == {"repo": GPU_OPERATOR_CHART_REPO}
    assert inputs["namespace"] == "gpu-operator"
    values = inputs["values"]
    assert values["driver"] == {"enabled": False}
    assert values["toolkit"] == {"enabled": False}
    assert values["dcgmExporter"] == {"enabled": True}
    plugin_config = values["devicePlugin"]["config"]
    assert plugin_config["name"] == config_map.inputs["metadata"]["name"]
    assert plugin_config["default"] in config_map.inputs["data"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["daemonsets"][
        "tolerations"
    ]
    assert config_map.urn in release.dependencies


def test_operator_namespace_admits_privileged_operands(plan: Plan) -> None:
    namespace = _one(plan, "core/v1:Namespace")
    assert namespace.inputs["metadata"] == {
        "name": "gpu-operator",
        "labels": {"pod-security.kubernetes.io/enforce": "privileged"},
    }


def test_runtime_class_uses_the_nvidia_handler_and_schedules_onto_the_pool(plan: Plan) -> None:
    runtime_class = _one(plan, "node.k8s.io/v1:RuntimeClass")
    assert runtime_class.inputs["handler"] == "nvidia"
    assert runtime_class.inputs["metadata"]["name"] == "nvidia-lambda-gpu"
    assert runtime_class.inputs["scheduling"] == {
        "nodeSelector": {"sophia.ai/gpu-pool": "lambda-gpu"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }


def test_component_exposes_what_the_mcp_servers_consume(recorded: tuple[Plan, dict[str, Any]]) -> None:
    plan, built = recorded
    pool: GpuNodePool = built["pool"]
    assert pool.scheduling == pool.plan.scheduling
    assert pool.node_label == {"sophia.ai/gpu-pool": "lambda-gpu"}
    assert pool.taint == "nvidia.com/gpu=present:NoSchedule"
    assert pool.runtime_class == _one(plan, "node.k8s.io/v1:RuntimeClass").inputs["metadata"]["name"]
    assert (pool.replicas, pool.slice_capacity) == (4, 12)
    assert pool.hourly_cost_usd == PRODUCTION_NODES * A10_PRICE
    assert len(pool.instance_ids) == PRODUCTION_NODES


def test_stack_output_is_the_plan(plan: Plan) -> None:
    output = plan.outputs["gpuPlan"]
    assert output["nodes"] == PRODUCTION_NODES
    assert output["slicesOffered"] == 12
    assert output["slicesUsed"] == 10
    assert output["wholeGpuHourlyCostUsd"] == float(WHOLE_GPU_NODES * A10_PRICE)
    assert output["savingPercent"] == float(PRODUCTION_SAVING)


def test_an_undersized_fixed_pool_stops_the_program_before_anything_is_registered() -> None:
    with pytest.raises(InvalidStack) as raised:
        _record({"gpuPoolNodeCount": "2"})
    assert "sophia-ai:gpuPoolNodeCount" in str(raised.value)
    assert raised.value.registered == 0


def test_half_a_gpu_on_a_four_slice_pool_stops_the_program_before_anything_is_registered() -> None:
    servers = [server.model_dump(mode="json", by_alias=True) for server in _production_servers()]
    servers[0]["gpuShare"] = 0.5
    with pytest.raises(InvalidStack) as raised:
        _record({"mcpServers": servers})
    message = str(raised.value)
    assert "sophia-ai:mcpServers[0].gpuShare (ai-memory)" in message
    assert "would be 2 time slices" in message
    assert raised.value.registered == 0


def test_the_pool_refuses_to_fall_back_to_an_ambient_kubeconfig() -> None:
    with pytest.raises(ValueError, match="kubernetes provider"):
        _record(with_provider=False)


def _members(plan: Plan) -> list[ResourcePlan]:
    return sorted(_of_type(plan, "k3s:PoolNode"), key=lambda resource: resource.name)


def test_the_pool_is_ready_only_after_every_node_joined_with_its_slices(plan: Plan) -> None:
    runtime_class = _one(plan, "node.k8s.io/v1:RuntimeClass")
    operator = _one(plan, "helm.sh/v3:Release")
    config_map = _time_slicing_map(plan)
    members = _members(plan)
    assert [member.name for member in members] == [f"gpu-node-{index}-member" for index in range(3)]
    assert {member.urn for member in members} <= set(runtime_class.dependencies)
    assert operator.urn in runtime_class.dependencies
    for member, node in zip(members, _nodes(plan), strict=True):
        # Each membership waits for its own instance and for the device plugin with the pool's config.
        assert {node.urn, operator.urn, config_map.urn} <= set(member.dependencies)
        assert member.inputs["agent_name"] == node.inputs["name"]
        # One A10 advertised four times.
        assert member.inputs["expected_gpus"] == 4
        assert isinstance(member.inputs["kubeconfig"], Secret)


def test_every_instance_launches_behind_the_pool_firewall(plan: Plan) -> None:
    firewall = _one(plan, "lambdacloud:FirewallRuleset")
    assert firewall.inputs["region"] == "us-east-1"
    assert firewall.inputs["name"] == "sophia-lambda-gpu-k3s-agents"
    assert isinstance(firewall.inputs["api_key"], Secret)
    ports = {
        (rule["protocol"], tuple(rule["port_range"]), rule["source_network"])
        for rule in firewall.inputs["rules"]
    }
    assert ports == {("udp", (51820, 51820), "203.0.113.10/32"), ("tcp", (10250, 10250), "203.0.113.10/32")}
    for node in _nodes(plan):
        assert firewall.urn in node.dependencies
        assert len(node.inputs["firewall_ruleset_ids"]) == 1
    # Once the instances have addresses, the same ports open between them; the pool is ready after that.
    mesh = _one(plan, "lambdacloud:FirewallRulesetRules")
    assert {firewall.urn, *(node.urn for node in _nodes(plan))} <= set(mesh.dependencies)
    assert mesh.inputs["base_rules"] == firewall.inputs["rules"]
    assert mesh.urn in _one(plan, "node.k8s.io/v1:RuntimeClass").dependencies


def test_the_operator_leaves_gpu_injection_to_the_host_runtime(plan: Plan) -> None:
    values = _one(plan, "helm.sh/v3:Release").inputs["values"]
    assert values["cdi"] == {"enabled": False}
    assert values["toolkit"] == {"enabled": False}


def test_the_pool_exposes_its_instances_public_ips(recorded: tuple[Plan, dict[str, Any]]) -> None:
    _, built = recorded
    pool: GpuNodePool = built["pool"]
    assert isinstance(pool.public_ips, pulumi.Output)
