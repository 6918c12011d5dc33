"""What ingress-nginx serves for an Ingress: its class, its routes, which hosts it serves with TLS, whether
its external auth holds, read the way the controller reads them (kubernetes.github.io/ingress-nginx,
"Annotations", "TLS/HTTPS", "External Authentication"; networking.k8s.io Ingress v1 and v1beta1).

* Class: the `kubernetes.io/ingress.class` annotation when present (the controller still honours it, and
  before `spec.ingressClassName`), else `spec.ingressClassName`.
* Routes: every rule's paths and the default backend, in both Ingress shapes (v1 `backend.service.name`,
  `defaultBackend`; v1beta1 `backend.serviceName`, `spec.backend`).
* TLS: a host is served with the certificate of a `spec.tls` entry whose `hosts` match it, a `*.` entry
  matching exactly one more leading label (RFC 6125 wildcard, as nginx's server_name and Go's x509 do).
* Auth: `auth-url` is a URL; what matters is where it sends the subrequest (scheme, host, port, path), so
  query parameters (`?allowed_groups=...`) are fine and the cluster DNS short forms of the Service name
  (`svc`, `svc.cluster.local`) name the same Service. A snippet annotation can still switch it off
  (`auth_request off`, `satisfy any`) or serve a path outside it (a `location` of its own).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from domain.unknown import UNKNOWN

CLASS_ANNOTATION = "kubernetes.io/ingress.class"
_SNIPPET_ANNOTATIONS = (
    "nginx.ingress.kubernetes.io/configuration-snippet",
    "nginx.ingress.kubernetes.io/server-snippet",
)
# nginx directives that undo an auth_request for a location, or add a location the auth does not cover.
_AUTH_UNDOING = (
    (re.compile(r"\bauth_request\s+off\b"), "turns auth_request off"),
    (re.compile(r"\bsatisfy\s+any\b"), "lets `satisfy any` pass requests without the auth check"),
    (re.compile(r"(?:^|[;{}\s])location\s"), "adds a location of its own, outside the external auth"),
)
_CLUSTER_SUFFIXES = ("", ".svc", ".svc.cluster.local")


@dataclass(frozen=True)
class Route:
    """One path of an Ingress (None for the default backend) and the Service it sends to."""

    host: Any
    path: Any
    service: Any
    where: str


def _get(node: Any, *keys: str) -> Any:
    for key in keys:
        if node is UNKNOWN:
            return UNKNOWN
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def ingress_class(ingress: Mapping[str, Any]) -> tuple[Any, str]:
    """The class that decides which controller serves this Ingress (UNKNOWN when preview does not know),
    and the field it comes from."""
    annotations = _get(ingress, "metadata", "annotations")
    # Annotations unknown as a whole are refused for the auth they carry; the class is then the spec's.
    annotated = _get(annotations, CLASS_ANNOTATION) if annotations is not UNKNOWN else None
    if annotated is not None:
        return annotated, f"metadata.annotations[{CLASS_ANNOTATION!r}]"
    return _get(ingress, "spec", "ingressClassName"), "spec.ingressClassName"


def _backend_service(backend: Any) -> Any:
    service = _get(backend, "service", "name")
    return service if service is not None else _get(backend, "serviceName")


def routes(ingress: Mapping[str, Any]) -> Iterator[Route]:
    spec = _get(ingress, "spec")
    for field_name in ("defaultBackend", "backend"):
        default = _get(spec, field_name)
        if default is not None:
            yield Route(None, None, _backend_service(default), f"spec.{field_name}")
    rules = _get(spec, "rules")
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        paths = _get(rule, "http", "paths")
        for position, path in enumerate(paths if isinstance(paths, list) else []):
            yield Route(
                _get(rule, "host"),
                _get(path, "path"),
                _backend_service(_get(path, "backend")),
                f"spec.rules[{index}].http.paths[{position}]",
            )


def host_matches(pattern: str, host: str) -> bool:
    """A TLS host entry covers a host: equal, or `*.rest` covering exactly one label before `rest`."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    if pattern.startswith("*."):
        label, _, rest = host.partition(".")
        return bool(label) and rest == pattern[2:]
    return False


def tls_hosts(ingress: Mapping[str, Any]) -> list[str] | None:
    """The TLS host entries that carry a certificate (`secretName`); None when preview does not know them."""
    tls = _get(ingress, "spec", "tls")
    if tls is UNKNOWN:
        return None
    hosts: list[str] = []
    for entry in tls if isinstance(tls, list) else []:
        secret, listed = _get(entry, "secretName"), _get(entry, "hosts")
        if secret is UNKNOWN or listed is UNKNOWN:
            return None
        if isinstance(secret, str) and secret and isinstance(listed, list):
            hosts += [host for host in listed if isinstance(host, str)]
    return hosts


def served_without_tls(ingress: Mapping[str, Any], hosts: list[Any]) -> list[str] | None:
    """The hosts among `hosts` no certificate covers ("a rule without host" for host-less rules)."""
    covered = tls_hosts(ingress)
    if covered is None:
        return None
    missing = {
        host if isinstance(host, str) else "a rule without host"
        for host in hosts
        if not isinstance(host, str) or not any(host_matches(pattern, host) for pattern in covered)
    }
    return sorted(missing)


def _service_address(url: str) -> tuple[str, str, int | None, str] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    for suffix in sorted(_CLUSTER_SUFFIXES, key=len, reverse=True):
        if suffix and host.endswith(suffix):
            host = host[: -len(suffix)]
            break
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), host, port if port is not None else default_port, parts.path or "/"


def same_auth_endpoint(given: Any, wanted: str) -> bool:
    """Whether `given` sends the auth subrequest where `wanted` does; its query string is its own business."""
    if not isinstance(given, str):
        return False
    address = _service_address(given)
    return address is not None and address == _service_address(wanted)


def auth_undoing_snippets(annotations: Mapping[str, Any]) -> list[str]:
    """`annotation why` for every snippet annotation that switches the external auth off or goes around
    it."""
    found: list[str] = []
    for key in _SNIPPET_ANNOTATIONS:
        snippet = annotations.get(key)
        if not isinstance(snippet, str):
            continue
        for pattern, why in _AUTH_UNDOING:
            if pattern.search(snippet):
                found.append(f"{key} {why}")
    return found
