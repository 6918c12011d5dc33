"""mcp-routes-authenticated, through the real pack process: a route to an MCP server without the edge's
authentication or without TLS is refused, naming the route and what is missing, on hand-built plans and on
the production stack with the auth or TLS taken off its MCP Ingress."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from domain.mcp_edge import AUTH_URL_ANNOTATION, CUSTOM_HTTP_ERRORS_ANNOTATION, DEFAULT_BACKEND_ANNOTATION
from offline.engine import preview
from offline.plan import UNKNOWN, Plan, ResourcePlan
from offline.policy_gate import PolicyPackSession, format_violations, load_policy_config
from tests.policies.conftest import PACK_DIR, Evaluate
from tests.policies.plans import merged, on_resource, plan, resource

NAME = "mcp-routes-authenticated"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
AUTH_URL = "http://oauth2-proxy.mcp.svc.cluster.local:4180/oauth2/auth"
EDGE_ANNOTATIONS = {
    AUTH_URL_ANNOTATION: AUTH_URL,
    "nginx.ingress.kubernetes.io/auth-response-headers": "X-Auth-Request-User",
    CUSTOM_HTTP_ERRORS_ANNOTATION: "401",
    DEFAULT_BACKEND_ANNOTATION: "mcp-auth-metadata",
}
HOST = "mcp.sophia-ai.internal"


def ingress_inputs(
    *,
    namespace: str = "mcp",
    path: str = "/linear/mcp",
    service: str = "linear-sophia-mcp",
    annotations: Any = None,
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "sophia-mcp",
            "namespace": namespace,
            "annotations": dict(EDGE_ANNOTATIONS) if annotations is None else annotations,
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [HOST], "secretName": "mcp-sophia-ai-tls"}],
            "rules": [
                {
                    "host": HOST,
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Exact",
                                "backend": {"service": {"name": service, "port": {"number": 3002}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def ingress(**inputs: Any) -> ResourcePlan:
    return resource(INGRESS, "mcp-ingress", ingress_inputs(**inputs))


def edited(target: ResourcePlan, inputs: dict[str, Any]) -> ResourcePlan:
    return ResourcePlan(**{**vars(target), "inputs": inputs})


def test_an_authenticated_mcp_ingress_with_tls_passes(evaluate: Evaluate) -> None:
    target = ingress()
    result = evaluate(plan(target))
    assert on_resource(result, NAME, target) == [], format_violations(result)


@pytest.mark.parametrize(
    ("where", "why"),
    [
        ({"namespace": "tools", "path": "/linear/mcp", "service": "linear"}, "path /linear/mcp is an MCP"),
        ({"namespace": "tools", "path": "/v1/", "service": "linear-sophia-mcp"}, "Service linear-sophia-mcp"),
        ({"namespace": "tools", "path": "/x/mcp(/|$)(.*)", "service": "x"}, "is an MCP endpoint"),
        ({"namespace": "mcp", "path": "/", "service": "debug"}, "in the MCP namespace mcp"),
    ],
    ids=["mcp-path", "mcp-service", "regex-path", "mcp-namespace"],
)
def test_a_route_to_an_mcp_server_without_auth_is_refused_naming_it_and_the_fix(
    evaluate: Evaluate, where: dict[str, str], why: str
) -> None:
    target = ingress(annotations={}, **where)
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert violation.level == "mandatory"
    assert f'{INGRESS} "mcp-ingress" (Ingress {where["namespace"]}/sophia-mcp)' in violation.message
    assert why in violation.message
    assert f"set {AUTH_URL_ANNOTATION}: {AUTH_URL}" in violation.message
    assert "WWW-Authenticate challenge" in violation.message


def test_an_auth_url_other_than_the_stacks_oauth2_proxy_is_refused(evaluate: Evaluate) -> None:
    target = ingress(annotations=EDGE_ANNOTATIONS | {AUTH_URL_ANNOTATION: "http://auth.example.com/ok"})
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert "(it is 'http://auth.example.com/ok')" in violation.message


def test_an_mcp_ingress_without_tls_for_its_host_is_refused(evaluate: Evaluate) -> None:
    inputs = ingress_inputs()
    inputs["spec"]["tls"] = [{"hosts": ["other.sophia-ai.internal"], "secretName": "other-tls"}]
    target = resource(INGRESS, "mcp-ingress", inputs)
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert f"it serves {HOST} without TLS" in violation.message


def test_an_mcp_ingress_of_another_ingress_class_is_refused(evaluate: Evaluate) -> None:
    target = resource(
        INGRESS, "mcp-ingress", merged(ingress_inputs(), {"spec": {"ingressClassName": "traefik"}})
    )
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert "spec.ingressClassName 'traefik' is not ingress-nginx" in violation.message


def test_unknown_annotations_are_a_violation_naming_the_field(evaluate: Evaluate) -> None:
    target = ingress(annotations=UNKNOWN)
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert "auth annotations are not known during preview" in violation.message


def test_the_public_metadata_and_other_routes_pass(evaluate: Evaluate) -> None:
    metadata = resource(
        INGRESS,
        "mcp-auth-metadata",
        ingress_inputs(
            path="/.well-known/oauth-protected-resource", service="mcp-auth-metadata", annotations={}
        ),
    )
    elsewhere = resource(
        INGRESS,
        "grafana",
        ingress_inputs(namespace="monitoring", path="/", service="grafana", annotations={}),
    )
    result = evaluate(plan(metadata, elsewhere))
    assert on_resource(result, NAME, metadata) == [], format_violations(result)
    assert on_resource(result, NAME, elsewhere) == [], format_violations(result)


def test_the_mcp_namespace_comes_from_the_policy_config(evaluate: Evaluate) -> None:
    target = ingress(namespace="mcp-staging", path="/", service="debug", annotations={})
    config = {NAME: {"mcpNamespace": "mcp-staging"}}
    [violation] = on_resource(evaluate(plan(target), config), NAME, target)
    assert "oauth2-proxy.mcp-staging.svc.cluster.local" in violation.message


def test_an_http_route_to_an_mcp_server_is_refused(evaluate: Evaluate) -> None:
    route = resource(
        HTTP_ROUTE,
        "linear-route",
        {
            "metadata": {"name": "linear", "namespace": "tools"},
            "spec": {
                "parentRefs": [{"name": "public"}],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/linear/mcp"}}],
                        "backendRefs": [{"name": "linear-sophia-mcp", "port": 3002}],
                    }
                ],
            },
        },
    )
    unrelated = resource(
        HTTP_ROUTE,
        "docs-route",
        {
            "metadata": {"name": "docs", "namespace": "docs"},
            "spec": {"rules": [{"backendRefs": [{"name": "docs", "port": 80}]}]},
        },
    )
    result = evaluate(plan(route, unrelated))
    [violation] = on_resource(result, NAME, route)
    assert f'{HTTP_ROUTE} "linear-route" (HTTPRoute tools/linear)' in violation.message
    assert "an HTTPRoute carries neither that check nor TLS" in violation.message
    assert on_resource(result, NAME, unrelated) == []


# --- The production stack: clean as committed, refused when its MCP Ingress loses the auth or TLS -------


@pytest.fixture(scope="module")
def production_plan() -> Plan:
    return preview(PACK_DIR.parent, "production")


@pytest.fixture(scope="module")
def production_pack(production_plan: Plan) -> Iterator[PolicyPackSession]:
    with PolicyPackSession(PACK_DIR, project=production_plan.project, stack="production") as session:
        yield session


def _with(production_plan: Plan, target: ResourcePlan, replacement: ResourcePlan) -> Plan:
    return Plan(
        project=production_plan.project,
        stack=production_plan.stack,
        resources=[replacement if r.urn == target.urn else r for r in production_plan.resources],
    )


def _mcp_ingress(production_plan: Plan) -> ResourcePlan:
    (found,) = [r for r in production_plan.resources if r.type == INGRESS and r.name == "mcp-ingress"]
    return found


@pytest.mark.production_stack
def test_the_production_routes_are_authenticated(
    production_plan: Plan, production_pack: PolicyPackSession
) -> None:
    ingresses = [r for r in production_plan.resources if r.type == INGRESS]
    assert {r.name for r in ingresses} == {"mcp-ingress", "mcp-auth-metadata"}
    config = load_policy_config(PACK_DIR / "config" / "production.json")
    result = production_pack.evaluate(production_plan, config)
    assert [v for v in result.violations if v.policy == NAME] == [], format_violations(result)


@pytest.mark.production_stack
@pytest.mark.parametrize(
    ("edit", "missing"),
    [
        (lambda i: i["metadata"]["annotations"].pop(AUTH_URL_ANNOTATION), AUTH_URL_ANNOTATION),
        (lambda i: i["metadata"].pop("annotations"), AUTH_URL_ANNOTATION),
        (lambda i: i["spec"].pop("tls"), "without TLS"),
    ],
    ids=["auth-url-removed", "annotations-removed", "tls-removed"],
)
def test_taking_the_auth_or_tls_off_the_production_mcp_ingress_fails_the_gate(
    production_plan: Plan, production_pack: PolicyPackSession, edit: Any, missing: str
) -> None:
    target = _mcp_ingress(production_plan)
    inputs = copy.deepcopy(target.inputs)
    edit(inputs)
    changed = edited(target, inputs)
    config = load_policy_config(PACK_DIR / "config" / "production.json")
    result = production_pack.evaluate(_with(production_plan, target, changed), config)
    assert result.mandatory_count == 1, format_violations(result)
    [violation] = on_resource(result, NAME, changed)
    assert "(Ingress mcp/sophia-mcp)" in violation.message
    assert missing in violation.message
    assert "the gate fails." in format_violations(result)


def annotated(inputs: dict[str, Any], **annotations: str) -> dict[str, Any]:
    return merged(inputs, {"metadata": {"annotations": annotations}})


@pytest.mark.parametrize(
    ("inputs", "passes"),
    [
        # the class annotation decides over spec.ingressClassName
        (annotated(ingress_inputs(), **{"kubernetes.io/ingress.class": "traefik"}), False),
        (
            merged(
                annotated(ingress_inputs(), **{"kubernetes.io/ingress.class": "nginx"}),
                {"spec": {"ingressClassName": None}},
            ),
            True,
        ),
        # a wildcard certificate covers one label
        (
            merged(
                ingress_inputs(), {"spec": {"tls": [{"hosts": ["*.sophia-ai.internal"], "secretName": "w"}]}}
            ),
            True,
        ),
        (merged(ingress_inputs(), {"spec": {"tls": [{"hosts": ["*.internal"], "secretName": "w"}]}}), False),
        # auth-url is a URL: query parameters and the Service's short DNS forms are the same endpoint
        (annotated(ingress_inputs(), **{AUTH_URL_ANNOTATION: AUTH_URL + "?allowed_groups=mcp-users"}), True),
        (
            annotated(
                ingress_inputs(), **{AUTH_URL_ANNOTATION: "http://oauth2-proxy.mcp.svc:4180/oauth2/auth"}
            ),
            True,
        ),
        (
            annotated(ingress_inputs(), **{AUTH_URL_ANNOTATION: "http://oauth2-proxy.mcp.svc:4180/healthz"}),
            False,
        ),
        # snippets that switch the auth off or serve a location around it
        (
            annotated(
                ingress_inputs(), **{"nginx.ingress.kubernetes.io/configuration-snippet": "auth_request off;"}
            ),
            False,
        ),
        (
            annotated(
                ingress_inputs(),
                **{"nginx.ingress.kubernetes.io/server-snippet": "location /linear/mcp { proxy_pass x; }"},
            ),
            False,
        ),
        (
            annotated(
                ingress_inputs(),
                **{"nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers 'X: y';"},
            ),
            True,
        ),
    ],
    ids=[
        "class-annotation-traefik",
        "class-annotation-nginx",
        "wildcard-tls",
        "wildcard-too-wide",
        "auth-url-query",
        "auth-url-short-dns",
        "auth-url-other-path",
        "snippet-auth-off",
        "snippet-location",
        "snippet-harmless",
    ],
)
def test_what_ingress_nginx_serves_decides(evaluate: Evaluate, inputs: dict[str, Any], passes: bool) -> None:
    target = resource(INGRESS, "mcp-ingress", inputs)
    found = on_resource(evaluate(plan(target)), NAME, target)
    assert (found == []) is passes, [violation.message for violation in found]


@pytest.mark.parametrize(
    "resource_type",
    [
        "kubernetes:networking.k8s.io/v1beta1:Ingress",
        "kubernetes:extensions/v1beta1:Ingress",
        "kubernetes:networking.k8s.io/v1:IngressList",
    ],
)
def test_every_ingress_version_and_list_kind_is_judged(evaluate: Evaluate, resource_type: str) -> None:
    inputs = ingress_inputs(annotations={})
    if "v1beta1" in resource_type:
        path = inputs["spec"]["rules"][0]["http"]["paths"][0]
        path["backend"] = {"serviceName": "linear-sophia-mcp", "servicePort": 3002}
    if resource_type.endswith("List"):
        inputs = {"items": [inputs]}
    target = resource(resource_type, "mcp-ingress", inputs)
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert "lacks the stack's authentication" in violation.message


def test_rfc9728_metadata_needs_no_token_wherever_it_is_routed(evaluate: Evaluate) -> None:
    per_server = resource(
        INGRESS,
        "linear-metadata",
        ingress_inputs(
            path="/.well-known/oauth-protected-resource/linear/mcp",
            service="linear-sophia-mcp",
            annotations={},
        ),
    )
    assert on_resource(evaluate(plan(per_server)), NAME, per_server) == []
