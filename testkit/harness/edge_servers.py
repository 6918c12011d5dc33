"""Loopback stand-ins around the real edge: the identity provider's issuer and MCP server replicas.

The issuer serves OIDC discovery (`/.well-known/openid-configuration`, OpenID Connect Discovery 1.0 section 3)
and its JWKS from an RSA key generated per run, over HTTPS with a certificate of a private CA (as the
production issuer, an internal name, has), and signs RS256 access tokens with PyJWT, including tokens shaped
like Keycloak's client-credentials ones. An MCP server replica keeps sessions the way the Streamable HTTP
transport defines them (MCP "Transports", 2025-06-18, "Session Management"): `initialize` creates a session
and returns its `Mcp-Session-Id`; any other request must carry that header (400 without it) and gets 404 for
an id this replica does not hold. It refuses anything that is not a well-formed JSON-RPC 2.0 message with the
Accept and Content-Type headers the transport requires.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from harness.pki import ServerCertificate
from offline.processes import stop_process

LOOPBACK = "127.0.0.1"
PROTOCOL_VERSION = "2025-06-18"
SESSION_HEADER = "Mcp-Session-Id"
PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"
# Bounded waits for a process to listen: half a minute at most on a busy machine, never an unbounded loop.
START_ATTEMPTS = 600
START_INTERVAL_SECONDS = 0.05


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send_json(self, status: int, body: object) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextlib.contextmanager
def _serving(
    handler: type[BaseHTTPRequestHandler], certificate: ServerCertificate | None = None
) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    if certificate is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate.cert_file, certificate.key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Issuer:
    """A local OIDC issuer: its URL, its signing key, and a key it does not publish (for forged tokens)."""

    url: str
    key_id: str = "edge-test-key"
    signing_key: rsa.RSAPrivateKey = field(default_factory=_private_key)
    foreign_key: rsa.RSAPrivateKey = field(default_factory=_private_key)

    def token(
        self,
        *,
        audience: str,
        groups: Sequence[str],
        subject: str = "svc-claude-desktop",
        expires_in: int = 300,
        issuer: str | None = None,
        forged: bool = False,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": issuer or self.url,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now - 5,
            "exp": now + expires_in,
            "groups": list(groups),
            **(claims or {}),
        }
        key = self.foreign_key if forged else self.signing_key
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": self.key_id})

    def service_account_id(self, client_id: str) -> str:
        """The id of a client's service-account user: a UUID, stable per client as Keycloak's is."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.url}/clients/{client_id}"))

    def service_account_token(
        self, *, client_id: str, audience: str, groups: Sequence[str], roles: Sequence[str] = ()
    ) -> str:
        """An access token as Keycloak issues it for the client-credentials grant of `client_id`.

        Keycloak's shape: the service-account user's id as `sub`, `typ: Bearer`, `azp` the client, `aud` a
        list (the audience mapper's value beside `account`), `email_verified: false` (the service-account user
        has no email), realm roles under `realm_access.roles`, `preferred_username: service-account-<client>`,
        and the group membership mapper's `groups` as full paths when "Full group path" is on.
        """
        return self.token(
            audience=audience,
            groups=groups,
            subject=self.service_account_id(client_id),
            claims={
                "aud": [audience, "account"],
                "typ": "Bearer",
                "azp": client_id,
                "acr": "1",
                "jti": str(uuid.uuid4()),
                "scope": "profile email",
                "email_verified": False,
                "preferred_username": f"service-account-{client_id}",
                "client_id": client_id,
                "clientHost": "10.42.0.17",
                "clientAddress": "10.42.0.17",
                "realm_access": {"roles": ["default-roles-sophia", "offline_access", *roles]},
                "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
            },
        )

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.signing_key.public_key()))
        return {"keys": [public | {"kid": self.key_id, "use": "sig", "alg": "RS256"}]}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }


@contextlib.contextmanager
def running_issuer(certificate: ServerCertificate) -> Iterator[Issuer]:
    """The issuer at `https://<first host of certificate>:<port>`, serving TLS with that certificate."""
    issuer: Issuer | None = None

    class Handler(_Quiet):
        def do_GET(self) -> None:
            assert issuer is not None
            documents = {"/.well-known/openid-configuration": issuer.discovery, "/jwks": issuer.jwks}
            document = documents.get(self.path)
            if document is None:
                self._send_json(404, {"error": "not_found"})
            else:
                self._send_json(200, document())

    with _serving(Handler, certificate) as server:
        issuer = Issuer(url=f"https://{certificate.hosts[0]}:{server.server_address[1]}")
        yield issuer


