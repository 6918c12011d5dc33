"""The edge's authentication, proven with the real pieces on loopback.

Real oauth2-proxy (built from Go modules, testkit/toolchain/oauth2-proxy) runs with the command line the
production plan gives its Deployment, and real nginx runs what ingress-nginx generates for the production MCP
Ingress's annotations (testkit/harness/ingress_nginx.py) plus the metadata service's server exactly as its
ConfigMap holds it.
Only addresses change: the issuer, the listen addresses and the secrets' directory point at this machine.
In front of them: a local OIDC issuer with its JWKS and a small MCP server.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from domain.mcp_edge import (
    CLIENT_SECRET_FILE,
    COOKIE_SECRET_FILE,
    METADATA_SERVICE_NAME,
    OAUTH2_PROXY_PING_PATH,
    challenge,
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
from harness.ingress_nginx import Route, edge_config
from harness.paths import PROJECT_DIR
from offline.engine import preview
from offline.plan import Plan, ResourcePlan

SERVER = "ai-memory"
SERVER_PATH = f"/{SERVER}/mcp"
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
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def _tool(command: Sequence[str], what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT_DIR)
    if result.returncode == 0 and result.stdout.strip():
        return result.stdout.strip().splitlines()[-1]
    reason = f"{what} is not available ({result.stderr.strip()}); `make edge-tools` builds and installs it"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def oauth2_proxy_binary() -> str:
    return _tool(["bash", "testkit/toolchain/oauth2-proxy/build.sh", "--check"], "oauth2-proxy")


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    return _tool(["bash", "testkit/install/install-nginx.sh", "--check"], "nginx with auth_request")


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
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
        audience=_flag(args, "--client-id"),
        allowed_group=_flag(args, "--allowed-group"),
    )


def _flag(args: Sequence[str], name: str) -> str:
    return next(arg.split("=", 1)[1] for arg in args if arg.startswith(f"{name}="))


def _pointed_at_loopback(args: Sequence[str], replacements: Mapping[str, str]) -> list[str]:
    """The stack's flags with only the addresses replaced; each replaced flag must be one the stack sets."""
    names = {arg.split("=", 1)[0] for arg in args}
    assert set(replacements) <= names, f"the stack no longer sets {sorted(set(replacements) - names)}"
    return [
        f"{name}={replacements[name]}" if (name := arg.split("=", 1)[0]) in replacements else arg
        for arg in args
    ]


def _routes(ingress: Mapping[str, Any], upstreams: Mapping[str, str]) -> list[Route]:
    annotations = ingress["metadata"].get("annotations") or {}
    return [
        Route(
            path=path["path"],
            exact=path["pathType"] == "Exact",
            annotations=annotations,
            upstream=upstreams[path["backend"]["service"]["name"]],
        )
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]


@dataclass(frozen=True)
class Edge:
    port: int
    host: str
    issuer: Issuer
    mcp: McpServer
    stack: Stack


@pytest.fixture(scope="module")
def edge(
    stack: Stack, oauth2_proxy_binary: str, nginx_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Edge]:
    workdir = tmp_path_factory.mktemp("edge")
    secrets_dir = workdir / "oauth2-proxy"
    secrets_dir.mkdir()
    (secrets_dir / CLIENT_SECRET_FILE).write_text(secrets.token_urlsafe(24))
    (secrets_dir / COOKIE_SECRET_FILE).write_text(secrets.token_hex(16))
    proxy_port, metadata_port, edge_port = free_port(), free_port(), free_port()
    with running_issuer() as issuer, running_mcp_server() as mcp:
        proxy_args = _pointed_at_loopback(
            stack.oauth2_proxy_args,
            {
                "--oidc-issuer-url": issuer.url,
                "--http-address": f"{LOOPBACK}:{proxy_port}",
                "--client-secret-file": str(secrets_dir / CLIENT_SECRET_FILE),
                "--cookie-secret-file": str(secrets_dir / COOKIE_SECRET_FILE),
            },
        )
        stack_listen = "    listen 8080;\n"
        assert stack_listen in stack.metadata_server
        metadata_server = stack.metadata_server.replace(
            stack_listen, f"    listen {LOOPBACK}:{metadata_port};\n"
        )
        metadata_address = f"{LOOPBACK}:{metadata_port}"
        mcp_services = {
            path["backend"]["service"]["name"]: mcp.address
            for path in stack.mcp_ingress["spec"]["rules"][0]["http"]["paths"]
        }
        routes = [
            *_routes(stack.metadata_ingress, {METADATA_SERVICE_NAME: metadata_address}),
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
                ready_url=f"http://{LOOPBACK}:{edge_port}/",
            ),
        ):
            yield Edge(port=edge_port, host=stack.host, issuer=issuer, mcp=mcp, stack=stack)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _call(edge: Edge, path: str, *, token: str | None = None, method: str = "POST", **headers: str) -> Answer:
    connection = http.client.HTTPConnection(LOOPBACK, edge.port, timeout=10)
    try:
        sent = {
            "Host": edge.host,
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **headers,
        }
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        body = json.dumps(INITIALIZE).encode() if method == "POST" else None
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def _good_token(edge: Edge, **changes: Any) -> str:
    return edge.issuer.token(
        **({"audience": edge.stack.audience, "groups": [edge.stack.allowed_group]} | changes)
    )


