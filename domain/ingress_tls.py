"""Who provides the certificate an Ingress serves: the Secret its `spec.tls[].secretName` names.

ingress-nginx serves its own self-signed default certificate for a host whose Secret does not exist, so a
name in `spec.tls` promises nothing by itself. In this stack the Secret is provided either by a cert-manager
`Certificate` (cert-manager.io/v1; its `spec.secretName` is the Secret cert-manager writes, of type
kubernetes.io/tls) or by a `kubernetes.io/tls` Secret the stack creates from ESC values (`tls.crt`,
`tls.key`: Kubernetes "Secrets", TLS secrets). Plain functions over resource inputs, for the component, the
policy pack and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

TLS_SECRET_TYPE = "kubernetes.io/tls"  # noqa: S105  # pragma: allowlist secret - a Secret type
TLS_CERT_KEY = "tls.crt"
TLS_KEY_KEY = "tls.key"
CERT_MANAGER_API_VERSION = "cert-manager.io/v1"
CERTIFICATE_KIND = "Certificate"

# Pulumi type tokens (a CustomResource's is `kubernetes:<apiVersion>:<kind>`).
SECRET_RESOURCE = "kubernetes:core/v1:Secret"  # noqa: S105  # pragma: allowlist secret - a type token
CERTIFICATE_RESOURCE = f"kubernetes:{CERT_MANAGER_API_VERSION}:{CERTIFICATE_KIND}"
INGRESS_RESOURCE = "kubernetes:networking.k8s.io/v1:Ingress"


@dataclass(frozen=True)
class SecretRef:
    """A TLS Secret by namespace and name; a namespace not known during preview is None."""

    namespace: str | None
    name: str

    def matches(self, other: SecretRef) -> bool:
        same_namespace = None in (self.namespace, other.namespace) or self.namespace == other.namespace
        return same_namespace and self.name == other.name

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        mapping = mapping.get(key) if isinstance(mapping, Mapping) else None
    return mapping


def provided_secret(resource_type: str, inputs: Mapping[str, Any]) -> SecretRef | None:
    """The TLS Secret this resource provides: a kubernetes.io/tls Secret, or a Certificate's secretName."""
    namespace = _text(_get(inputs, "metadata", "namespace"))
    if resource_type == SECRET_RESOURCE and inputs.get("type") == TLS_SECRET_TYPE:
        name = _text(_get(inputs, "metadata", "name"))
    elif resource_type == CERTIFICATE_RESOURCE:
        name = _text(_get(inputs, "spec", "secretName"))
    else:
        return None
    return SecretRef(namespace, name) if name else None


def served_secrets(inputs: Mapping[str, Any]) -> Iterator[SecretRef]:
    """The Secrets an Ingress names in `spec.tls[].secretName` (those whose name is known)."""
    namespace = _text(_get(inputs, "metadata", "namespace"))
    tls = _get(inputs, "spec", "tls")
    for entry in tls if isinstance(tls, list) else []:
        name = _text(_get(entry, "secretName"))
        if name:
            yield SecretRef(namespace, name)


def unprovided(named: Iterable[SecretRef], provided: Iterable[SecretRef]) -> list[SecretRef]:
    """The named Secrets nothing provides."""
    given = list(provided)
    return [ref for ref in named if not any(ref.matches(source) for source in given)]
