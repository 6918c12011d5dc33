"""domain/ingress_nginx.py: an Ingress read the way ingress-nginx reads it."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ingress_nginx import (
    auth_undoing_snippets,
    host_matches,
    ingress_class,
    routes,
    same_auth_endpoint,
    served_without_tls,
)
from domain.mcp_edge import oauth2_proxy_auth_url
from domain.unknown import UNKNOWN

LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
DOMAIN = st.lists(LABEL, min_size=2, max_size=3).map(".".join)


@settings(max_examples=200, deadline=None)
@given(LABEL, LABEL, DOMAIN)
def test_a_wildcard_covers_exactly_one_more_label(first: str, second: str, domain: str) -> None:
    assert host_matches(f"*.{domain}", f"{first}.{domain}")
    assert not host_matches(f"*.{domain}", f"{second}.{first}.{domain}")
    assert not host_matches(f"*.{domain}", domain)
    assert host_matches(f"{first}.{domain}".upper(), f"{first}.{domain}")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.text(max_size=20), max_size=3))
def test_query_parameters_never_change_the_auth_endpoint(query: dict[str, str]) -> None:
    wanted = oauth2_proxy_auth_url("mcp")
    given_url = wanted + ("?" + urlencode(query) if query else "")
    assert same_auth_endpoint(given_url, wanted)
    assert not same_auth_endpoint(given_url.replace("/oauth2/auth", "/oauth2/start"), wanted)
    assert not same_auth_endpoint(given_url.replace(".mcp.", ".tools."), wanted)


def test_the_class_annotation_decides_over_the_spec() -> None:
    both = {
        "metadata": {"annotations": {"kubernetes.io/ingress.class": "traefik"}},
        "spec": {"ingressClassName": "nginx"},
    }
    assert ingress_class(both)[0] == "traefik"
    assert ingress_class({"spec": {"ingressClassName": "nginx"}}) == ("nginx", "spec.ingressClassName")


def test_both_ingress_shapes_give_their_routes() -> None:
    v1beta1 = {
        "spec": {
            "backend": {"serviceName": "a"},
            "rules": [{"host": "h", "http": {"paths": [{"path": "/mcp", "backend": {"serviceName": "b"}}]}}],
        }
    }
    assert [(route.host, route.path, route.service) for route in routes(v1beta1)] == [
        (None, None, "a"),
        ("h", "/mcp", "b"),
    ]


def test_tls_coverage_and_unknowns() -> None:
    ingress = {"spec": {"tls": [{"hosts": ["*.example.com"], "secretName": "wild"}, {"hosts": ["bare.org"]}]}}
    assert served_without_tls(ingress, ["mcp.example.com", "bare.org", None]) == [
        "a rule without host",
        "bare.org",
    ]
    assert served_without_tls({"spec": {"tls": UNKNOWN}}, ["x"]) is None


def test_snippets_that_go_around_the_auth() -> None:
    assert auth_undoing_snippets({"nginx.ingress.kubernetes.io/configuration-snippet": "satisfy any;"})
    assert auth_undoing_snippets(
        {"nginx.ingress.kubernetes.io/server-snippet": "location /x { return 200; }"}
    )
    assert (
        auth_undoing_snippets(
            {"nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers 'X-Location: a';"}
        )
        == []
    )
