"""Who may call an MCP server: the edge's authentication, as plain data for the program, pack and tests.

The MCP authorization model (specification revision 2025-06-18 and later, "Authorization"): an HTTP MCP
server is an OAuth 2.1 resource server; clients send `Authorization: Bearer <token>`; a 401 carries
`WWW-Authenticate` with the `resource_metadata` parameter, the URL of the server's OAuth 2.0 Protected
Resource Metadata (RFC 9728 section 5.1), which names the authorization server a client gets a token from.

Here the check happens at the edge, before a request reaches any server, so every server gets it whether or
not its own code does:
- ingress-nginx external authentication (`nginx.ingress.kubernetes.io/auth-url`, an nginx `auth_request`
  subrequest) asks oauth2-proxy's `/oauth2/auth`, which accepts only a bearer JWT from the stack's issuer, for
  its audience, from one of its allowed groups (`--skip-jwt-bearer-tokens`, `--allowed-group`);
- oauth2-proxy answers a refusal with a bare 401 (oauthproxy.go `AuthOnly`), so `custom-http-errors: "401"`
  with `default-backend` hands every 401 to the metadata service, which answers 401 with the challenge; the
  same service serves the metadata documents, unauthenticated, at the RFC 9728 well-known paths.
Annotation names: kubernetes/ingress-nginx docs/user-guide/nginx-configuration/annotations.md ("External
Authentication", "Custom HTTP Errors", "Default Backend"); none of them is a snippet, so they pass the
controller's default `annotations-risk-level` (High) and `allow-snippet-annotations: false`
(annotations-risk.md, configmap.md). oauth2-proxy flags: oauth2-proxy v7.15.6 `pkg/apis/options`.

Sessions: an MCP session (`Mcp-Session-Id`) lives in the replica that answered its `initialize`, and
programmatic clients keep no cookie jar, so the route hashes on something every request of a session
carries, the initialize included: the caller oauth2-proxy authenticated (see `SESSION_HASH_KEY`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

# RFC 9728 section 3: the well-known URI suffix, inserted between the host and the resource's path.
METADATA_PREFIX = "/.well-known/oauth-protected-resource"

OAUTH2_PROXY_NAME = "oauth2-proxy"
OAUTH2_PROXY_PORT = 4180
OAUTH2_PROXY_AUTH_PATH = "/oauth2/auth"
OAUTH2_PROXY_PING_PATH = "/ping"
OAUTH2_PROXY_READY_PATH = "/ready"
OAUTH2_PROXY_SECRETS_DIR = "/etc/oauth2-proxy"
CLIENT_SECRET_FILE = "client-secret"  # noqa: S105 - a file name, not a value
COOKIE_SECRET_FILE = "cookie-secret"  # noqa: S105 - a file name, not a value
# The identity provider's CA bundle, from a ConfigMap: the issuer is an internal name no public CA signs for.
ISSUER_CA_DIR = "/etc/oauth2-proxy-ca"
ISSUER_CA_FILE = "issuer-ca.crt"

METADATA_SERVICE_NAME = "mcp-auth-metadata"
METADATA_PORT = 8080

# What oauth2-proxy tells the servers about the caller (`--set-xauthrequest`), passed on by ingress-nginx.
CALLER_HEADERS = ("X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups")
CHALLENGED_STATUS = 401

AUTH_URL_ANNOTATION = "nginx.ingress.kubernetes.io/auth-url"
AUTH_RESPONSE_HEADERS_ANNOTATION = "nginx.ingress.kubernetes.io/auth-response-headers"
CUSTOM_HTTP_ERRORS_ANNOTATION = "nginx.ingress.kubernetes.io/custom-http-errors"
DEFAULT_BACKEND_ANNOTATION = "nginx.ingress.kubernetes.io/default-backend"
# annotations.md "Custom NGINX upstream hashing"; risk High (upstreamhashby/main.go), so the default
# `annotations-risk-level` admits it. Cookie affinity must be absent: balancer.lua `get_implementation`
# picks the sticky balancer over `chash` whenever `affinity: cookie` is set.
UPSTREAM_HASH_BY_ANNOTATION = "nginx.ingress.kubernetes.io/upstream-hash-by"
# The key is the caller, not `$http_mcp_session_id`: an initialize carries no session id, so hashing the
# header sends every initialize to the replica the empty key picks, and the session's next requests to
# the replica their id picks; they differ for about half the sessions with two replicas. The caller is on
# every request, initialize included, and survives token refreshes. ingress-nginx keeps each
# `auth-response-headers` entry in `$authHeader<index>` (template.go `buildAuthResponseHeaders`), and the
# balancer runs after the auth subrequest, so the variable holds oauth2-proxy's X-Auth-Request-User.
SESSION_CALLER_HEADER = "X-Auth-Request-User"
SESSION_HASH_KEY = f"$authHeader{CALLER_HEADERS.index(SESSION_CALLER_HEADER)}"

# Keycloak's group mapper with "Full group path" on (its default) writes groups as `/parent/child`;
# oauth2-proxy compares `--allowed-group` with the claim's strings exactly.
GROUP_PATH_PATTERN = r"^(/[A-Za-z0-9._-]+)+$"


@dataclass(frozen=True)
class EdgeAuth:
    """Who may call the MCP servers published at `https://<host><path>`, and where the checks run."""

    host: str
    namespace: str
    issuer_url: str
    audience: str
    allowed_groups: tuple[str, ...]
    groups_claim: str
    server_paths: tuple[str, ...]

    def __post_init__(self) -> None:
        for path in self.server_paths:
            if not path.startswith("/") or any(char in path for char in "'\"\\ "):
                raise ValueError(f"{path!r} is not an absolute URL path an nginx map can hold")


def oauth2_proxy_auth_url(namespace: str) -> str:
    """The in-cluster URL ingress-nginx sends each auth subrequest to: the stack's oauth2-proxy Service."""
    return f"http://{OAUTH2_PROXY_NAME}.{namespace}.svc.cluster.local:{OAUTH2_PROXY_PORT}{OAUTH2_PROXY_AUTH_PATH}"


