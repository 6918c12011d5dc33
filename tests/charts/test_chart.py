"""The sophia-mcp chart, rendered and linted by the real helm binary.

Every manifest the five production releases render must be valid Kubernetes, and the values a user could
get wrong (the GPU quantity, a mutable image tag, a weakened security context, a credential in plain text)
must make helm itself fail, because the Pulumi Release hands these values to helm and nothing else checks
them first.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import kubernetes_validate
import pytest

from harness.helm_tool import HelmError, helm_lint, helm_template
from tests.samples import GPU_TOLERATION

SERVER_PORTS = {"ai-memory": 9000, "snowflake-admin": 8080, "linear": 3002, "asana": 3001, "gong": 3004}
SERVERS = sorted(SERVER_PORTS)

GPU_POOL_SELECTOR = {"sophia.ai/gpu-pool": "lambda-gpu"}
INGRESS_NAMESPACE = "ingress-nginx"
AGENT_CLIENT = {"app.kubernetes.io/name": "sophia-agent"}

# The oldest Kubernetes the stack supports and the newest the installed schemas know.
KUBERNETES_VERSIONS = ("1.31.0", kubernetes_validate.latest_version())


def production_values(server: str) -> dict[str, Any]:
    return {
        "image": {"repository": f"ghcr.io/sophia-ai/mcp-{server}", "tag": "1.4.2"},
        "replicaCount": 2,
        "service": {"port": SERVER_PORTS[server]},
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": 1},
            "limits": {"memory": "4Gi", "nvidia.com/gpu": 1},
        },
        "nodeSelector": GPU_POOL_SELECTOR,
        "tolerations": [GPU_TOLERATION],
        "runtimeClassName": "nvidia",
        "secretName": f"{server}-snowflake",
        "networkPolicy": {"ingressControllerNamespace": INGRESS_NAMESPACE, "allowedClients": [AGENT_CLIENT]},
    }


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


@functools.cache
def _rendered(server: str) -> tuple[dict[str, Any], ...]:
    return tuple(helm_template(production_values(server), release=server))


def rendered(server: str) -> list[dict[str, Any]]:
    return copy.deepcopy(list(_rendered(server)))


def only(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matching = [m for m in manifests if m["kind"] == kind]
    assert len(matching) == 1, f"expected one {kind}, got {[m['kind'] for m in manifests]}"
    return matching[0]


def pod_spec(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = only(manifests, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    containers = pod_spec(manifests)["containers"]
    assert len(containers) == 1
    only_container: dict[str, Any] = containers[0]
    return only_container


def assert_helm_rejects(values: dict[str, Any], *expected_fragments: str) -> None:
    """helm template fails, and for the expected reason (so an unrelated breakage cannot pass the test)."""
    with pytest.raises(HelmError) as failure:
        helm_template(values)
    for fragment in expected_fragments:
        assert fragment in str(failure.value)


# Lint


def test_default_values_pass_strict_lint() -> None:
    assert "0 chart(s) failed" in helm_lint({})


@pytest.mark.parametrize("server", SERVERS)
def test_production_values_pass_strict_lint(server: str) -> None:
    assert "0 chart(s) failed" in helm_lint(production_values(server))


def test_strict_lint_applies_the_schema() -> None:
    with pytest.raises(HelmError) as failure:
        helm_lint(merged(production_values("gong"), {"resources": {"limits": {"nvidia.com/gpu": 0.25}}}))
    assert "nvidia.com~1gpu" in str(failure.value)


# Rendered manifests


@pytest.mark.parametrize("kubernetes_version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("server", SERVERS)
def test_every_rendered_manifest_is_valid_kubernetes(server: str, kubernetes_version: str) -> None:
    manifests = rendered(server)
    assert sorted(m["kind"] for m in manifests) == [
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]
    for manifest in manifests:
        kubernetes_validate.validate(manifest, kubernetes_version, strict=True)


@pytest.mark.parametrize("server", SERVERS)
def test_deployment_takes_one_whole_gpu_on_the_gpu_pool(server: str) -> None:
    manifests = rendered(server)
    deployment = only(manifests, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    resources = container(manifests)["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == 1
    assert resources["requests"]["nvidia.com/gpu"] == 1
    spec = pod_spec(manifests)
    assert spec["nodeSelector"] == GPU_POOL_SELECTOR
    assert spec["tolerations"] == [GPU_TOLERATION]
    assert spec["runtimeClassName"] == "nvidia"


@pytest.mark.parametrize("server", SERVERS)
def test_server_listens_on_its_named_port_behind_a_cluster_ip_service(server: str) -> None:
    manifests = rendered(server)
    assert container(manifests)["ports"] == [
        {"name": "mcp", "containerPort": SERVER_PORTS[server], "protocol": "TCP"}
    ]
    service = only(manifests, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [
        {
            "name": "mcp",
            "port": SERVER_PORTS[server],
            "targetPort": "mcp",
            "protocol": "TCP",
            "appProtocol": "http",
        }
    ]
    assert service["metadata"]["annotations"]["sophia.ai/mcp-path"] == "/mcp"
    assert service["spec"]["selector"] == only(manifests, "Deployment")["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("server", SERVERS)
def test_all_three_probes_open_a_tcp_connection_to_the_mcp_port(server: str) -> None:
    probed = container(rendered(server))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probed[probe]["tcpSocket"] == {"port": "mcp"}
        assert "httpGet" not in probed[probe]


def test_a_health_path_switches_the_probes_to_http_get() -> None:
    manifests = helm_template(merged(production_values("linear"), {"probes": {"httpHealthPath": "/healthz"}}))
    probed = container(manifests)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probed[probe]["httpGet"] == {"path": "/healthz", "port": "mcp"}
        assert "tcpSocket" not in probed[probe]
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize("server", SERVERS)
def test_pod_runs_restricted(server: str) -> None:
    manifests = rendered(server)
    spec = pod_spec(manifests)
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    hardened = container(manifests)["securityContext"]
    assert hardened["runAsNonRoot"] is True
    assert hardened["runAsUser"] == 10001
    assert hardened["readOnlyRootFilesystem"] is True
    assert hardened["allowPrivilegeEscalation"] is False
    assert hardened["capabilities"]["drop"] == ["ALL"]
    assert hardened["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container(manifests)["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]


@pytest.mark.parametrize("server", SERVERS)
def test_service_account_gets_no_api_token(server: str) -> None:
    manifests = rendered(server)
    account = only(manifests, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert pod_spec(manifests)["serviceAccountName"] == account["metadata"]["name"]


@pytest.mark.parametrize("server", SERVERS)
def test_pod_template_carries_the_labels_policies_and_tools_select_on(server: str) -> None:
    manifests = rendered(server)
    deployment = only(manifests, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/name": "sophia-mcp",
        "app.kubernetes.io/instance": server,
        "app.kubernetes.io/version": "1.4.2",
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": "sophia-mcp-0.2.0",
        "app.kubernetes.io/component": "mcp-server",
        "app.kubernetes.io/part-of": "sophia-mcp",
    }
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_pod_labels_are_added_but_cannot_hide_an_mcp_workload() -> None:
    values = merged(
        production_values("asana"),
        {"podLabels": {"team": "integrations", "app.kubernetes.io/component": "batch-job"}},
    )
    labels = only(helm_template(values), "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert labels["team"] == "integrations"
    assert labels["app.kubernetes.io/component"] == "mcp-server"


@pytest.mark.parametrize("server", SERVERS)
def test_replicas_prefer_different_nodes(server: str) -> None:
    manifests = rendered(server)
    preferred = pod_spec(manifests)["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert len(preferred) == 1
    term = preferred[0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert (
        term["labelSelector"]["matchLabels"]
        == only(manifests, "Deployment")["spec"]["selector"]["matchLabels"]
    )


@pytest.mark.parametrize("server", SERVERS)
def test_snowflake_settings_come_from_the_secret_by_reference(server: str) -> None:
    served = container(rendered(server))
    assert served["envFrom"] == [{"secretRef": {"name": f"{server}-snowflake"}}]
    assert "env" not in served


@pytest.mark.parametrize("server", SERVERS)
def test_network_policy_admits_only_the_ingress_controller_and_named_clients(server: str) -> None:
    manifests = rendered(server)
    policy = only(manifests, "NetworkPolicy")["spec"]
    assert policy["podSelector"] == only(manifests, "Deployment")["spec"]["selector"]
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": INGRESS_NAMESPACE}}},
                {"podSelector": {"matchLabels": AGENT_CLIENT}},
            ],
            "ports": [{"port": "mcp", "protocol": "TCP"}],
        }
    ]


@pytest.mark.parametrize("server", SERVERS)
def test_disruption_budget_keeps_one_replica_through_a_drain(server: str) -> None:
    manifests = rendered(server)
    budget = only(manifests, "PodDisruptionBudget")["spec"]
    assert budget["minAvailable"] == 1
    assert budget["selector"] == only(manifests, "Deployment")["spec"]["selector"]


def test_autoscaling_hands_the_replica_count_to_a_cpu_autoscaler() -> None:
    values = merged(
        production_values("gong"),
        {
            "autoscaling": {
                "enabled": True,
                "minReplicas": 2,
                "maxReplicas": 5,
                "targetCPUUtilizationPercentage": 70,
            }
        },
    )
    manifests = helm_template(values, release="gong")
    assert "replicas" not in only(manifests, "Deployment")["spec"]
    autoscaler = only(manifests, "HorizontalPodAutoscaler")
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": only(manifests, "Deployment")["metadata"]["name"],
    }
    assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (2, 5)
    assert autoscaler["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
        }
    ]
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSIONS[0], strict=True)


# GPU quantities


@pytest.mark.parametrize(
    ("gpu_limit", "gpu_request", "rendered_limit"),
    [(2, 2, 2), ("1", None, "1"), ("2000m", 2, "2000m"), ("1000m", "1", "1000m")],
)
def test_whole_gpu_quantities_are_accepted(gpu_limit: Any, gpu_request: Any, rendered_limit: Any) -> None:
    values = production_values("ai-memory")
    values["resources"]["limits"]["nvidia.com/gpu"] = gpu_limit
    del values["resources"]["requests"]["nvidia.com/gpu"]
    if gpu_request is not None:
        values["resources"]["requests"]["nvidia.com/gpu"] = gpu_request
    manifests = helm_template(values)
    resources = container(manifests)["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == rendered_limit
    assert ("nvidia.com/gpu" in resources["requests"]) == (gpu_request is not None)
    kubernetes_validate.validate(only(manifests, "Deployment"), KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        pytest.param(
            {"limits": {"nvidia.com/gpu": None}}, "missing property 'nvidia.com/gpu'", id="no-gpu-limit"
        ),
        pytest.param({"limits": None}, "missing property 'limits'", id="no-limits"),
        pytest.param({"limits": {"nvidia.com/gpu": 0.25}}, "/resources/limits/nvidia.com~1gpu", id="quarter"),
        pytest.param({"limits": {"nvidia.com/gpu": "500m"}}, "/resources/limits/nvidia.com~1gpu", id="500m"),
        pytest.param(
            {"limits": {"nvidia.com/gpu": "1.5"}}, "/resources/limits/nvidia.com~1gpu", id="string-1.5"
        ),
        pytest.param({"limits": {"nvidia.com/gpu": 0}}, "/resources/limits/nvidia.com~1gpu", id="zero"),
        pytest.param(
            {"requests": {"nvidia.com/gpu": 0.5}}, "/resources/requests/nvidia.com~1gpu", id="request-half"
        ),
    ],
)
def test_fractional_or_missing_gpu_is_rejected(override: dict[str, Any], reason: str) -> None:
    assert_helm_rejects(merged(production_values("ai-memory"), {"resources": override}), reason)


@pytest.mark.parametrize(("gpu_request", "gpu_limit"), [(1, 2), (2, 1), ("1000m", 2)])
def test_gpu_request_must_equal_the_limit(gpu_request: Any, gpu_limit: Any) -> None:
    values = merged(
        production_values("snowflake-admin"),
        {"resources": {"requests": {"nvidia.com/gpu": gpu_request}, "limits": {"nvidia.com/gpu": gpu_limit}}},
    )
    assert_helm_rejects(values, 'resources.requests["nvidia.com/gpu"]', "must equal")


# Image tags


@pytest.mark.parametrize("tag", ["latest", "dev", "Latest", "", None])
def test_mutable_or_missing_image_tag_is_rejected(tag: str | None) -> None:
    assert_helm_rejects(merged(production_values("linear"), {"image": {"tag": tag}}), "/image")


def test_image_is_the_pinned_repository_and_tag() -> None:
    values = merged(production_values("linear"), {"image": {"tag": "2.0.1"}})
    assert container(helm_template(values))["image"] == "ghcr.io/sophia-ai/mcp-linear:2.0.1"


DIGEST = "sha256:" + "4f" * 32


def test_a_digest_runs_that_build_and_the_tag_stays_the_version_label() -> None:
    manifests = helm_template(
        merged(production_values("linear"), {"image": {"tag": "2.0.1", "digest": DIGEST}})
    )
    assert container(manifests)["image"] == f"ghcr.io/sophia-ai/mcp-linear@{DIGEST}"
    labels = only(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"] == "2.0.1"


@pytest.mark.parametrize(
    "image",
    [
        {"repository": f"ghcr.io/sophia-ai/mcp-linear@{DIGEST}"},
        {"digest": "sha256:" + "4F" * 32},
        {"digest": "sha256:4f4f"},
        {"digest": "sha512:" + "4f" * 64},
    ],
    ids=["digest in the repository", "upper-case hex", "short", "not sha256"],
)
def test_a_digest_the_chart_cannot_render_is_rejected(image: dict[str, str]) -> None:
    assert_helm_rejects(merged(production_values("linear"), {"image": image}), "/image")


# Hardening and credentials


@pytest.mark.parametrize(
    "override",
    [
        pytest.param({"podSecurityContext": {"runAsNonRoot": False}}, id="pod-root"),
        pytest.param({"podSecurityContext": {"runAsUser": 0}}, id="pod-uid-0"),
        pytest.param({"securityContext": {"readOnlyRootFilesystem": False}}, id="writable-root"),
        pytest.param({"securityContext": {"allowPrivilegeEscalation": True}}, id="escalation"),
        pytest.param({"securityContext": {"privileged": True}}, id="privileged"),
        pytest.param({"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}, id="keeps-capabilities"),
        pytest.param({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}, id="adds-sys-admin"),
        pytest.param({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, id="unconfined"),
    ],
)
def test_weakening_the_security_context_is_rejected(override: dict[str, Any]) -> None:
    section = next(iter(override))
    assert_helm_rejects(merged(production_values("gong"), override), f"/{section}")


@pytest.mark.parametrize(
    "name", ["SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY", "LINEAR_API_KEY", "GONG_TOKEN"]
)
def test_a_credential_as_a_plain_env_value_is_rejected(name: str) -> None:
    values = merged(production_values("gong"), {"env": [{"name": name, "value": "not-a-real-credential"}]})
    assert_helm_rejects(values, "/env/0")


def test_a_credential_from_a_secret_key_reference_is_accepted() -> None:
    reference = {"name": "GONG_TOKEN", "valueFrom": {"secretKeyRef": {"name": "gong-api", "key": "token"}}}
    values = merged(production_values("gong"), {"env": [reference, {"name": "LOG_LEVEL", "value": "info"}]})
    assert container(helm_template(values))["env"] == [reference, {"name": "LOG_LEVEL", "value": "info"}]


# Other guard rails


def test_a_misspelt_top_level_key_is_rejected() -> None:
    assert_helm_rejects(merged(production_values("asana"), {"replicas": 3}), "'replicas' not allowed")


def test_an_empty_client_selector_is_rejected_because_it_would_admit_every_pod() -> None:
    values = merged(production_values("asana"), {"networkPolicy": {"allowedClients": [{}]}})
    assert_helm_rejects(values, "/networkPolicy/allowedClients/0")


@pytest.mark.parametrize(("replicas", "min_available"), [(2, 2), (1, 1)])
def test_a_budget_that_would_block_every_drain_is_rejected(replicas: int, min_available: int) -> None:
    values = merged(
        production_values("asana"),
        {"replicaCount": replicas, "podDisruptionBudget": {"minAvailable": min_available}},
    )
    assert_helm_rejects(values, "podDisruptionBudget.minAvailable")


def test_autoscaling_without_a_cpu_request_is_rejected() -> None:
    values = merged(
        production_values("asana"), {"autoscaling": {"enabled": True}, "resources": {"requests": None}}
    )
    assert_helm_rejects(values, "resources.requests.cpu")


def test_metrics_get_a_port_of_their_own_that_only_the_scraper_namespace_reaches() -> None:
    values = merged(
        production_values("ai-memory"),
        {"metrics": {"enabled": True, "port": 9464, "path": "/metrics", "scraperNamespace": "monitoring"}},
    )
    manifests = helm_template(values, release="ai-memory")
    served = container(manifests)
    assert {"name": "metrics", "containerPort": 9464, "protocol": "TCP"} in served["ports"]
    scraper_rule = only(manifests, "NetworkPolicy")["spec"]["ingress"][1]
    assert scraper_rule == {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
        "ports": [{"port": "metrics", "protocol": "TCP"}],
    }
    # The Service and the Ingress still carry the MCP port only.
    assert [port["targetPort"] for port in only(manifests, "Service")["spec"]["ports"]] == ["mcp"]
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSIONS[-1], strict=True)


def test_a_metrics_port_outside_the_unprivileged_range_is_refused() -> None:
    assert_helm_rejects(
        merged(production_values("gong"), {"metrics": {"enabled": True, "port": 80}}), "metrics"
    )
