"""MCP sessions across two replicas, for clients without a cookie jar (tests/edge/conftest.py).

A Streamable HTTP session lives in the replica that answered its `initialize`; the other replica answers
404 to its id (MCP "Transports", 2025-06-18, "Session Management"). Programmatic clients (the TypeScript SDK
on Node's fetch) keep no cookies, so the route keeps a caller's requests on one replica by hashing on the
authenticated caller (domain.mcp_edge.SESSION_HASH_KEY), which the initialize carries as well as every later
request.
"""

from __future__ import annotations

from typing import Any

from harness.edge_servers import PROTOCOL_VERSION, PROTOCOL_VERSION_HEADER, SESSION_HEADER
from tests.edge.conftest import SERVER_PATH, Answer, Edge, call, good_token

FOLLOW_UPS = 20
CALLERS = [f"svc-agent-{number}" for number in range(8)]


def _session_call(edge: Edge, token: str, session: str, message: dict[str, Any]) -> Answer:
    return call(
        edge,
        SERVER_PATH,
        token=token,
        message=message,
        headers={SESSION_HEADER: session, PROTOCOL_VERSION_HEADER: PROTOCOL_VERSION},
    )


def _open_session(edge: Edge, token: str) -> str:
    answer = call(edge, SERVER_PATH, token=token)
    assert answer.status == 200, answer.body
    assert answer.headers.get("Set-Cookie") is None, "the route set a cookie; MCP clients do not keep one"
    session = answer.headers.get(SESSION_HEADER)
    assert session, f"initialize returned no {SESSION_HEADER}"
    initialized = _session_call(
        edge, token, session, {"jsonrpc": "2.0", "method": "notifications/initialized"}
    )
    assert initialized.status == 202, initialized.body
    return session


def _holder(edge: Edge, session: str) -> str:
    (holder,) = [replica.name for replica in edge.replicas if session in replica.sessions]
    return holder


def test_a_session_stays_on_its_replica_for_a_client_without_cookies(edge: Edge) -> None:
    token = good_token(edge, subject="svc-claude-desktop")
    session = _open_session(edge, token)
    for request_id in range(2, 2 + FOLLOW_UPS):
        answer = _session_call(
            edge, token, session, {"jsonrpc": "2.0", "id": request_id, "method": "tools/list"}
        )
        # The other replica would answer 404 to this id: every 200 is the holding replica's.
        assert answer.status == 200, (
            f"request {request_id} of session {session}: {answer.status} {answer.body!r}"
        )
        assert answer.json() == {"jsonrpc": "2.0", "id": request_id, "result": {"tools": []}}


def test_a_token_refresh_keeps_the_session_on_its_replica(edge: Edge) -> None:
    session = _open_session(edge, good_token(edge, subject="svc-nightly-report"))
    for request_id in range(2, 2 + FOLLOW_UPS):
        fresh = good_token(edge, subject="svc-nightly-report", expires_in=300 + request_id)
        answer = _session_call(edge, fresh, session, {"jsonrpc": "2.0", "id": request_id, "method": "ping"})
        assert answer.status == 200, (
            f"request {request_id} with a refreshed token: {answer.status} {answer.body!r}"
        )


def test_callers_spread_over_both_replicas_and_each_keeps_its_sessions(edge: Edge) -> None:
    holders: dict[str, set[str]] = {}
    for caller in CALLERS:
        token = good_token(edge, subject=caller)
        sessions = [_open_session(edge, token) for _ in range(2)]
        for session in sessions:
            answer = _session_call(edge, token, session, {"jsonrpc": "2.0", "id": 7, "method": "tools/list"})
            assert answer.status == 200, f"{caller}'s session {session}: {answer.status} {answer.body!r}"
        holders[caller] = {_holder(edge, session) for session in sessions}
    assert all(len(replicas) == 1 for replicas in holders.values()), holders
    assert set().union(*holders.values()) == {replica.name for replica in edge.replicas}, holders


def test_an_unknown_session_gets_404_as_the_transport_defines(edge: Edge) -> None:
    token = good_token(edge, subject="svc-claude-desktop")
    answer = _session_call(edge, token, "0" * 32, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert answer.status == 404, answer.body