def resource_url(host: str, path: str) -> str:
    """The protected resource's identifier: the MCP endpoint's own https URL (RFC 9728 `resource`)."""
    return f"https://{host}{path}"


def metadata_path(path: str) -> str:
    return METADATA_PREFIX + path


def metadata_url(host: str, path: str) -> str:
    return f"https://{host}{metadata_path(path)}"


def challenge(host: str, path: str, *, token_sent: bool = False) -> str:
    """The `WWW-Authenticate` value of a 401 for the server at `path` (MCP "Authorization", RFC 9728 5.1).

    A request that carried a token which failed is told so with RFC 6750's `error="invalid_token"`.
    """
    value = f'Bearer resource_metadata="{metadata_url(host, path)}"'
    return value + ', error="invalid_token"' if token_sent else value


def protected_resource_metadata(edge: EdgeAuth, path: str) -> dict[str, object]:
    """The RFC 9728 document of the server at `path` (section 2: `resource`, `authorization_servers`, ...)."""
    return {
        "resource": resource_url(edge.host, path),
        "authorization_servers": [edge.issuer_url],
        "bearer_methods_supported": ["header"],
    }


def external_auth_annotations(edge: EdgeAuth) -> dict[str, str]:
    """The ingress-nginx annotations that put every path of an Ingress behind the edge's check."""
    return {
        AUTH_URL_ANNOTATION: oauth2_proxy_auth_url(edge.namespace),
        AUTH_RESPONSE_HEADERS_ANNOTATION: ",".join(CALLER_HEADERS),
        CUSTOM_HTTP_ERRORS_ANNOTATION: str(CHALLENGED_STATUS),
        DEFAULT_BACKEND_ANNOTATION: METADATA_SERVICE_NAME,
        UPSTREAM_HASH_BY_ANNOTATION: SESSION_HASH_KEY,
    }


