"""mcp-routes-authenticated: nothing routes to an MCP server without the edge's authentication and TLS.

A route to an MCP server is an Ingress (`kubernetes:networking.k8s.io/v1:Ingress`) or Gateway API HTTPRoute
(`gateway.networking.k8s.io` v1 or v1beta1) with at least one path (or default backend) that
- has `mcp` as its last segment (a trailing slash or regex group aside: `/x/mcp`, `/mcp/`, `/x/mcp(/|$)(.*)`),
- or sends to a Service of the sophia-mcp chart (its name contains `sophia-mcp`: the chart's fullname),
- or lives in the MCP namespace (policy config `mcpNamespace`) and is not an RFC 9728 metadata path
  (`/.well-known/oauth-protected-resource...`): the metadata is the one thing there that must stay public.

Such an Ingress needs ingress-nginx (an IngressClass of `ingressClasses`), the stack's external auth (the
`auth-url` of its oauth2-proxy and the 401 challenge, `domain.mcp_edge.required_route_annotations`) and TLS
for every host it serves them on. An HTTPRoute is always refused: the stack's check is ingress-nginx's, and
an HTTPRoute carries neither it nor TLS (TLS is its Gateway listener's, which the route cannot show).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from domain.mcp_edge import (
    METADATA_PREFIX,
    missing_route_auth,
    oauth2_proxy_auth_url,
    required_route_annotations,
)

from .known import UNKNOWN, get_path, resolve_unknowns
from .resources import MCP_CHART, describe

NAME = "mcp-routes-authenticated"
INGRESS_TYPES = frozenset({"kubernetes:networking.k8s.io/v1:Ingress"})
HTTP_ROUTE_TYPES = frozenset(
    {
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
        "kubernetes:gateway.networking.k8s.io/v1beta1:HTTPRoute",
    }
)
DEFAULT_MCP_NAMESPACE = "mcp"
DEFAULT_INGRESS_CLASSES = ("nginx",)
_REGEX_TAIL = re.compile(r"[(\[$].*$")


@dataclass(frozen=True)
class Backend:
    """One path of a route and the Service it sends to (either may be absent)."""

    path: Any
    service: Any


def _is_mcp_path(path: Any) -> bool:
    if not isinstance(path, str):
        return False
    bare = _REGEX_TAIL.sub("", path).rstrip("/")
    return bare.rsplit("/", 1)[-1] == "mcp"


def _is_metadata_path(path: Any) -> bool:
    return isinstance(path, str) and (path == METADATA_PREFIX or path.startswith(METADATA_PREFIX + "/"))


def _why_mcp(backend: Backend, namespace: Any, mcp_namespace: str) -> str | None:
    if _is_mcp_path(backend.path):
        return f"path {backend.path} is an MCP endpoint"
    if isinstance(backend.service, str) and MCP_CHART in backend.service:
        return f"Service {backend.service} is an MCP server's"
    if namespace == mcp_namespace and not _is_metadata_path(backend.path):
        return f"it serves {backend.path or 'every path'} in the MCP namespace {mcp_namespace}"
    return None


def _ingress_backends(props: dict[str, Any]) -> Iterator[tuple[Any, Backend]]:
    """(host, backend) of every path of every rule, and the default backend (host None)."""
    default = get_path(props, "spec", "defaultBackend", "service", "name")
    if default is not None:
        yield None, Backend(None, default)
    rules = get_path(props, "spec", "rules")
    for rule in rules if isinstance(rules, list) else []:
        paths = get_path(rule, "http", "paths")
        for path in paths if isinstance(paths, list) else []:
            yield (
                get_path(rule, "host"),
                Backend(get_path(path, "path"), get_path(path, "backend", "service", "name")),
            )


def _http_route_backends(props: dict[str, Any]) -> Iterator[Backend]:
    rules = get_path(props, "spec", "rules")
    for rule in rules if isinstance(rules, list) else []:
        matches = get_path(rule, "matches")
        paths = [get_path(m, "path", "value") for m in matches] if isinstance(matches, list) else []
        refs = get_path(rule, "backendRefs")
        services = [get_path(ref, "name") for ref in refs] if isinstance(refs, list) else []
        for path in paths or [None]:
            for service in services or [None]:
                yield Backend(path, service)


def _tls_hosts(props: dict[str, Any]) -> set[str] | None:
    """The hosts the Ingress serves with a certificate; None when preview does not know them."""
    tls = get_path(props, "spec", "tls")
    if tls is UNKNOWN:
        return None
    hosts: set[str] = set()
    for entry in tls if isinstance(tls, list) else []:
        secret = get_path(entry, "secretName")
        listed = get_path(entry, "hosts")
        if secret is UNKNOWN or listed is UNKNOWN:
            return None
        if isinstance(secret, str) and secret and isinstance(listed, list):
            hosts.update(host for host in listed if isinstance(host, str))
    return hosts


def _ingress_problems(props: dict[str, Any], hosts: list[Any], config: Mapping[str, Any]) -> list[str]:
    namespace = config["mcpNamespace"]
    problems: list[str] = []
    ingress_class = get_path(props, "spec", "ingressClassName")
    classes = config["ingressClasses"]
    if ingress_class is UNKNOWN:
        problems.append("spec.ingressClassName is not known during preview; set it from stack config")
    elif ingress_class not in classes:
        problems.append(
            f"spec.ingressClassName {ingress_class!r} is not ingress-nginx ({', '.join(classes)}), whose "
            "external auth the stack relies on; set it to the stack's mcpIngressClass"
        )
    annotations = get_path(props, "metadata", "annotations")
    required = required_route_annotations(namespace)
    if annotations is UNKNOWN or (
        isinstance(annotations, dict) and any(annotations.get(key) is UNKNOWN for key in required)
    ):
        problems.append(
            "its auth annotations are not known during preview, so the authentication cannot be verified; "
            "derive them from stack config (domain.mcp_edge.external_auth_annotations)"
        )
    else:
        missing = missing_route_auth(annotations if isinstance(annotations, dict) else {}, namespace)
        if missing:
            problems.append(
                "it lacks the stack's authentication (a bearer token checked by oauth2-proxy): set "
                + "; ".join(missing)
            )
    covered = _tls_hosts(props)
    if covered is None:
        problems.append("spec.tls is not known during preview, so TLS cannot be verified")
    else:
        uncovered = sorted({str(host) for host in hosts if not isinstance(host, str) or host not in covered})
        if uncovered:
            shown = ", ".join("a rule without host" if host == "None" else host for host in uncovered)
            problems.append(
                f"it serves {shown} without TLS; list the host in spec.tls with the certificate's secretName"
            )
    return problems


def _config(args: ResourceValidationArgs) -> dict[str, Any]:
    config = args.get_config() or {}
    namespace = config.get("mcpNamespace")
    classes = config.get("ingressClasses")
    return {
        "mcpNamespace": namespace if isinstance(namespace, str) and namespace else DEFAULT_MCP_NAMESPACE,
        "ingressClasses": tuple(classes)
        if isinstance(classes, list) and classes
        else DEFAULT_INGRESS_CLASSES,
    }


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    is_ingress = args.resource_type in INGRESS_TYPES
    if not is_ingress and args.resource_type not in HTTP_ROUTE_TYPES:
        return
    config = _config(args)
    props = resolve_unknowns(args.props)
    namespace = get_path(props, "metadata", "namespace")
    name = get_path(props, "metadata", "name")
    shown_name = f"{namespace}/{name}" if isinstance(namespace, str) and isinstance(name, str) else args.name
    kind = "Ingress" if is_ingress else "HTTPRoute"
    resource = f"{describe(args.resource_type, args.name)} ({kind} {shown_name})"
    if is_ingress:
        found = [(host, backend) for host, backend in _ingress_backends(props)]
    else:
        found = [(None, backend) for backend in _http_route_backends(props)]
    mcp = [
        (host, reason)
        for host, backend in found
        if (reason := _why_mcp(backend, namespace, config["mcpNamespace"])) is not None
    ]
    if not mcp:
        return
    reasons = sorted({reason for _, reason in mcp})
    shown = reasons[:2] + ([f"{len(reasons) - 2} more"] if len(reasons) > 2 else [])
    routes = f"routes to an MCP server ({'; '.join(shown)})"
    if not is_ingress:
        report_violation(
            f"{resource}: {routes}, but the stack authenticates MCP calls only at ingress-nginx "
            f"(auth-url {oauth2_proxy_auth_url(config['mcpNamespace'])}) and an HTTPRoute carries neither "
            "that check nor TLS; publish MCP servers through the MCP Ingress (McpServers) instead",
            None,
        )
        return
    for problem in _ingress_problems(props, [host for host, _ in mcp], config):
        report_violation(f"{resource}: {routes}, but {problem}", None)


mcp_routes_authenticated = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Every Ingress or HTTPRoute that routes to an MCP server (a path ending in /mcp, a sophia-mcp "
        "Service, or anything but the RFC 9728 metadata in the MCP namespace) is an ingress-nginx Ingress "
        "with the stack's external auth (oauth2-proxy's auth-url and the WWW-Authenticate challenge) and TLS "
        "for every host."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Publish MCP servers only through the McpServers Ingress, whose annotations come from "
        "domain.mcp_edge.external_auth_annotations (auth-url of the stack's oauth2-proxy, custom-http-errors "
        "401 and default-backend mcp-auth-metadata), with spec.tls listing the host and its certificate."
    ),
    config_schema=PolicyConfigSchema(
        properties={
            "mcpNamespace": {
                "type": "string",
                "default": DEFAULT_MCP_NAMESPACE,
                "description": "Namespace of the MCP servers and of their oauth2-proxy.",
            },
            "ingressClasses": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(DEFAULT_INGRESS_CLASSES),
                "description": "IngressClasses that run ingress-nginx, whose external auth the stack uses.",
            },
        }
    ),
)
