"""A real MCP client through the edge: the TypeScript SDK (`@modelcontextprotocol/sdk`, pinned in
testkit/clients/mcp-typescript) on Node's fetch, which keeps no cookies. It verifies the edge's certificate
against the internal CA (NODE_EXTRA_CA_CERTS) for the public host name, sends a Keycloak-shaped service token,
and holds one session for many calls across the server's two replicas (tests/edge/conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from harness.edge_servers import LOOPBACK
from harness.paths import PROJECT_DIR
from tests.edge.conftest import SERVER_PATH, Edge

CLIENT_DIR = PROJECT_DIR / "testkit" / "clients" / "mcp-typescript"
CALLS = 20
# Node starts, loads the SDK and makes 2 + 2 x CALLS requests through real TLS, nginx and oauth2-proxy.
CLIENT_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    reason = None
    if found is None:
        reason = "node is not installed"
    elif not (CLIENT_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        reason = "the TypeScript MCP client is not installed; `make edge-tools` installs it (npm ci)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    assert found is not None
    return found


def test_the_typescript_sdk_keeps_one_session_on_one_replica_without_cookies(edge: Edge, node: str) -> None:
    token = edge.issuer.service_account_token(
        client_id="claude-agent", audience=edge.stack.audience, groups=[edge.stack.allowed_group]
    )
    run = subprocess.run(
        [node, "session.mjs", f"https://{edge.host}:{edge.port}{SERVER_PATH}", LOOPBACK, str(CALLS)],
        cwd=CLIENT_DIR,
        env={**os.environ, "MCP_TOKEN": token, "NODE_EXTRA_CA_CERTS": str(edge.pki.edge_ca.cert_file)},
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_SECONDS,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["errors"] == []
    assert report["server"] == {"name": "ai-memory", "version": "1.6.2"}
    assert report["results"] == [0] * CALLS
    session = report["sessionId"]
    holders = {replica.name: replica.answered.count(session) for replica in edge.replicas}
    # initialize, notifications/initialized, CALLS x (tools/list, ping) and the closing DELETE: all on one.
    assert sorted(holders.values()) == [0, 2 + 2 * CALLS + 1], holders
    assert any(session in replica.closed for replica in edge.replicas)
