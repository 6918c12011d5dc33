"""nginx.conf for the loopback edge: what ingress-nginx generates for the MCP Ingress's annotations.

Mirrors kubernetes/ingress-nginx rootfs/etc/nginx/template/nginx.tmpl for a location with `auth-url`
(the internal `/_external-auth-...` location and `auth_request`), `auth-response-headers` (template.go
`buildAuthResponseHeaders`: `auth_request_set $authHeaderN $upstream_http_<name>` then `proxy_set_header`),
`custom-http-errors` with `default-backend` (`proxy_intercept_errors on`, `error_page <code> =
@custom_<backend>_<code>` and the CUSTOM_ERRORS named location, which rewrites the URI to `/` and sends the
original as X-Original-URI), `rewrite-target` and `upstream-hash-by`. The annotations are read from the
dict the stack puts on the Ingress; only the upstream addresses are loopback ones instead of cluster Services
(one per ready endpoint, as the controller lists a Service's endpoints). With rewrite-target ingress-nginx
writes an Exact path as a case-insensitive regex location; `location =` matches the same requests here, where
each path has one location of its own.

Balancing: ingress-nginx picks an endpoint in Lua (rootfs/etc/nginx/lua/balancer.lua): round robin by
default, `chash` (resty.chash, a consistent hash ring over the endpoints) for a backend with
`upstream-hash-by`. Stock nginx has no Lua, so its own `hash <key> consistent;`
(ngx_http_upstream_hash_module, ketama) stands in: both send every request with the same key to the same
endpoint while the endpoints do not change, which is the property the edge relies on; which endpoint a
given key picks differs between them. Cookie affinity is not modelled: a client without a cookie jar gets
no stickiness from it.

TLS: the server listens with the certificate of the Secret the Ingress's `spec.tls` names, for its hosts
(ingress-nginx loads it per host from the Secret; a missing Secret means its self-signed default one).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from domain.mcp_edge import (
    AUTH_RESPONSE_HEADERS_ANNOTATION,
    AUTH_URL_ANNOTATION,
    CUSTOM_HTTP_ERRORS_ANNOTATION,
    DEFAULT_BACKEND_ANNOTATION,
    UPSTREAM_HASH_BY_ANNOTATION,
)

REWRITE_TARGET_ANNOTATION = "nginx.ingress.kubernetes.io/rewrite-target"


@dataclass(frozen=True)
class Route:
    """One Ingress path as ingress-nginx serves it: its path, whether it is Exact, its Ingress's
    annotations, and the host:port of each endpoint of its backend Service on loopback."""

    path: str
    exact: bool
    annotations: Mapping[str, str]
    endpoints: tuple[str, ...]


@dataclass(frozen=True)
class Tls:
    """The certificate and key files of the TLS Secret an Ingress names, as the controller would load them."""

    cert_file: Path
    key_file: Path


def _upstream_name(index: int) -> str:
    return f"route_{index}"


def _upstream(index: int, route: Route) -> str:
    hash_by = route.annotations.get(UPSTREAM_HASH_BY_ANNOTATION)
    lines = [f"    upstream {_upstream_name(index)} {{"]
    if hash_by:
        lines.append(f"        hash {hash_by} consistent;")
    lines += [f"        server {endpoint};" for endpoint in route.endpoints]
    lines.append("    }")
    return "\n".join(lines)


def _auth_location(route: Route) -> str:
    # template.go buildAuthLocation: base64url of the location path, then its path type.
    encoded = base64.urlsafe_b64encode(route.path.encode()).decode().rstrip("=")
    return f"/_external-auth-{encoded}-{'Exact' if route.exact else 'Prefix'}"


def _listed(annotations: Mapping[str, str], key: str) -> list[str]:
    return [item.strip() for item in annotations.get(key, "").split(",") if item.strip()]


def _location(position: int, route: Route, host: str, auth_url: str) -> str:
    annotations = route.annotations
    lines: list[str] = []
    authenticated = AUTH_URL_ANNOTATION in annotations
    if authenticated:
        lines += [
            f"        location = {_auth_location(route)} {{",
            "            internal;",
            "            proxy_intercept_errors off;",
            "            proxy_pass_request_body off;",
            '            proxy_set_header Content-Length "";',
            '            proxy_set_header X-Forwarded-Proto "";',
            "            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;",
            "            proxy_set_header X-Original-Method $request_method;",
            '            proxy_set_header X-Sent-From "nginx-ingress-controller";',
            "            proxy_set_header X-Real-IP $remote_addr;",
            "            proxy_set_header X-Forwarded-For $remote_addr;",
            "            proxy_set_header X-Auth-Request-Redirect $request_uri;",
            "            proxy_pass_request_headers on;",
            f'            set $target "{auth_url}";',
            "            proxy_pass $target;",
            "        }",
        ]
    lines.append(f"        location {'= ' if route.exact else ''}{route.path} {{")
    if authenticated:
        lines.append(f"            auth_request {_auth_location(route)};")
        for index, header in enumerate(_listed(annotations, AUTH_RESPONSE_HEADERS_ANNOTATION)):
            variable = header.lower().replace("-", "_")
            lines += [
                f"            auth_request_set $authHeader{index} $upstream_http_{variable};",
                f"            proxy_set_header '{header}' $authHeader{index};",
            ]
    codes = _listed(annotations, CUSTOM_HTTP_ERRORS_ANNOTATION)
    backend = annotations.get(DEFAULT_BACKEND_ANNOTATION)
    if codes and backend:
        lines.append("            proxy_intercept_errors on;")
        lines += [f"            error_page {code} = @custom_{backend}_{code};" for code in codes]
    target = annotations.get(REWRITE_TARGET_ANNOTATION)
    if target:
        lines.append(f'            rewrite "(?i){route.path}" {target} break;')
    lines += [
        f"            proxy_set_header Host {host};",
        "            proxy_http_version 1.1;",
        f"            proxy_pass http://{_upstream_name(position)};",
        "        }",
    ]
    return "\n".join(lines)


def _custom_errors(routes: Sequence[Route], backends: Mapping[str, str]) -> str:
    named = sorted(
        {
            (backend, code)
            for route in routes
            if (backend := route.annotations.get(DEFAULT_BACKEND_ANNOTATION))
            for code in _listed(route.annotations, CUSTOM_HTTP_ERRORS_ANNOTATION)
        }
    )
    return "\n".join(
        f"""        location @custom_{backend}_{code} {{
            internal;
            proxy_intercept_errors off;
            proxy_set_header X-Code {code};
            proxy_set_header X-Format $http_accept;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header Host $host;
            rewrite (.*) / break;
            proxy_pass http://{backends[backend]};
        }}"""
        for backend, code in named
    )


def edge_config(
    workdir: Path,
    *,
    host: str,
    port: int,
    routes: Sequence[Route],
    auth_url: str,
    backends: Mapping[str, str],
    extra_servers: str,
    tls: Tls,
) -> str:
    """A whole nginx.conf: the Ingress host's server with the routes, plus other servers (the metadata
    service's, exactly as its ConfigMap holds it but for its listen address). `auth_url` stands in for the
    auth-url annotation's cluster address; `backends` maps a default-backend Service to its loopback
    address; `tls` is the certificate the host is served with."""
    locations = "\n".join(_location(index, route, host, auth_url) for index, route in enumerate(routes))
    upstreams = "\n".join(_upstream(index, route) for index, route in enumerate(routes))
    temp = {name: workdir / name for name in ("client", "proxy", "fastcgi", "uwsgi", "scgi")}
    return f"""daemon off;
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} info;
events {{
    worker_connections 64;
}}
http {{
    access_log {workdir / "access.log"};
    client_body_temp_path {temp["client"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
{extra_servers}
{upstreams}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {host};
        ssl_certificate {tls.cert_file};
        ssl_certificate_key {tls.key_file};
        ssl_protocols TLSv1.2 TLSv1.3;
{_custom_errors(routes, backends)}
{locations}
        location / {{
            return 404;
        }}
    }}
}}
"""