def oauth2_proxy_args(
    edge: EdgeAuth,
    *,
    listen_address: str = f"0.0.0.0:{OAUTH2_PROXY_PORT}",
    secrets_dir: str = OAUTH2_PROXY_SECRETS_DIR,
    issuer_ca_dir: str = ISSUER_CA_DIR,
) -> list[str]:
    """oauth2-proxy's command line: bearer JWTs only, from the issuer, for the audience, in an allowed group.

    The JWT must verify against the issuer's JWKS (OIDC discovery), be unexpired, and carry the audience
    (oauth2-proxy accepts the `aud` of `--client-id`, pkg/providers/oidc/verifier.go); a group from the
    `--oidc-groups-claim` must be one of `--allowed-group` (providers/provider_default.go `Authorize`).
    Clients of an MCP server are programs without a browser, so no login flow is offered: the upstream is a
    static 202, and `--email-domain=*` because service tokens carry no email (the groups decide).

    The issuer's discovery document is fetched at start over TLS checked against `--provider-ca-file` only
    (`--use-system-trust-store` stays false; legacy_options.go, pkg/validation/options.go `GetCertPool`):
    without it oauth2-proxy cannot reach an internal issuer and exits.
    Keycloak's client-credentials tokens carry `email_verified: false`, which oauth2-proxy's oidc provider
    refuses ("email in id_token isn't verified", providers/provider_data.go `buildSessionFromClaims`)
    unless `--insecure-oidc-allow-unverified-email`; the email is never what admits a caller here (audience
    and group do), so the flag costs nothing, and servers must not trust X-Auth-Request-Email as verified.
    """
    if not edge.allowed_groups:
        raise ValueError("at least one allowed group is needed; without one every token of the issuer passes")
    secrets = PurePosixPath(secrets_dir)
    return [
        "--provider=oidc",
        f"--oidc-issuer-url={edge.issuer_url}",
        f"--client-id={edge.audience}",
        f"--client-secret-file={secrets / CLIENT_SECRET_FILE}",
        f"--cookie-secret-file={secrets / COOKIE_SECRET_FILE}",
        f"--provider-ca-file={PurePosixPath(issuer_ca_dir) / ISSUER_CA_FILE}",
        "--insecure-oidc-allow-unverified-email=true",
        "--skip-jwt-bearer-tokens=true",
        f"--oidc-groups-claim={edge.groups_claim}",
        *(f"--allowed-group={group}" for group in edge.allowed_groups),
        "--email-domain=*",
        "--upstream=static://202",
        f"--http-address={listen_address}",
        "--set-xauthrequest=true",
        "--silence-ping-logging=true",
    ]


def _nginx_string(text: str) -> str:
    if "'" in text or "\\" in text:
        raise ValueError(f"{text!r} cannot be written as a single-quoted nginx string")
    return f"'{text}'"


def metadata_server_config(edge: EdgeAuth, *, listen: str = str(METADATA_PORT)) -> str:
    """The metadata service's nginx `server` (and its maps), for the http context of nginx.conf.

    `location = /` answers the 401s ingress-nginx hands over (its custom-error location rewrites the URI to
    `/` and sends the original one as X-Original-URI); the well-known paths answer the documents; anything
    else (a request ingress-nginx sends here because a server has no ready endpoints) is a 503.
    """
    challenges = "\n".join(
        f"    {_nginx_string(f'~^{path}([?#]|$)')} {_nginx_string(challenge(edge.host, path))};"
        for path in edge.server_paths
    )
    documents = "\n".join(
        f"    location = {metadata_path(path)} {{\n"
        "        default_type application/json;\n"
        '        add_header Cache-Control "max-age=300" always;\n'
        f"        return 200 {_nginx_string(json.dumps(protected_resource_metadata(edge, path)))};\n"
        "    }"
        for path in edge.server_paths
    )
    return f"""map $http_x_original_uri $mcp_challenge {{
    default 'Bearer realm="sophia-mcp"';
{challenges}
}}
map $http_authorization $mcp_token_error {{
    default ', error="invalid_token"';
    '' '';
}}
server {{
    listen {listen};
    server_tokens off;
    location = / {{
        add_header WWW-Authenticate "$mcp_challenge$mcp_token_error" always;
        default_type application/json;
        return 401 '{{"error":"unauthorized"}}';
    }}
{documents}
    location / {{
        return 503;
    }}
}}
"""


def required_route_annotations(namespace: str) -> Mapping[str, str]:
    """Annotation -> value every MCP route must carry (the pack's check; `custom-http-errors` as a list)."""
    return {
        AUTH_URL_ANNOTATION: oauth2_proxy_auth_url(namespace),
        CUSTOM_HTTP_ERRORS_ANNOTATION: str(CHALLENGED_STATUS),
        DEFAULT_BACKEND_ANNOTATION: METADATA_SERVICE_NAME,
    }


def missing_route_auth(annotations: Mapping[str, object], namespace: str) -> list[str]:
    """What an MCP route's annotations lack of the edge's authentication, each as `annotation: wanted`."""
    missing: list[str] = []
    for key, wanted in required_route_annotations(namespace).items():
        given = annotations.get(key)
        if key == CUSTOM_HTTP_ERRORS_ANNOTATION:
            codes = [code.strip() for code in given.split(",")] if isinstance(given, str) else []
            if wanted not in codes:
                missing.append(
                    f"{key} including {wanted} (so a refusal carries the WWW-Authenticate challenge)"
                )
        elif given != wanted:
            missing.append(f"{key}: {wanted}" + (f" (it is {given!r})" if given is not None else ""))
    return missing
