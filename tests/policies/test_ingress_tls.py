"""ingress-tls-provided (stack policy), through the real pack process: an Ingress whose TLS Secret nothing
in the stack provides is refused, naming the Secret; a kubernetes.io/tls Secret or a cert-manager
Certificate of the same namespace provides it."""

from __future__ import annotations

from typing import Any

import pytest

from offline.policy_gate import format_violations
from tests.policies.conftest import Evaluate
from tests.policies.plans import of_policy, plan, resource
from tests.policies.test_mcp_routes import ingress_inputs

NAME = "ingress-tls-provided"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SECRET_NAME = "mcp-sophia-ai-tls"  # pragma: allowlist secret - a Secret's name


def tls_secret(namespace: str = "mcp", name: str = SECRET_NAME, kind: str = "kubernetes.io/tls") -> Any:
    return resource(
        "kubernetes:core/v1:Secret",
        f"secret-{namespace}-{name}-{kind.replace('/', '-')}",
        {
            "metadata": {"name": name, "namespace": namespace},
            "type": kind,
            "stringData": "[secret]",
        },
    )


def certificate(namespace: str = "mcp", secret_name: str = SECRET_NAME) -> Any:
    return resource(
        "kubernetes:cert-manager.io/v1:Certificate",
        f"certificate-{namespace}",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": secret_name, "namespace": namespace},
            "spec": {
                "secretName": secret_name,
                "dnsNames": ["mcp.sophia-ai.internal"],
                "issuerRef": {"name": "internal-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
            },
        },
    )


def test_an_ingress_whose_tls_secret_nothing_provides_is_refused_naming_it(evaluate: Evaluate) -> None:
    ingress = resource(INGRESS, "mcp-ingress", ingress_inputs())
    [violation] = of_policy(evaluate(plan(ingress)), NAME)
    assert violation.level == "mandatory"
    assert violation.urn == ingress.urn
    assert "the Secret mcp/mcp-sophia-ai-tls, which nothing in the stack provides" in violation.message
    assert "self-signed default certificate" in violation.message


@pytest.mark.parametrize(
    ("provider", "provided"),
    [
        pytest.param(tls_secret(), True, id="tls-secret"),
        pytest.param(certificate(), True, id="cert-manager-certificate"),
        pytest.param(tls_secret(namespace="default"), False, id="tls-secret-in-another-namespace"),
        pytest.param(certificate(namespace="default"), False, id="certificate-in-another-namespace"),
        pytest.param(tls_secret(kind="Opaque"), False, id="opaque-secret-of-that-name"),
        pytest.param(tls_secret(name="other-tls"), False, id="another-secret"),
    ],
)
def test_only_a_tls_secret_or_certificate_in_the_namespace_provides_it(
    evaluate: Evaluate, provider: Any, provided: bool
) -> None:
    result = evaluate(plan(resource(INGRESS, "mcp-ingress", ingress_inputs()), provider))
    assert (of_policy(result, NAME) == []) == provided, format_violations(result)
