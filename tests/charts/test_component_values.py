"""The values McpServers hands each Helm release, rendered and linted by the real helm binary.

The component's tests see the values as Pulumi inputs; these tests check that the chart accepts exactly
those values and that what it renders is valid Kubernetes carrying the GPU slices and the pool placement,
and that the Service it names is the one the component's Ingress routes to.
"""

from __future__ import annotations

import functools
from typing import Any

import kubernetes_validate
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.config import McpServerConfig, StackConfigError
from components.mcp_servers import (
    SNOWFLAKE_KEY_SECRET_NAME,
    SNOWFLAKE_SECRET_NAME,
    check_gpu_capacity,
    public_path,
    release_values,
    service_name,
)
from domain.gpu import GpuPoolScheduling
from harness.helm_tool import helm_lint, helm_template
from harness.paths import PROJECT_DIR
from tests.samples import GPU_TOLERATION, SCHEDULING

KUBERNETES_VERSION = "1.31.0"
NAMESPACE = "mcp"


def _production_servers() -> list[McpServerConfig]:
    stack = yaml.safe_load((PROJECT_DIR / "Pulumi.production.yaml").read_text())
    return [McpServerConfig.model_validate(server) for server in stack["config"]["sophia-ai:mcpServers"]]


PRODUCTION_SERVERS = {server.name: server for server in _production_servers()}


def _values(server: McpServerConfig, scheduling: GpuPoolScheduling = SCHEDULING) -> dict[str, Any]:
    return release_values(server, scheduling, SNOWFLAKE_SECRET_NAME)


def _server(share: float, replicas: int = 2, port: int = 9000) -> McpServerConfig:
    return McpServerConfig.model_validate(
        {
            "name": "generated",
            "image": "ghcr.io/pay-ready/mcp-generated",
            "tag": "1.0.0",
            "port": port,
            "replicas": replicas,
            "gpuShare": share,
        }
    )


