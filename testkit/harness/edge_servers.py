"""Loopback stand-ins around the real edge: the identity provider's issuer and one MCP server.

The issuer serves OIDC discovery (`/.well-known/openid-configuration`, OpenID Connect Discovery 1.0 section 3)
and its JWKS from an RSA key generated per run, and signs RS256 access tokens with PyJWT. The MCP server
answers the Streamable HTTP transport's `initialize` request and refuses anything that is not a well-formed
JSON-RPC 2.0 request with the Accept header the transport requires (MCP "Transports", 2025-06-18).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LOOPBACK = "127.0.0.1"
PROTOCOL_VERSION = "2025-06-18"
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
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
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
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer or self.url,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now - 5,
            "exp": now + expires_in,
            "groups": list(groups),
        }
        key = self.foreign_key if forged else self.signing_key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.key_id})

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
def running_issuer() -> Iterator[Issuer]:
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

    with _serving(Handler) as server:
        issuer = Issuer(url=f"http://{LOOPBACK}:{server.server_address[1]}")
        yield issuer


@dataclass
class McpServer:
    """A tiny MCP server; `seen` keeps the headers of every request it answered."""

    address: str
    seen: list[Mapping[str, str]] = field(default_factory=list)


def _initialize_problem(handler: BaseHTTPRequestHandler, body: bytes) -> str | None:
    accept = handler.headers.get("Accept", "")
    if "application/json" not in accept or "text/event-stream" not in accept:
        return "Accept must list application/json and text/event-stream"
    if not handler.headers.get("Content-Type", "").startswith("application/json"):
        return "Content-Type must be application/json"
    try:
        request = json.loads(body)
    except ValueError:
        return "the body is not JSON"
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or "id" not in request:
        return "not a JSON-RPC 2.0 request"
    if request.get("method") != "initialize" or not isinstance(request.get("params"), dict):
        return "only initialize is served here"
    return None


@contextlib.contextmanager
def running_mcp_server() -> Iterator[McpServer]:
    mcp: McpServer | None = None

    class Handler(_Quiet):
        def do_POST(self) -> None:
            assert mcp is not None
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/mcp":
                self._send_json(404, {"error": "not_found"})
                return
            problem = _initialize_problem(self, body)
            if problem:
                self._send_json(
                    400, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": problem}}
                )
                return
            mcp.seen.append(dict(self.headers.items()))
            request = json.loads(body)
            self._send_json(
                200,
                {
                    "jsonrpc": "2.0",
                    "id": request["id"],
                    "result": {
                        "protocolVersion": PROTOCOL_VERSION,
                        "capabilities": {"tools": {"listChanged": False}},
                        "serverInfo": {"name": "ai-memory", "version": "1.6.2"},
                    },
                },
            )

    with _serving(Handler) as server:
        mcp = McpServer(address=f"{LOOPBACK}:{server.server_address[1]}")
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
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


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
