"""The edge on loopback, assembled from the production plan: what every edge test talks to.

Real oauth2-proxy (built from Go modules, testkit/toolchain/oauth2-proxy) runs with the command line the
production plan gives its Deployment, and real nginx runs what ingress-nginx generates for the production MCP
Ingress's annotations (testkit/harness/ingress_nginx.py), served with the certificate of the TLS Secret the
plan provides, plus the metadata service's server exactly as its ConfigMap holds it. Only addresses and files
change: the issuer, the listen addresses, the secrets' and the CA bundle's files point at this machine, and
the certificates come from a private CA made per run (the values ESC would hold). In front of them: a local
OIDC issuer over HTTPS with its own CA and JWKS, and two replicas of an MCP server that keep sessions.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import ssl
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.ingress_tls import SECRET_RESOURCE, TLS_SECRET_TYPE, provided_secret
from domain.mcp_edge import (
    CLIENT_SECRET_FILE,
    COOKIE_SECRET_FILE,
    ISSUER_CA_FILE,
    METADATA_PREFIX,
    METADATA_SERVICE_NAME,
    OAUTH2_PROXY_PING_PATH,
)
from harness.edge_servers import (
    LOOPBACK,
    PROTOCOL_VERSION,
    Issuer,
    McpServer,
    free_port,
    running_issuer,
    running_mcp_server,
    running_process,
)
from harness.ingress_nginx import Route, Tls, edge_config
from harness.paths import PROJECT_DIR
from harness.pki import CertificateAuthority
from offline.engine import preview
from offline.plan import Plan, ResourcePlan

SERVER = "ai-memory"
SERVER_PATH = f"/{SERVER}/mcp"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
ISSUER_HOST = "localhost"
# oauth2-proxy waits for nothing at start but the issuer's discovery; a busy machine gets a minute.
PROCESS_EXIT_TIMEOUT_SECONDS = 60


def _tool(command: Sequence[str], what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT_DIR)
    if result.returncode == 0 and result.stdout.strip():
        return result.stdout.strip().splitlines()[-1]
    reason = f"{what} is not available ({result.stderr.strip()}); `make edge-tools` builds and installs it"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def oauth2_proxy_binary() -> str:
    return _tool(["bash", "testkit/toolchain/oauth2-proxy/build.sh", "--check"], "oauth2-proxy")


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    return _tool(["bash", "testkit/install/install-nginx.sh", "--check"], "nginx with auth_request")


@pytest.fixture(scope="session")
def production() -> Plan:
    return preview(PROJECT_DIR, "production")


def _one(plan: Plan, resource_type: str, name: str) -> ResourcePlan:
    (found,) = [r for r in plan.resources if r.type == resource_type and r.name == name]
    return found


@dataclass(frozen=True)
class Stack:
    """What the production plan configures at the edge."""

    host: str
    mcp_ingress: Mapping[str, Any]
    metadata_ingress: Mapping[str, Any]
    oauth2_proxy_args: list[str]
    metadata_server: str
    audience: str
    allowed_group: str
    tls_secret: ResourcePlan


def _tls_secret(plan: Plan, ingress: Mapping[str, Any]) -> ResourcePlan:
    """The kubernetes.io/tls Secret of the plan that the Ingress's spec.tls names, in its namespace."""
    (tls,) = ingress["spec"]["tls"]
    wanted = (ingress["metadata"]["namespace"], tls["secretName"])
    found = [
        item
        for item in plan.resources
        if item.type == SECRET_RESOURCE
        and (ref := provided_secret(item.type, item.inputs)) is not None
        and (ref.namespace, ref.name) == wanted
    ]
    assert found, f"nothing in the production plan provides the TLS Secret {'/'.join(wanted)}"
    assert found[0].inputs["type"] == TLS_SECRET_TYPE
    return found[0]


