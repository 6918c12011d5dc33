"""McpAuth in the production plan: oauth2-proxy and the metadata service, hardened, reachable only from the
ingress controller, their secrets secret, and the metadata public only under the well-known prefix."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from harness.paths import PROJECT_DIR
from offline.engine import preview
from offline.plan import Plan, ResourcePlan, Secret


@pytest.fixture(scope="module")
def plan() -> Plan:
    return preview(PROJECT_DIR, "production")


def _one(plan: Plan, resource_type: str, name: str) -> ResourcePlan:
    (found,) = [r for r in plan.resources if r.type == resource_type and r.name == name]
    return found


def _pod(plan: Plan, name: str) -> dict[str, Any]:
    return _one(plan, "kubernetes:apps/v1:Deployment", name).inputs["spec"]["template"]["spec"]


@pytest.mark.parametrize("name", ["mcp-auth-oauth2-proxy", "mcp-auth-metadata"])
def test_the_edge_pods_meet_pod_security_restricted(plan: Plan, name: str) -> None:
    pod = _pod(plan, name)
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsNonRoot"] is True
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["readOnlyRootFilesystem"] is True
    assert pod["automountServiceAccountToken"] is False
    assert "@sha256:" in container["image"] or container["image"].endswith(":v7.15.6")


def test_oauth2_proxys_secrets_are_secret_and_reach_it_as_files(plan: Plan) -> None:
    secret = _one(plan, "kubernetes:core/v1:Secret", "mcp-auth-oauth2-proxy")
    assert isinstance(secret.inputs["stringData"], Secret)
    pod = _pod(plan, "mcp-auth-oauth2-proxy")
    assert {"name": "secrets", "secret": {"secretName": "oauth2-proxy"}} in pod["volumes"]
    (container,) = pod["containers"]
    assert "--client-secret-file=/etc/oauth2-proxy/client-secret" in container["args"]


def test_oauth2_proxy_trusts_only_the_issuers_ca_bundle_mounted_from_a_config_map(plan: Plan) -> None:
    bundle = _one(plan, "kubernetes:core/v1:ConfigMap", "mcp-auth-issuer-ca")
    assert bundle.inputs["metadata"]["name"] == "oauth2-proxy-issuer-ca"
    assert set(bundle.inputs["data"]) == {"issuer-ca.crt"}
    pod = _pod(plan, "mcp-auth-oauth2-proxy")
    assert {"name": "issuer-ca", "configMap": {"name": "oauth2-proxy-issuer-ca"}} in pod["volumes"]
    (container,) = pod["containers"]
    assert {"name": "issuer-ca", "mountPath": "/etc/oauth2-proxy-ca", "readOnly": True} in container[
        "volumeMounts"
    ]
    assert "--provider-ca-file=/etc/oauth2-proxy-ca/issuer-ca.crt" in container["args"]
    assert not any(arg.startswith("--use-system-trust-store") for arg in container["args"])


def test_only_the_ingress_controller_reaches_the_edge_pods(plan: Plan) -> None:
    policy = _one(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "mcp-auth-ingress-controller-only")
    spec = policy.inputs["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": "sophia-mcp-edge"}}
    for name in ("mcp-auth-oauth2-proxy", "mcp-auth-metadata"):
        labels = _one(plan, "kubernetes:apps/v1:Deployment", name).inputs["spec"]["template"]["metadata"][
            "labels"
        ]
        assert labels["app.kubernetes.io/part-of"] == "sophia-mcp-edge"
    [rule] = spec["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]


def test_the_metadata_is_public_only_under_the_well_known_prefix_and_over_tls(plan: Plan) -> None:
    ingress = _one(plan, "kubernetes:networking.k8s.io/v1:Ingress", "mcp-auth-metadata").inputs
    [rule] = ingress["spec"]["rules"]
    assert [p["path"] for p in rule["http"]["paths"]] == ["/.well-known/oauth-protected-resource"]
    assert ingress["spec"]["tls"] == [
        {"hosts": ["mcp.sophia-ai.internal"], "secretName": "mcp-sophia-ai-tls"}
    ]
    assert ingress["metadata"]["namespace"] == "mcp"


EDGE_OBJECTS = [
    ("kubernetes:core/v1:Secret", "mcp-auth-oauth2-proxy"),
    ("kubernetes:apps/v1:Deployment", "mcp-auth-oauth2-proxy"),
    ("kubernetes:core/v1:Service", "mcp-auth-oauth2-proxy"),
    ("kubernetes:core/v1:ConfigMap", "mcp-auth-metadata"),
    ("kubernetes:apps/v1:Deployment", "mcp-auth-metadata"),
    ("kubernetes:core/v1:Service", "mcp-auth-metadata"),
    ("kubernetes:networking.k8s.io/v1:Ingress", "mcp-auth-metadata"),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "mcp-auth-ingress-controller-only"),
    ("kubernetes:networking.k8s.io/v1:Ingress", "mcp-ingress"),
]


@pytest.mark.parametrize(("resource_type", "name"), EDGE_OBJECTS)
def test_each_edge_object_is_valid_against_the_kubernetes_schema(
    plan: Plan, resource_type: str, name: str
) -> None:
    # The production cluster runs k3s v1.31 (clusterK3sVersion); strict: no field the API does not know.
    group_version, kind = resource_type.removeprefix("kubernetes:").split(":")
    api_version = group_version.removeprefix("core/")
    inputs = _one(plan, resource_type, name).inputs
    manifest = {"apiVersion": api_version, "kind": kind} | {
        key: value.value if isinstance(value, Secret) else value for key, value in inputs.items()
    }
    kubernetes_validate.validate(manifest, "1.31.0", strict=True)