EXPECTED_CHALLENGE = 'Bearer resource_metadata="https://mcp.sophia-ai.internal/.well-known/oauth-protected-resource/ai-memory/mcp"'


def test_a_call_without_a_token_gets_401_pointing_at_the_protected_resource_metadata(edge: Edge) -> None:
    before = len(edge.mcp.seen)
    answer = _call(edge, SERVER_PATH)
    assert answer.status == 401
    assert answer.headers.get_all("WWW-Authenticate") == [EXPECTED_CHALLENGE]
    assert challenge(edge.host, SERVER_PATH) == EXPECTED_CHALLENGE
    assert len(edge.mcp.seen) == before


def test_the_metadata_the_challenge_points_at_is_served_without_a_token(edge: Edge) -> None:
    answer = _call(edge, f"/.well-known/oauth-protected-resource{SERVER_PATH}", method="GET")
    assert answer.status == 200
    assert answer.headers.get_content_type() == "application/json"
    assert answer.json() == {
        "resource": f"https://mcp.sophia-ai.internal{SERVER_PATH}",
        "authorization_servers": ["https://auth.sophia-ai.internal/realms/sophia"],
        "bearer_methods_supported": ["header"],
    }


@pytest.mark.parametrize(
    "bad_token",
    [
        pytest.param({"expires_in": -600}, id="expired"),
        pytest.param({"forged": True}, id="wrongly-signed"),
        pytest.param({"audience": "another-api"}, id="wrong-audience"),
        pytest.param({"groups": ["sales"]}, id="wrong-group"),
        pytest.param({"groups": []}, id="no-group"),
        pytest.param({"issuer": "https://auth.elsewhere.example"}, id="wrong-issuer"),
    ],
)
def test_a_bad_token_is_refused_before_the_server(edge: Edge, bad_token: dict[str, Any]) -> None:
    before = len(edge.mcp.seen)
    answer = _call(edge, SERVER_PATH, token=_good_token(edge, **bad_token))
    assert answer.status in (401, 403)
    if answer.status == 401:
        assert answer.headers.get_all("WWW-Authenticate") == [f'{EXPECTED_CHALLENGE}, error="invalid_token"']
    assert len(edge.mcp.seen) == before


def test_a_good_token_reaches_the_server_and_gets_its_initialize_answer(edge: Edge) -> None:
    answer = _call(edge, SERVER_PATH, token=_good_token(edge, subject="svc-claude-desktop"))
    assert answer.status == 200, answer.body
    reply = answer.json()
    assert reply["id"] == 1
    assert reply["result"]["protocolVersion"] == PROTOCOL_VERSION
    assert reply["result"]["serverInfo"]["name"] == "ai-memory"
    seen = edge.mcp.seen[-1]
    assert seen["X-Auth-Request-User"] == "svc-claude-desktop"
    assert seen["X-Auth-Request-Groups"] == edge.stack.allowed_group


def test_a_caller_cannot_claim_another_identity_through_the_forwarded_headers(edge: Edge) -> None:
    token = _good_token(edge, subject="svc-reporting")
    answer = _call(edge, SERVER_PATH, token=token, **{"X-Auth-Request-User": "admin"})
    assert answer.status == 200, answer.body
    assert edge.mcp.seen[-1]["X-Auth-Request-User"] == "svc-reporting"