@pytest.fixture(scope="session")
def stack(production: Plan) -> Stack:
    deployment = _one(production, "kubernetes:apps/v1:Deployment", "mcp-auth-oauth2-proxy")
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    args = list(container["args"])
    mcp_ingress = _one(production, INGRESS, "mcp-ingress").inputs
    return Stack(
        host=mcp_ingress["spec"]["rules"][0]["host"],
        mcp_ingress=mcp_ingress,
        metadata_ingress=_one(production, INGRESS, "mcp-auth-metadata").inputs,
        oauth2_proxy_args=args,
        metadata_server=_one(production, "kubernetes:core/v1:ConfigMap", "mcp-auth-metadata").inputs["data"][
            "default.conf"
        ],
        audience=flag(args, "--client-id"),
        allowed_group=flag(args, "--allowed-group"),
        tls_secret=_tls_secret(production, mcp_ingress),
    )


def flag(args: Sequence[str], name: str) -> str:
    return next(arg.split("=", 1)[1] for arg in args if arg.startswith(f"{name}="))


def pointed_at_loopback(args: Sequence[str], replacements: Mapping[str, str]) -> list[str]:
    """The stack's flags with only the addresses replaced; each replaced flag must be one the stack sets."""
    names = {arg.split("=", 1)[0] for arg in args}
    assert set(replacements) <= names, f"the stack no longer sets {sorted(set(replacements) - names)}"
    return [
        f"{name}={replacements[name]}" if (name := arg.split("=", 1)[0]) in replacements else arg
        for arg in args
    ]


def _routes(ingress: Mapping[str, Any], endpoints: Mapping[str, tuple[str, ...]]) -> list[Route]:
    annotations = ingress["metadata"].get("annotations") or {}
    return [
        Route(
            path=path["path"],
            exact=path["pathType"] == "Exact",
            annotations=annotations,
            endpoints=endpoints[path["backend"]["service"]["name"]],
        )
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]


@dataclass(frozen=True)
class Pki:
    """The CA a client of the edge trusts (the ingress certificate's), and the issuer's CA."""

    edge_ca: CertificateAuthority
    issuer_ca: CertificateAuthority


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    return Pki(
        edge_ca=CertificateAuthority("sophia-internal", directory / "edge"),
        issuer_ca=CertificateAuthority("identity-provider", directory / "issuer"),
    )


@dataclass(frozen=True)
class OAuth2Proxy:
    """How the stack's oauth2-proxy is started on loopback: its binary, its flags, its files."""

    binary: str
    args: list[str]
    workdir: Path

    def without(self, name: str) -> list[str]:
        assert any(arg.startswith(f"{name}=") for arg in self.args), f"the stack does not set {name}"
        return [arg for arg in self.args if not arg.startswith(f"{name}=")]


@dataclass(frozen=True)
class Edge:
    port: int
    host: str
    issuer: Issuer
    replicas: tuple[McpServer, ...]
    stack: Stack
    pki: Pki
    oauth2_proxy: OAuth2Proxy

    @property
    def seen(self) -> list[Mapping[str, str]]:
        """What every replica of the server answered, in order (the replicas share one list)."""
        return self.replicas[0].seen


