"""IngressCertificate in the plan: the TLS Secret both MCP Ingresses name is the stack's own, written from
ESC by default, or a cert-manager Certificate when the stack names an issuer; the pack passes either."""

from __future__ import annotations

from typing import Any

import pytest

from harness.paths import PROJECT_DIR
from offline.engine import preview
from offline.plan import Plan, ResourcePlan, Secret

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
ISSUER = {"kind": "ClusterIssuer", "name": "sophia-internal-ca"}


def _of_type(plan: Plan, resource_type: str) -> list[ResourcePlan]:
    return [item for item in plan.resources if item.type == resource_type]


def _served(plan: Plan) -> set[tuple[Any, str]]:
    return {
        (ingress.inputs["metadata"]["namespace"], tls["secretName"])
        for ingress in _of_type(plan, INGRESS)
        for tls in ingress.inputs["spec"]["tls"]
    }


@pytest.fixture(scope="module")
def production() -> Plan:
    return preview(PROJECT_DIR, "production")


def test_by_default_the_stack_writes_the_tls_secret_from_esc(production: Plan) -> None:
    assert _served(production) == {("mcp", "mcp-sophia-ai-tls")}
    (secret,) = [
        item for item in _of_type(production, "kubernetes:core/v1:Secret") if item.name == "mcp-tls-secret"
    ]
    assert secret.inputs["type"] == "kubernetes.io/tls"
    assert (secret.inputs["metadata"]["namespace"], secret.inputs["metadata"]["name"]) == (
        "mcp",
        "mcp-sophia-ai-tls",
    )
    assert isinstance(secret.inputs["stringData"], Secret)
    assert _of_type(production, CERTIFICATE) == []


def test_with_an_issuer_cert_manager_provides_it() -> None:
    plan = preview(
        PROJECT_DIR,
        "production",
        {"mcpIngressCertIssuer": ISSUER, "mcpIngressTlsCert": None, "mcpIngressTlsKey": None},
    )
    (certificate,) = _of_type(plan, CERTIFICATE)
    assert certificate.inputs["metadata"] == {"name": "mcp-sophia-ai-tls", "namespace": "mcp"}
    assert certificate.inputs["spec"] == {
        "secretName": "mcp-sophia-ai-tls",
        "dnsNames": ["mcp.sophia-ai.internal"],
        "issuerRef": {"name": "sophia-internal-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    }
    assert not [item for item in _of_type(plan, "kubernetes:core/v1:Secret") if item.name == "mcp-tls-secret"]
    assert _served(plan) == {("mcp", "mcp-sophia-ai-tls")}


def test_without_an_issuer_or_the_esc_certificate_the_program_stops_naming_the_keys() -> None:
    with pytest.raises(ValueError, match="mcpIngressTlsCert and sophia-ai:mcpIngressTlsKey in ESC"):
        preview(PROJECT_DIR, "production", {"mcpIngressTlsCert": None, "mcpIngressTlsKey": None})
