"""The edge's authentication, proven with the real pieces on loopback (tests/edge/conftest.py): who gets
through to an MCP server and who gets the RFC 9728 challenge."""

from __future__ import annotations

from typing import Any

import pytest

from domain.mcp_edge import challenge
from harness.edge_servers import PROTOCOL_VERSION
from tests.edge.conftest import SERVER_PATH, Edge, call, good_token

EXPECTED_CHALLENGE = 'Bearer resource_metadata="https://mcp.sophia-ai.internal/.well-known/oauth-protected-resource/ai-memory/mcp"'


def test_a_call_without_a_token_gets_401_pointing_at_the_protected_resource_metadata(edge: Edge) -> None:
    before = len(edge.seen)
    answer = call(edge, SERVER_PATH)
    assert answer.status == 401
    assert answer.headers.get_all("WWW-Authenticate") == [EXPECTED_CHALLENGE]
    assert challenge(edge.host, SERVER_PATH) == EXPECTED_CHALLENGE
    assert len(edge.seen) == before


def test_the_metadata_the_challenge_points_at_is_served_without_a_token(edge: Edge) -> None:
    answer = call(edge, f"/.well-known/oauth-protected-resource{SERVER_PATH}", method="GET")
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
        pytest.param({"groups": ["sophia-mcp-users"]}, id="group-name-without-its-path"),
        pytest.param({"groups": []}, id="no-group"),
        pytest.param({"issuer": "https://auth.elsewhere.example"}, id="wrong-issuer"),
    ],
)
def test_a_bad_token_is_refused_before_the_server(edge: Edge, bad_token: dict[str, Any]) -> None:
    before = len(edge.seen)
    answer = call(edge, SERVER_PATH, token=good_token(edge, **bad_token))
    assert answer.status in (401, 403)
    if answer.status == 401:
        assert answer.headers.get_all("WWW-Authenticate") == [f'{EXPECTED_CHALLENGE}, error="invalid_token"']
    assert len(edge.seen) == before


def test_a_good_token_reaches_the_server_and_gets_its_initialize_answer(edge: Edge) -> None:
    answer = call(edge, SERVER_PATH, token=good_token(edge, subject="svc-claude-desktop"))
    assert answer.status == 200, answer.body
    reply = answer.json()
    assert reply["id"] == 1
    assert reply["result"]["protocolVersion"] == PROTOCOL_VERSION
    assert reply["result"]["serverInfo"]["name"] == "ai-memory"
    seen = edge.seen[-1]
    assert seen["X-Auth-Request-User"] == "svc-claude-desktop"
    assert seen["X-Auth-Request-Groups"] == edge.stack.allowed_group


def test_a_keycloak_service_account_token_with_an_unverified_email_is_admitted(edge: Edge) -> None:
    token = edge.issuer.service_account_token(
        client_id="reporting-agent",
        audience=edge.stack.audience,
        groups=["/platform/mcp-callers", edge.stack.allowed_group],
        roles=["mcp-caller"],
    )
    answer = call(edge, SERVER_PATH, token=token)
    assert answer.status == 200, answer.body
    seen = edge.seen[-1]
    # oauth2-proxy names the caller by `sub` (the service-account user's id) and passes the groups on.
    assert seen["X-Auth-Request-User"] == edge.issuer.service_account_id("reporting-agent")
    assert seen["X-Auth-Request-Groups"] == f"/platform/mcp-callers,{edge.stack.allowed_group}"


def test_a_caller_cannot_claim_another_identity_through_the_forwarded_headers(edge: Edge) -> None:
    token = good_token(edge, subject="svc-reporting")
    answer = call(edge, SERVER_PATH, token=token, headers={"X-Auth-Request-User": "admin"})
    assert answer.status == 200, answer.body
    assert edge.seen[-1]["X-Auth-Request-User"] == "svc-reporting"