@pytest.fixture(scope="session")
def edge(
    stack: Stack,
    pki: Pki,
    oauth2_proxy_binary: str,
    nginx_binary: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Edge]:
    workdir = tmp_path_factory.mktemp("edge")
    secrets_dir = workdir / "oauth2-proxy"
    secrets_dir.mkdir()
    (secrets_dir / CLIENT_SECRET_FILE).write_text(secrets.token_urlsafe(24))
    (secrets_dir / COOKIE_SECRET_FILE).write_text(secrets.token_hex(16))
    # The issuer CA bundle as the ConfigMap mounts it: the CA's PEM in a file of that name.
    ca_bundle = secrets_dir / ISSUER_CA_FILE
    ca_bundle.write_bytes(pki.issuer_ca.cert_file.read_bytes())
    # The TLS Secret's tls.crt (leaf, then CA) and tls.key, as ESC would hold them for the ingress host.
    served = pki.edge_ca.issue(stack.host)
    proxy_port, metadata_port, edge_port = free_port(), free_port(), free_port()
    seen: list[Mapping[str, str]] = []
    with (
        running_issuer(pki.issuer_ca.issue(ISSUER_HOST)) as issuer,
        running_mcp_server("replica-a", seen) as replica_a,
        running_mcp_server("replica-b", seen) as replica_b,
    ):
        proxy_args = pointed_at_loopback(
            stack.oauth2_proxy_args,
            {
                "--oidc-issuer-url": issuer.url,
                "--http-address": f"{LOOPBACK}:{proxy_port}",
                "--client-secret-file": str(secrets_dir / CLIENT_SECRET_FILE),
                "--cookie-secret-file": str(secrets_dir / COOKIE_SECRET_FILE),
                "--provider-ca-file": str(ca_bundle),
            },
        )
        stack_listen = "    listen 8080;\n"
        assert stack_listen in stack.metadata_server
        metadata_server = stack.metadata_server.replace(
            stack_listen, f"    listen {LOOPBACK}:{metadata_port};\n"
        )
        metadata_address = f"{LOOPBACK}:{metadata_port}"
        # The server under test has two replicas; the Ingress's other servers stand at the first one.
        mcp_services: dict[str, tuple[str, ...]] = {
            path["backend"]["service"]["name"]: (replica_a.address,)
            for path in stack.mcp_ingress["spec"]["rules"][0]["http"]["paths"]
        }
        mcp_services[f"{SERVER}-sophia-mcp"] = (replica_a.address, replica_b.address)
        routes = [
            *_routes(stack.metadata_ingress, {METADATA_SERVICE_NAME: (metadata_address,)}),
            *_routes(stack.mcp_ingress, mcp_services),
        ]
        config = workdir / "nginx.conf"
        config.write_text(
            edge_config(
                workdir,
                host=stack.host,
                port=edge_port,
                routes=routes,
                auth_url=f"http://{LOOPBACK}:{proxy_port}/oauth2/auth",
                backends={METADATA_SERVICE_NAME: metadata_address},
                extra_servers=metadata_server,
                tls=Tls(cert_file=served.cert_file, key_file=served.key_file),
            )
        )
        with (
            running_process(
                [oauth2_proxy_binary, *proxy_args],
                log=workdir / "oauth2-proxy.log",
                ready_url=f"http://{LOOPBACK}:{proxy_port}{OAUTH2_PROXY_PING_PATH}",
            ),
            running_process(
                [nginx_binary, "-p", str(workdir), "-c", str(config)],
                log=workdir / "nginx.log",
                # The metadata server is plain HTTP in the same nginx: once it answers, the TLS one does too.
                ready_url=f"http://{metadata_address}{METADATA_PREFIX}{SERVER_PATH}",
            ),
        ):
            yield Edge(
                port=edge_port,
                host=stack.host,
                issuer=issuer,
                replicas=(replica_a, replica_b),
                stack=stack,
                pki=pki,
                oauth2_proxy=OAuth2Proxy(oauth2_proxy_binary, proxy_args, workdir),
            )


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """What a careful client verifies with: the CA it trusts (or the system's), the host name, TLS 1.2+."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class EdgeConnection(http.client.HTTPSConnection):
    """HTTPS to the edge's loopback address, with the SNI and certificate check of its public host name."""

    def __init__(self, address: str, port: int, host: str, context: ssl.SSLContext) -> None:
        super().__init__(host, port, context=context, timeout=30)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "edge-test", "version": "1.0.0"},
    },
}


def call(
    edge: Edge,
    path: str,
    *,
    token: str | None = None,
    method: str = "POST",
    message: Mapping[str, Any] = INITIALIZE,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """One request as an MCP client without a cookie jar sends it (a fresh connection, no Cookie header)."""
    connection = EdgeConnection(LOOPBACK, edge.port, edge.host, client_context(edge.pki.edge_ca.cert_file))
    try:
        sent = {
            "Host": edge.host,
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **(headers or {}),
        }
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        body = json.dumps(message).encode() if method == "POST" else None
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def good_token(edge: Edge, **changes: Any) -> str:
    return edge.issuer.token(
        **({"audience": edge.stack.audience, "groups": [edge.stack.allowed_group]} | changes)
    )
