"""The edge's authentication as plain data: annotations, oauth2-proxy's flags, metadata and config."""

from __future__ import annotations

import re

import pytest

from components.versions import OAUTH2_PROXY_IMAGE, OAUTH2_PROXY_VERSION
from domain.mcp_edge import (
    AUTH_RESPONSE_HEADERS_ANNOTATION,
    AUTH_URL_ANNOTATION,
    CUSTOM_HTTP_ERRORS_ANNOTATION,
    DEFAULT_BACKEND_ANNOTATION,
    UPSTREAM_HASH_BY_ANNOTATION,
    EdgeAuth,
    challenge,
    external_auth_annotations,
    metadata_server_config,
    missing_route_auth,
    oauth2_proxy_args,
)
from harness.paths import PROJECT_DIR
from offline.engine import InvalidStack, run_program
from offline.stack_files import load_stack_settings

EDGE = EdgeAuth(
    host="mcp.sophia-ai.internal",
    namespace="mcp",
    issuer_url="https://auth.sophia-ai.internal/realms/sophia",
    audience="sophia-mcp",
    allowed_groups=("sophia-mcp-users", "platform"),
    groups_claim="groups",
    server_paths=("/ai-memory/mcp", "/linear/mcp"),
)


def test_the_stacks_annotations_leave_nothing_missing() -> None:
    assert missing_route_auth(external_auth_annotations(EDGE), "mcp") == []


def test_each_missing_piece_of_the_edge_auth_is_named() -> None:
    annotations = external_auth_annotations(EDGE)
    without_auth = {k: v for k, v in annotations.items() if k != AUTH_URL_ANNOTATION}
    [missing] = missing_route_auth(without_auth, "mcp")
    assert missing == f"{AUTH_URL_ANNOTATION}: http://oauth2-proxy.mcp.svc.cluster.local:4180/oauth2/auth"
    elsewhere = annotations | {AUTH_URL_ANNOTATION: "http://auth.example.com/check"}
    [missing] = missing_route_auth(elsewhere, "mcp")
    assert "(it is 'http://auth.example.com/check')" in missing
    no_challenge = annotations | {CUSTOM_HTTP_ERRORS_ANNOTATION: "404,503"}
    del no_challenge[DEFAULT_BACKEND_ANNOTATION]
    problems = missing_route_auth(no_challenge, "mcp")
    assert len(problems) == 2
    assert "WWW-Authenticate challenge" in problems[0]
    assert missing_route_auth(annotations | {CUSTOM_HTTP_ERRORS_ANNOTATION: "404, 401"}, "mcp") == []


def test_oauth2_proxy_accepts_only_bearer_tokens_of_the_issuer_audience_and_groups() -> None:
    args = oauth2_proxy_args(EDGE)
    assert "--oidc-issuer-url=https://auth.sophia-ai.internal/realms/sophia" in args
    assert "--client-id=sophia-mcp" in args
    assert "--skip-jwt-bearer-tokens=true" in args
    assert [a for a in args if a.startswith("--allowed-group=")] == [
        "--allowed-group=sophia-mcp-users",
        "--allowed-group=platform",
    ]
    # Secrets only by file, never on the command line.
    assert not any(a.startswith(("--client-secret=", "--cookie-secret=")) for a in args)


def test_an_edge_without_allowed_groups_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one allowed group"):
        oauth2_proxy_args(EdgeAuth(**{**vars(EDGE), "allowed_groups": ()}))


def test_the_metadata_service_challenges_each_server_with_its_own_metadata_url() -> None:
    config = metadata_server_config(EDGE)
    for path in EDGE.server_paths:
        assert f"'{challenge(EDGE.host, path)}'" in config
        assert f"location = /.well-known/oauth-protected-resource{path} {{" in config


def test_the_test_toolchain_builds_the_oauth2_proxy_release_the_stack_deploys() -> None:
    go_mod = (PROJECT_DIR / "testkit" / "toolchain" / "oauth2-proxy" / "go.mod").read_text()
    (pinned,) = re.findall(r"github\.com/oauth2-proxy/oauth2-proxy/v7 (v\S+)", go_mod)
    assert pinned == OAUTH2_PROXY_VERSION
    assert OAUTH2_PROXY_IMAGE.endswith(f":{OAUTH2_PROXY_VERSION}")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"mcpAuthIssuerUrl": "http://auth.sophia-ai.internal/realms/sophia"}, "mcpAuthIssuerUrl"),
        ({"mcpAuthAllowedGroups": []}, "mcpAuthAllowedGroups"),
        ({"mcpAuthAudience": None}, "mcpAuthAudience"),
        ({"mcpAuthAllowedGroups": ["sophia-mcp-users"]}, "mcpAuthAllowedGroups"),
        ({"mcpAuthIssuerCaBundle": None}, "mcpAuthIssuerCaBundle"),
        ({"mcpIngressCertIssuer": {"kind": "Vault", "name": "internal-ca"}}, "mcpIngressCertIssuer"),
    ],
)
def test_an_edge_config_mistake_is_refused_naming_the_key(change: dict[str, object], key: str) -> None:
    with pytest.raises(InvalidStack, match=f"sophia-ai:{key}"):
        run_program(load_stack_settings(PROJECT_DIR, "production", change))


def test_a_group_without_its_full_path_is_refused_with_the_form_keycloak_writes() -> None:
    with pytest.raises(InvalidStack, match="'/sophia-mcp-users'") as refused:
        run_program(
            load_stack_settings(PROJECT_DIR, "production", {"mcpAuthAllowedGroups": ["sophia-mcp-users"]})
        )
    assert "full group path" in str(refused.value)


def test_the_route_hashes_on_the_authenticated_caller_not_on_a_cookie() -> None:
    annotations = external_auth_annotations(EDGE)
    # ingress-nginx stores auth-response-headers entry i in $authHeader<i> (template.go).
    caller_index = annotations[AUTH_RESPONSE_HEADERS_ANNOTATION].split(",").index("X-Auth-Request-User")
    assert annotations[UPSTREAM_HASH_BY_ANNOTATION] == f"$authHeader{caller_index}"


def test_oauth2_proxy_trusts_the_issuers_ca_file_and_admits_unverified_emails() -> None:
    args = oauth2_proxy_args(EDGE)
    assert "--provider-ca-file=/etc/oauth2-proxy-ca/issuer-ca.crt" in args
    assert "--insecure-oidc-allow-unverified-email=true" in args
