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
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from domain.ingress_nginx import (
    CLASS_ANNOTATION,
    Route,
    auth_undoing_snippets,
    ingress_class,
    routes,
    same_auth_endpoint,
    served_without_tls,
)
from domain.mcp_edge import (
    AUTH_URL_ANNOTATION,
    METADATA_PREFIX,
    missing_route_auth,
    oauth2_proxy_auth_url,
    required_route_annotations,
)

from .known import UNKNOWN, get_path, resolve_unknowns
from .resources import MCP_CHART, describe

NAME = "mcp-routes-authenticated"
# Every Ingress the kubernetes provider registers (networking.k8s.io v1 and v1beta1, extensions v1beta1), as
# one object, a `*List` of them, or a server-side `*Patch`.
_INGRESS = re.compile(r"^kubernetes:(networking\.k8s\.io|extensions)/v1(beta1)?:Ingress(List|Patch)?$")
_HTTP_ROUTE = re.compile(r"^kubernetes:gateway\.networking\.k8s\.io/v1(beta1)?:HTTPRoute(List|Patch)?$")
DEFAULT_MCP_NAMESPACE = "mcp"
DEFAULT_INGRESS_CLASSES = ("nginx",)
_REGEX_TAIL = re.compile(r"[(\[$].*$")


def _is_mcp_path(path: Any) -> bool:
    if not isinstance(path, str):
        return False
    bare = _REGEX_TAIL.sub("", path).rstrip("/")
    return bare.rsplit("/", 1)[-1] == "mcp"


def _is_metadata_path(path: Any) -> bool:
    return isinstance(path, str) and (path == METADATA_PREFIX or path.startswith(METADATA_PREFIX + "/"))


def _why_mcp(route: Route, namespace: Any, mcp_namespace: str) -> str | None:
    if _is_metadata_path(route.path):
        # RFC 9728 metadata is what a client reads before it has a token: public wherever it is routed.
        return None
    if _is_mcp_path(route.path):
        return f"path {route.path} is an MCP endpoint"
    if isinstance(route.service, str) and MCP_CHART in route.service:
        return f"Service {route.service} is an MCP server's"
    if namespace == mcp_namespace:
        return f"it serves {route.path or 'every path'} in the MCP namespace {mcp_namespace}"
    return None


def _http_routes(props: Mapping[str, Any]) -> Iterator[Route]:
    rules = get_path(props, "spec", "rules")
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        matches = get_path(rule, "matches")
        paths = [get_path(m, "path", "value") for m in matches] if isinstance(matches, list) else []
        refs = get_path(rule, "backendRefs")
        services = [get_path(ref, "name") for ref in refs] if isinstance(refs, list) else []
        for path in paths or [None]:
            for service in services or [None]:
                yield Route(None, path, service, f"spec.rules[{index}]")


def _ingress_problems(props: Mapping[str, Any], hosts: list[Any], config: Mapping[str, Any]) -> list[str]:
    namespace = config["mcpNamespace"]
    problems: list[str] = []
    served_by, class_field = ingress_class(props)
    classes = config["ingressClasses"]
    if served_by is UNKNOWN:
        problems.append(f"{class_field} is not known during preview; set it from stack config")
    elif served_by not in classes:
        problems.append(
            f"{class_field} {served_by!r} is not ingress-nginx ({', '.join(classes)}), whose external auth "
            f"the stack relies on; set spec.ingressClassName to the stack's mcpIngressClass (the "
            f"{CLASS_ANNOTATION} annotation, when present, decides over it)"
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
        given = dict(annotations) if isinstance(annotations, dict) else {}
        wanted_url = oauth2_proxy_auth_url(namespace)
        if same_auth_endpoint(given.get(AUTH_URL_ANNOTATION), wanted_url):
            given[AUTH_URL_ANNOTATION] = wanted_url
        missing = missing_route_auth(given, namespace)
        if missing:
            problems.append(
                "it lacks the stack's authentication (a bearer token checked by oauth2-proxy): set "
                + "; ".join(missing)
            )
        undoing = auth_undoing_snippets(given)
        if undoing:
            problems.append(
                "a snippet goes around the external auth ("
                + "; ".join(undoing)
                + "); remove the snippet, the edge's auth must cover every MCP path"
            )
    uncovered = served_without_tls(props, hosts)
    if uncovered is None:
        problems.append("spec.tls is not known during preview, so TLS cannot be verified")
    elif uncovered:
        problems.append(
            f"it serves {', '.join(uncovered)} without TLS; list the host (or a *. wildcard covering it) in "
            "spec.tls with the certificate's secretName"
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


def _objects(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path prefix, object): the resource itself, or each item of a `*List`."""
    if resource_type.endswith("List"):
        items = props.get("items")
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict):
                yield f"items[{index}] ", item
    else:
        yield "", props


def route_problems(
    resource_type: str, name: str, props: Mapping[str, Any], config: Mapping[str, Any]
) -> Iterator[str]:
    """Every way this Ingress or HTTPRoute (or list of them) serves an MCP server outside the edge's auth."""
    is_ingress = bool(_INGRESS.match(resource_type))
    if not is_ingress and not _HTTP_ROUTE.match(resource_type):
        return
    kind = "Ingress" if is_ingress else "HTTPRoute"
    for prefix, item in _objects(resource_type, props):
        namespace = get_path(item, "metadata", "namespace")
        item_name = get_path(item, "metadata", "name")
        shown_name = (
            f"{namespace}/{item_name}" if isinstance(namespace, str) and isinstance(item_name, str) else name
        )
        where = f": {prefix.strip()}" if prefix else ""
        resource = f"{describe(resource_type, name)}{where} ({kind} {shown_name})"
        found = list(routes(item)) if is_ingress else list(_http_routes(item))
        mcp = [
            (route, reason)
            for route in found
            if (reason := _why_mcp(route, namespace, config["mcpNamespace"])) is not None
        ]
        if not mcp:
            continue
        reasons = sorted({reason for _, reason in mcp})
        shown = reasons[:2] + ([f"{len(reasons) - 2} more"] if len(reasons) > 2 else [])
        serves = f"routes to an MCP server ({'; '.join(shown)})"
        if not is_ingress:
            yield (
                f"{resource}: {serves}, but the stack authenticates MCP calls only at ingress-nginx "
                f"(auth-url {oauth2_proxy_auth_url(config['mcpNamespace'])}) and an HTTPRoute carries "
                "neither that check nor TLS; publish MCP servers through the MCP Ingress (McpServers) instead"
            )
            continue
        for problem in _ingress_problems(item, [route.host for route, _ in mcp], config):
            yield f"{resource}: {serves}, but {problem}"


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not (_INGRESS.match(args.resource_type) or _HTTP_ROUTE.match(args.resource_type)):
        return
    props = resolve_unknowns(args.props)
    for message in route_problems(args.resource_type, args.name, props, _config(args)):
        report_violation(message, None)


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
