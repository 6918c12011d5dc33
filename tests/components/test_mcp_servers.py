"""McpServers under Pulumi's mocks: releases and GPU slices, the Snowflake Secret, Ingress, capacity."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import pytest
import yaml

from components.config import McpServerConfig, StackConfigError, load_stack_config
from components.mcp_servers import (
    McpServers,
    McpServersArgs,
    SnowflakeConnection,
    check_gpu_capacity,
    release_values,
)
from domain.gpu import GpuPoolScheduling
from domain.gpu_pool import PoolPlanError, ServerDemand, server_demand
from harness.paths import PROJECT_DIR
from offline.engine import InvalidStack
from offline.plan import Plan, ResourcePlan, Secret
from tests.samples import GPU_TOLERATION, SCHEDULING, record_on_production

PRODUCTION_FILE = PROJECT_DIR / "Pulumi.production.yaml"
CHART_FILE = PROJECT_DIR / "charts" / "sophia-mcp" / "Chart.yaml"

CANONICAL_HOST = "uhdecno-cvb64222.snowflakecomputing.com"
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nTESTONLY\n-----END PRIVATE KEY-----\n"
SECRET_NAME = "sophia-mcp-snowflake"
KEY_SECRET_NAME = "sophia-mcp-snowflake-key"
PRODUCTION_SLICES = {"ai-memory": 1, "snowflake-admin": 1, "linear": 1, "asana": 1, "gong": 1}


def _snowflake() -> SnowflakeConnection:
    return SnowflakeConnection(
        host=CANONICAL_HOST,
        account="UHDECNO-CVB64222",
        database="SOPHIA_AI",
        warehouse="SOPHIA_AI_WH",
        schema="APP",
        role="SOPHIA_MCP_SERVER",
        user="SOPHIA_MCP_SVC",
        private_key=pulumi.Output.secret(PRIVATE_KEY),
    )


def _program(
    scheduling: GpuPoolScheduling = SCHEDULING,
    with_provider: bool = True,
    with_gpu_pool: bool = False,
    **arg_overrides: Any,
) -> Callable[[], None]:
    def program() -> None:
        provider = (
            kubernetes.Provider("cluster", kubeconfig="offline-test-kubeconfig") if with_provider else None
        )
        extra_args = dict(arg_overrides)
        if with_gpu_pool:
            extra_args["gpu_pool_ready"] = kubernetes.node.v1.RuntimeClass(
                "gpu-pool-runtime", handler="nvidia", opts=pulumi.ResourceOptions(provider=provider)
            )
        args = McpServersArgs(
            config=load_stack_config().mcp, scheduling=scheduling, snowflake=_snowflake(), **extra_args
        )
        servers = McpServers("mcp", args, pulumi.ResourceOptions(provider=provider))
        pulumi.export("endpoints", servers.endpoints)
        pulumi.export("namespace", servers.namespace)
        pulumi.export("releases", servers.releases)

    return program


def _run(program: Callable[[], None], **config_overrides: Any) -> Plan:
    return record_on_production(program, config_overrides)


def _production_servers() -> list[dict[str, Any]]:
    stack = yaml.safe_load(PRODUCTION_FILE.read_text())
    servers: list[dict[str, Any]] = stack["config"]["sophia-ai:mcpServers"]
    return servers


def _load_servers() -> list[McpServerConfig]:
    return [McpServerConfig.model_validate(server) for server in _production_servers()]


def _with_server_change(index: int, **change: Any) -> list[dict[str, Any]]:
    servers = copy.deepcopy(_production_servers())
    servers[index].update(change)
    return servers


@pytest.fixture(scope="module")
def plan() -> Plan:
    return _run(_program())


def _of_type(plan: Plan, suffix: str) -> list[ResourcePlan]:
    return [resource for resource in plan.resources if resource.type.endswith(suffix)]


def _releases(plan: Plan) -> dict[str, ResourcePlan]:
    return {release.inputs["name"]: release for release in _of_type(plan, "helm.sh/v3:Release")}


def test_one_release_of_the_repository_chart_per_server(plan: Plan) -> None:
    releases = _releases(plan)
    assert sorted(releases) == sorted(server["name"] for server in _production_servers())
    chart_version = yaml.safe_load(CHART_FILE.read_text())["version"]
    for name, release in releases.items():
        assert release.name == f"mcp-{name}"
        assert release.inputs["chart"] == "charts/sophia-mcp"
        assert (PROJECT_DIR / release.inputs["chart"]) == CHART_FILE.parent
        assert release.inputs["version"] == chart_version
        assert release.inputs["namespace"] == "mcp"
        assert release.inputs["atomic"] is True
        assert "skipAwait" not in release.inputs


def test_release_values_are_the_pure_values_as_built(plan: Plan) -> None:
    servers = {server.name: server for server in _load_servers()}
    for name, release in _releases(plan).items():
        assert release.inputs["values"] == release_values(servers[name], SCHEDULING, SECRET_NAME)


def test_each_replica_takes_exactly_one_gpu_slice(plan: Plan) -> None:
    for name, release in _releases(plan).items():
        resources = release.inputs["values"]["resources"]
        assert resources["limits"]["nvidia.com/gpu"] == PRODUCTION_SLICES[name]
        assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"]
        assert {"cpu", "memory"} <= set(resources["requests"]) & set(resources["limits"])


def test_servers_are_placed_on_the_gpu_pool(plan: Plan) -> None:
    for release in _releases(plan).values():
        values = release.inputs["values"]
        assert values["nodeSelector"] == {"sophia.ai/gpu-pool": "lambda-gpu"}
        assert values["tolerations"] == [GPU_TOLERATION]
        assert values["runtimeClassName"] == "nvidia"


def test_servers_speak_streamable_http_and_admit_ingress_nginx(plan: Plan) -> None:
    for release in _releases(plan).values():
        values = release.inputs["values"]
        assert {"name": "MCP_TRANSPORT", "value": "streamable-http"} in values["env"]
        assert {"name": "MCP_PATH", "value": "/mcp"} in values["env"]
        assert values["networkPolicy"]["ingressControllerNamespace"] == "ingress-nginx"
        assert values["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
        assert values["secretName"] == SECRET_NAME
        assert values["snowflakeKey"] == {"secretName": KEY_SECRET_NAME}


def test_namespace_enforces_the_restricted_pod_security_standard(plan: Plan) -> None:
    (namespace,) = _of_type(plan, "core/v1:Namespace")
    assert namespace.inputs["metadata"]["name"] == "mcp"
    labels = namespace.inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_every_child_uses_the_callers_provider_under_the_component(plan: Plan) -> None:
    (provider,) = _of_type(plan, "providers:kubernetes")
    (component,) = _of_type(plan, "sophia:index:McpServers")
    children = [resource for resource in plan.resources if resource.type.startswith("kubernetes:")]
    assert len(children) == 1 + 2 + len(PRODUCTION_SLICES) + 1
    for child in children:
        assert child.parent == component.urn
        assert child.provider == provider.urn
        assert child.name.startswith("mcp-")


def _secret(plan: Plan, name: str) -> ResourcePlan:
    (secret,) = [s for s in _of_type(plan, "core/v1:Secret") if s.inputs["metadata"]["name"] == name]
    return secret


def test_snowflake_secret_is_secret_and_names_the_canonical_host(plan: Plan) -> None:
    secret = _secret(plan, SECRET_NAME)
    assert secret.inputs["metadata"] == {"name": SECRET_NAME, "namespace": "mcp"}
    string_data = secret.inputs["stringData"]
    assert isinstance(string_data, Secret)
    settings = string_data.value
    assert settings["SNOWFLAKE_HOST"] == CANONICAL_HOST
    assert settings["SNOWFLAKE_ACCOUNT"] == "UHDECNO-CVB64222"
    assert settings["SNOWFLAKE_AUTHENTICATOR"] == "SNOWFLAKE_JWT"
    assert settings["SNOWFLAKE_DATABASE"] == "SOPHIA_AI"
    assert settings["SNOWFLAKE_WAREHOUSE"] == "SOPHIA_AI_WH"
    assert settings["SNOWFLAKE_SCHEMA"] == "APP"
    assert settings["SNOWFLAKE_ROLE"] == "SOPHIA_MCP_SERVER"
    assert settings["SNOWFLAKE_USER"] == "SOPHIA_MCP_SVC"
    assert "data" not in secret.inputs


def test_the_private_key_is_in_a_secret_of_its_own_never_in_the_settings_loaded_as_env(plan: Plan) -> None:
    settings = _secret(plan, SECRET_NAME).inputs["stringData"].value
    assert PRIVATE_KEY not in settings.values()
    assert not any("PRIVATE_KEY" in name for name in settings)
    key = _secret(plan, KEY_SECRET_NAME)
    assert key.inputs["metadata"] == {"name": KEY_SECRET_NAME, "namespace": "mcp"}
    assert isinstance(key.inputs["stringData"], Secret)
    assert key.inputs["stringData"].value == {"rsa_key.p8": PRIVATE_KEY}


def test_releases_wait_for_the_secrets_they_load(plan: Plan) -> None:
    for secret in _of_type(plan, "core/v1:Secret"):
        for release in _releases(plan).values():
            assert secret.urn in release.dependencies


def test_releases_wait_for_the_gpu_pool_they_schedule_onto() -> None:
    plan = _run(_program(with_gpu_pool=True))
    (pool,) = _of_type(plan, "node.k8s.io/v1:RuntimeClass")
    for release in _releases(plan).values():
        assert pool.urn in release.dependencies


def test_ingress_routes_each_server_endpoint_to_its_service_over_tls(plan: Plan) -> None:
    (ingress,) = _of_type(plan, "networking.k8s.io/v1:Ingress")
    assert ingress.inputs["metadata"]["namespace"] == "mcp"
    spec = ingress.inputs["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["mcp.sophia-ai.internal"], "secretName": "mcp-sophia-ai-tls"}]
    (rule,) = spec["rules"]
    assert rule["host"] == "mcp.sophia-ai.internal"
    routes = {path["path"]: path for path in rule["http"]["paths"]}
    assert set(routes) == {f"/{server['name']}/mcp" for server in _production_servers()}
    for server in _production_servers():
        route = routes[f"/{server['name']}/mcp"]
        assert route["pathType"] == "Exact"
        assert route["backend"]["service"] == {
            "name": f"{server['name']}-sophia-mcp",
            "port": {"number": server["port"]},
        }


def test_ingress_has_no_cookie_affinity_and_rewrites_to_the_mcp_endpoint(plan: Plan) -> None:
    (ingress,) = _of_type(plan, "networking.k8s.io/v1:Ingress")
    annotations = ingress.inputs["metadata"]["annotations"]
    # ingress-nginx's sticky balancer would win over the edge's upstream-hash-by (balancer.lua).
    assert "nginx.ingress.kubernetes.io/affinity" not in annotations
    assert annotations["nginx.ingress.kubernetes.io/rewrite-target"] == "/mcp"


def test_outputs_name_the_endpoints_namespace_and_releases(plan: Plan) -> None:
    names = [server["name"] for server in _production_servers()]
    assert plan.outputs["endpoints"] == {name: f"https://mcp.sophia-ai.internal/{name}/mcp" for name in names}
    assert plan.outputs["namespace"] == "mcp"
    assert plan.outputs["releases"] == names


def test_a_single_replica_server_gets_no_disruption_budget() -> None:
    plan = _run(_program(), mcpServers=_with_server_change(2, replicas=1))
    values = _releases(plan)["linear"].inputs["values"]
    assert values["replicaCount"] == 1
    assert values["podDisruptionBudget"] == {"enabled": False}


@pytest.mark.parametrize(("share", "slices"), [(0.5, 2), (1, 4), (2, 8)])
def test_a_share_of_more_than_one_slice_is_refused_before_anything_is_created(
    share: float, slices: int
) -> None:
    with pytest.raises(InvalidStack) as raised:
        _run(_program(), mcpServers=_with_server_change(1, gpuShare=share))
    message = str(raised.value)
    assert "sophia-ai:mcpServers[1].gpuShare (snowflake-admin)" in message
    assert f"would be {slices} time slices per replica" in message
    assert "no proportional compute" in message
    assert "refuses any request above one slice" in message
    assert "use the pool's share, 0.25" in message
    assert "sophia-ai:gpuPoolTimeSlicingReplicas" in message
    assert "e.g. 2 for half GPUs" in message
    # Only the caller's provider exists: the component and its children were never registered.
    assert raised.value.registered == 1


def test_half_a_gpu_is_one_slice_on_a_pool_that_splits_each_gpu_in_two() -> None:
    halves = GpuPoolScheduling(**{**SCHEDULING.__dict__, "replicas_per_gpu": 2})
    servers = [{**server, "gpuShare": 0.5} for server in _production_servers()]
    plan = _run(_program(halves), mcpServers=servers)
    for release in _releases(plan).values():
        assert release.inputs["values"]["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_demand_above_the_pool_capacity_is_refused_naming_the_node_count() -> None:
    small_pool = GpuPoolScheduling(**{**SCHEDULING.__dict__, "slice_capacity": 8})
    with pytest.raises(InvalidStack) as raised:
        _run(_program(small_pool))
    message = str(raised.value)
    assert "10 GPU time slices" in message
    assert "offers 8" in message
    assert "sophia-ai:gpuPoolNodeCount" in message
    assert raised.value.registered == 1


def test_a_share_that_is_not_whole_slices_on_the_pool_is_refused() -> None:
    three_slices = GpuPoolScheduling(**{**SCHEDULING.__dict__, "replicas_per_gpu": 3})
    with pytest.raises(InvalidStack, match=r"sophia-ai:mcpServers\[0\]\.gpuShare \(ai-memory\)") as raised:
        _run(_program(three_slices))
    assert "not a whole number of time slices" in str(raised.value)
    assert raised.value.registered == 1


def test_a_server_name_too_long_for_a_helm_release_is_refused() -> None:
    long_name = "x" * 54
    with pytest.raises(InvalidStack, match=r"sophia-ai:mcpServers\[4\]\.name 'x{54}' has 54 characters"):
        _run(_program(), mcpServers=_with_server_change(4, name=long_name))


def test_without_an_explicit_provider_nothing_is_deployed() -> None:
    with pytest.raises(ValueError, match="explicit Kubernetes provider"):
        _run(_program(with_provider=False))


def test_gpu_demand_is_one_slice_per_replica() -> None:
    assert server_demand(_load_servers(), 4) == [
        ServerDemand(name=name, replicas=2, gpu_share=0.25, slices_per_replica=1)
        for name in PRODUCTION_SLICES
    ]
    assert sum(demand.slices for demand in server_demand(_load_servers(), 4)) == 10


def test_gpu_demand_refuses_the_production_shares_on_a_pool_with_finer_slices() -> None:
    with pytest.raises(PoolPlanError) as raised:
        server_demand(_load_servers(), 8)
    assert (raised.value.setting, raised.value.server) == ("gpu_share", 0)
    finer = GpuPoolScheduling(**{**SCHEDULING.__dict__, "replicas_per_gpu": 8})
    with pytest.raises(
        StackConfigError, match=r"mcpServers\[0\]\.gpuShare \(ai-memory\) is 0\.25, which would be 2"
    ):
        check_gpu_capacity(_load_servers(), finer)


def test_capacity_check_counts_one_slice_per_replica_against_the_pool() -> None:
    exact = GpuPoolScheduling(**{**SCHEDULING.__dict__, "slice_capacity": 10})
    assert sum(demand.slices for demand in check_gpu_capacity(_load_servers(), exact)) == 10
    short = GpuPoolScheduling(**{**SCHEDULING.__dict__, "slice_capacity": 9})
    with pytest.raises(StackConfigError, match="need 10 GPU time slices"):
        check_gpu_capacity(_load_servers(), short)