@functools.cache
def _rendered(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(helm_template(_values(PRODUCTION_SERVERS[name]), release=name, namespace=NAMESPACE))


def _only(manifests: tuple[dict[str, Any], ...] | list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matching = [manifest for manifest in manifests if manifest["kind"] == kind]
    assert len(matching) == 1, f"expected one {kind}, got {[manifest['kind'] for manifest in manifests]}"
    return matching[0]


def _pod_spec(manifests: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = _only(manifests, "Deployment")["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("name", sorted(PRODUCTION_SERVERS))
def test_component_values_pass_strict_lint(name: str) -> None:
    helm_lint(_values(PRODUCTION_SERVERS[name]))


@pytest.mark.parametrize("name", sorted(PRODUCTION_SERVERS))
def test_every_rendered_manifest_is_valid_kubernetes(name: str) -> None:
    manifests = _rendered(name)
    assert {manifest["kind"] for manifest in manifests} >= {"Deployment", "Service", "PodDisruptionBudget"}
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("name", sorted(PRODUCTION_SERVERS))
def test_deployment_takes_one_gpu_slice_on_the_gpu_pool(name: str) -> None:
    spec = _pod_spec(_rendered(name))
    (container,) = spec["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert GPU_TOLERATION in spec["tolerations"]
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["nodeSelector"] == {"sophia.ai/gpu-pool": "lambda-gpu"}


def test_every_production_server_takes_a_quarter_gpu_as_one_slice() -> None:
    assert {server.gpu_share for server in PRODUCTION_SERVERS.values()} == {0.25}
    limits = {
        name: _pod_spec(_rendered(name))["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]
        for name in PRODUCTION_SERVERS
    }
    assert limits == {"ai-memory": 1, "snowflake-admin": 1, "linear": 1, "asana": 1, "gong": 1}


@pytest.mark.parametrize("name", sorted(PRODUCTION_SERVERS))
def test_the_service_is_the_one_the_ingress_routes_to(name: str) -> None:
    server = PRODUCTION_SERVERS[name]
    service = _only(_rendered(name), "Service")
    assert service["metadata"]["name"] == service_name(name)
    assert [port["port"] for port in service["spec"]["ports"]] == [server.port]
    # The chart's own record of its endpoint is what the Ingress rewrites the public path onto.
    assert service["metadata"]["annotations"]["sophia.ai/mcp-path"] == "/mcp"
    assert public_path(name) == f"/{name}/mcp"


KEY_FILE = "/var/run/secrets/snowflake/rsa_key.p8"


@pytest.mark.parametrize("name", sorted(PRODUCTION_SERVERS))
def test_the_server_reads_snowflake_from_the_secret_and_speaks_streamable_http(name: str) -> None:
    (container,) = _pod_spec(_rendered(name))["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": SNOWFLAKE_SECRET_NAME}}]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env == {
        "MCP_TRANSPORT": "streamable-http",
        "MCP_PATH": "/mcp",
        "SNOWFLAKE_PRIVATE_KEY_FILE": KEY_FILE,
        "SNOWFLAKE_PRIVATE_KEY_PATH": KEY_FILE,
    }


@pytest.mark.parametrize("name", sorted(PRODUCTION_SERVERS))
def test_the_private_key_is_a_read_only_owner_read_file_not_an_environment_variable(name: str) -> None:
    pod = _pod_spec(_rendered(name))
    (container,) = pod["containers"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "snowflake-key"]
    assert volume["secret"] == {
        "secretName": SNOWFLAKE_KEY_SECRET_NAME,
        "defaultMode": 0o400,
        "items": [{"key": "rsa_key.p8", "path": "rsa_key.p8"}],
    }
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "snowflake-key"]
    assert mount == {"name": "snowflake-key", "mountPath": "/var/run/secrets/snowflake", "readOnly": True}
    # The pod's fsGroup is what lets the server's group read a 0400 secret file (the kubelet adds g+r).
    assert pod["securityContext"]["fsGroup"] == container["securityContext"]["runAsUser"]


@pytest.mark.parametrize("name", sorted(PRODUCTION_SERVERS))
def test_only_ingress_nginx_may_reach_the_server(name: str) -> None:
    policy = _only(_rendered(name), "NetworkPolicy")
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]


@pytest.mark.parametrize("name", sorted(PRODUCTION_SERVERS))
def test_a_drain_may_evict_one_replica_at_a_time(name: str) -> None:
    budget = _only(_rendered(name), "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == PRODUCTION_SERVERS[name].replicas - 1


def test_a_single_replica_server_lints_and_renders_without_a_disruption_budget() -> None:
    server = PRODUCTION_SERVERS["linear"].model_copy(update={"replicas": 1})
    helm_lint(_values(server))
    manifests = helm_template(_values(server), release=server.name, namespace=NAMESPACE)
    assert "PodDisruptionBudget" not in {manifest["kind"] for manifest in manifests}
    assert _only(manifests, "Deployment")["spec"]["replicas"] == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    replicas_per_gpu=st.sampled_from([1, 2, 4, 8]),
    replicas=st.integers(min_value=1, max_value=4),
    port=st.integers(min_value=1024, max_value=65535),
)
def test_the_pools_share_renders_as_one_slice(replicas_per_gpu: int, replicas: int, port: int) -> None:
    scheduling = GpuPoolScheduling(**{**SCHEDULING.__dict__, "replicas_per_gpu": replicas_per_gpu})
    server = _server(1 / replicas_per_gpu, replicas, port)
    check_gpu_capacity([server], scheduling)
    deployment = _only(
        helm_template(_values(server, scheduling), release=server.name, namespace=NAMESPACE), "Deployment"
    )
    kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert deployment["spec"]["replicas"] == replicas


def test_a_two_slice_share_is_refused_before_any_values_are_built() -> None:
    with pytest.raises(
        StackConfigError, match=r"gpuShare \(generated\) is 0\.5, which would be 2 time slices"
    ):
        check_gpu_capacity([_server(0.5)], SCHEDULING)


def test_a_server_pinned_by_digest_runs_that_build() -> None:
    digest = "sha256:" + "0d" * 32
    server = PRODUCTION_SERVERS["gong"].model_copy(update={"digest": digest})
    (deployment,) = [m for m in helm_template(_values(server), release="gong") if m["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/pay-ready/mcp-gong@{digest}"


def test_a_digest_that_is_not_sha256_is_refused_by_the_config() -> None:
    with pytest.raises(ValueError, match="not a sha256 digest"):
        McpServerConfig.model_validate(
            {**PRODUCTION_SERVERS["gong"].model_dump(by_alias=True), "digest": "sha256:0d0d"}
        )