@dataclass
class McpServer:
    """One MCP server replica: `seen` keeps the headers of every request it answered (shared between the
    replicas of a server when given), `sessions` the ids it created."""

    address: str
    name: str
    seen: list[Mapping[str, str]] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)
    # The session of each request this replica answered within one (initialize's included), in order.
    answered: list[str] = field(default_factory=list)
    closed: set[str] = field(default_factory=set)


def _message_problem(handler: BaseHTTPRequestHandler, body: bytes) -> str | None:
    accept = handler.headers.get("Accept", "")
    if "application/json" not in accept or "text/event-stream" not in accept:
        return "Accept must list application/json and text/event-stream"
    if not handler.headers.get("Content-Type", "").startswith("application/json"):
        return "Content-Type must be application/json"
    try:
        message = json.loads(body)
    except ValueError:
        return "the body is not JSON"
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or "method" not in message:
        return "not a JSON-RPC 2.0 request or notification"
    if message["method"] == "initialize" and (
        "id" not in message or not isinstance(message.get("params"), dict)
    ):
        return "initialize is a request with params"
    return None


# What this server answers after initialize: requests get these results, notifications a 202.
_RESULTS: dict[str, dict[str, Any]] = {"ping": {}, "tools/list": {"tools": []}}


@contextlib.contextmanager
def running_mcp_server(
    name: str = "replica-0", seen: list[Mapping[str, str]] | None = None
) -> Iterator[McpServer]:
    mcp: McpServer | None = None

    class Handler(_Quiet):
        def _json_rpc_error(self, status: int, message: str, code: int = -32600) -> None:
            self._send_json(
                status, {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}
            )

        def do_GET(self) -> None:
            # This server sends no messages of its own, so it offers no stream at GET: the transport lets a
            # server answer 405 there.
            self.send_response(405 if self.path == "/mcp" else 404)
            self.send_header("Allow", "POST, DELETE")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_DELETE(self) -> None:
            assert mcp is not None
            session = self.headers.get(SESSION_HEADER)
            if self.path != "/mcp" or session is None:
                self._json_rpc_error(400, f"DELETE ends a session: {SESSION_HEADER} is required")
                return
            if session not in mcp.sessions:
                self._json_rpc_error(404, f"session {session} is not known here", code=-32001)
                return
            mcp.sessions.discard(session)
            mcp.closed.add(session)
            mcp.answered.append(session)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            assert mcp is not None
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/mcp":
                self._send_json(404, {"error": "not_found"})
                return
            problem = _message_problem(self, body)
            if problem:
                self._json_rpc_error(400, problem)
                return
            message = json.loads(body)
            session = self.headers.get(SESSION_HEADER)
            if message["method"] == "initialize":
                self._initialize(message)
                return
            if session is None:
                self._json_rpc_error(400, f"{SESSION_HEADER} is required after initialize")
                return
            if session not in mcp.sessions:
                self._json_rpc_error(404, f"session {session} is not known here", code=-32001)
                return
            version = self.headers.get(PROTOCOL_VERSION_HEADER, PROTOCOL_VERSION)
            if version != PROTOCOL_VERSION:
                self._json_rpc_error(400, f"unsupported {PROTOCOL_VERSION_HEADER} {version}")
                return
            mcp.seen.append(dict(self.headers.items()))
            mcp.answered.append(session)
            if "id" not in message:
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            result = _RESULTS.get(message["method"])
            if result is None:
                self._send_json(
                    200,
                    {
                        "jsonrpc": "2.0",
                        "id": message["id"],
                        "error": {"code": -32601, "message": "method not found"},
                    },
                )
                return
            self._send_json(200, {"jsonrpc": "2.0", "id": message["id"], "result": result})

        def _initialize(self, message: dict[str, Any]) -> None:
            assert mcp is not None
            mcp.seen.append(dict(self.headers.items()))
            session = uuid.uuid4().hex
            mcp.sessions.add(session)
            mcp.answered.append(session)
            payload = json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": message["id"],
                    "result": {
                        "protocolVersion": PROTOCOL_VERSION,
                        "capabilities": {"tools": {"listChanged": False}},
                        "serverInfo": {"name": "ai-memory", "version": "1.6.2"},
                    },
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header(SESSION_HEADER, session)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with _serving(Handler) as server:
        mcp = McpServer(
            address=f"{LOOPBACK}:{server.server_address[1]}", name=name, seen=[] if seen is None else seen
        )
        yield mcp


@contextlib.contextmanager
def running_process(
    command: Sequence[str], *, log: Path, ready_url: str, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command`, wait (bounded) until `ready_url` answers, and always stop it afterwards."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            _wait_until_answering(process, ready_url, log)
            yield process
        finally:
            stop_process(process)


def _wait_until_answering(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    for _ in range(START_ATTEMPTS):
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - a loopback http URL
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(START_INTERVAL_SECONDS)
    raise RuntimeError(f"{process.args!r} did not answer {url}:\n{log.read_text()}")
