"""The Lambda firewall ruleset provider and the client calls behind it, checked against OpenAPI 1.10.0.

The requests the client sends are validated against the request-body schemas of Lambda's published document
(../shared/reference/lambda/openapi.json) with jsonschema; the tests that need the document skip, saying so,
when it is absent (a clone without the shared reference folder).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
import pytest

from components.lambda_firewall import (
    RULESET_RELEASE_TIMEOUT_S,
    LambdaFirewallRulesetProvider,
    LambdaFirewallRulesetRulesProvider,
    rule_problems,
)
from domain.k3s_network import agent_firewall_rules
from harness.paths import SHARED_REFERENCE
from lambda_cloud import LambdaCloudClient

SPEC_FILE = SHARED_REFERENCE / "lambda" / "openapi.json"
needs_spec = pytest.mark.skipif(
    not SPEC_FILE.is_file(), reason=f"Lambda's OpenAPI document is not at {SPEC_FILE} (no ../shared here)"
)
API_KEY = "secret_fake-lambda-key"
RULES = agent_firewall_rules("203.0.113.10")
RULESET_ID = "c4d291f47f9d436fa39f58493ce3b50d"
RULESET: dict[str, Any] = {
    "id": RULESET_ID,
    "name": "sophia-p-k3s-agents",
    "region": {"name": "us-east-1", "description": "Virginia, USA"},
    "rules": RULES,
    "created": "2026-12-01T08:00:00Z",
    "instance_ids": [],
}


def _spec() -> dict[str, Any]:
    loaded = json.loads(SPEC_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _request_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    schema = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    assert isinstance(schema, dict)
    return schema


def _validate(spec: dict[str, Any], schema: dict[str, Any], document: Any) -> None:
    # The schemas' `$ref`s are "#/components/..." pointers into the document, so the document is the root.
    root = {**spec, "$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": [schema]}
    jsonschema.Draft202012Validator(root).validate(document)


class _Capture(BaseHTTPRequestHandler):
    """Answers the firewall and launch calls with the spec's success shapes and records what it was sent."""

    received: list[tuple[str, str, Any]]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.received.append((method, self.path, body))
        if self.path.endswith("instance-operations/launch"):
            data: Any = {"instance_ids": ["0920582c7ff041399e34823a0be62549"]}
        elif method == "GET" and self.path.endswith("/instances"):
            data = []
        elif method == "DELETE":
            data = {}
        else:
            data = RULESET
        payload = json.dumps({"data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PATCH(self) -> None:
        self._answer("PATCH")

    def do_DELETE(self) -> None:
        self._answer("DELETE")


@pytest.fixture
def lambda_api() -> Iterator[tuple[str, list[tuple[str, str, Any]]]]:
    received: list[tuple[str, str, Any]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Capture,), {"received": received}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _client(base_url: str) -> LambdaCloudClient:
    return LambdaCloudClient(API_KEY, base_url=base_url, launch_interval_s=0)


@needs_spec
def test_create_and_update_bodies_match_the_published_schemas(
    lambda_api: tuple[str, list[tuple[str, str, Any]]],
) -> None:
    base_url, received = lambda_api
    spec = _spec()
    client = _client(base_url)
    client.create_firewall_ruleset("sophia-p-k3s-agents", "us-east-1", RULES)
    client.update_firewall_ruleset(RULESET_ID, rules=RULES)
    client.delete_firewall_ruleset(RULESET_ID)
    (create, patch, delete) = received
    assert create[:2] == ("POST", "/api/v1/firewall-rulesets")
    _validate(spec, _request_schema(spec, "/api/v1/firewall-rulesets", "post"), create[2])
    assert patch[:2] == ("PATCH", f"/api/v1/firewall-rulesets/{RULESET_ID}")
    _validate(spec, _request_schema(spec, "/api/v1/firewall-rulesets/{id}", "patch"), patch[2])
    assert delete[:2] == ("DELETE", f"/api/v1/firewall-rulesets/{RULESET_ID}")
    # The answer the fake gave is the spec's FirewallRuleset.
    _validate(spec, {"$ref": "#/components/schemas/FirewallRuleset"}, RULESET)


@needs_spec
def test_launch_names_its_rulesets_as_the_spec_has_them(
    lambda_api: tuple[str, list[tuple[str, str, Any]]],
) -> None:
    base_url, received = lambda_api
    spec = _spec()
    _client(base_url).launch(
        "us-east-1", "gpu_1x_a10", "sophia-ops", "sophia-p-0-0123abcd", firewall_ruleset_ids=[RULESET_ID]
    )
    (launch,) = [body for method, path, body in received if path.endswith("instance-operations/launch")]
    assert launch["firewall_rulesets"] == [{"id": RULESET_ID}]
    _validate(spec, _request_schema(spec, "/api/v1/instance-operations/launch", "post"), launch)


# --- the provider's life cycle (a recording client in place of HTTP)


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def create_firewall_ruleset(self, name: str, region: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(("create", (name, region, rules)))
        return dict(RULESET)

    def update_firewall_ruleset(self, ruleset_id: str, **changes: Any) -> dict[str, Any]:
        self.calls.append(("update", (ruleset_id, changes)))
        return dict(RULESET)

    def delete_firewall_ruleset(self, ruleset_id: str, *, wait_s: float = 0.0) -> None:
        self.calls.append(("delete", ruleset_id))
        self.delete_wait_s = wait_s


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    recording = _Recorder()
    monkeypatch.setattr("components.lambda_firewall._Settings.client", lambda _settings: recording)
    return recording


def _props(**overrides: Any) -> dict[str, Any]:
    props = {
        "api_key": API_KEY,
        "name": "sophia-p-k3s-agents",
        "region": "us-east-1",
        "rules": RULES,
        "base_url": "https://cloud.lambda.ai/api/v1/",
    }
    props.update(overrides)
    return props


def test_create_returns_the_ruleset_id(recorder: _Recorder) -> None:
    result = LambdaFirewallRulesetProvider().create(_props())
    assert result.id == RULESET_ID
    assert recorder.calls == [("create", ("sophia-p-k3s-agents", "us-east-1", RULES))]


def test_new_rules_are_patched_in_place_and_a_new_region_replaces(recorder: _Recorder) -> None:
    provider = LambdaFirewallRulesetProvider()
    wider = agent_firewall_rules("203.0.113.10", ["198.51.100.7"])
    diff = provider.diff(RULESET_ID, _props(), _props(rules=wider))
    assert diff.changes and not diff.replaces
    provider.update(RULESET_ID, _props(), _props(rules=wider))
    assert recorder.calls == [("update", (RULESET_ID, {"name": None, "rules": wider}))]
    assert provider.diff(RULESET_ID, _props(), _props(region="us-west-1")).replaces == ["region"]
    assert not provider.diff(RULESET_ID, _props(), _props()).changes


def test_delete_removes_the_ruleset_waiting_for_instances_still_terminating(recorder: _Recorder) -> None:
    LambdaFirewallRulesetProvider().delete(RULESET_ID, _props())
    assert recorder.calls == [("delete", RULESET_ID)]
    assert recorder.delete_wait_s == RULESET_RELEASE_TIMEOUT_S > 0


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        (
            {"protocol": "sctp", "port_range": [1, 2], "source_network": "1.2.3.4/32", "description": "x"},
            "protocol",
        ),
        (
            {"protocol": "udp", "port_range": [2, 1], "source_network": "1.2.3.4/32", "description": "x"},
            "port_range",
        ),
        (
            {"protocol": "icmp", "port_range": [1, 1], "source_network": "1.2.3.4/32", "description": "x"},
            "icmp",
        ),
        ({"protocol": "tcp", "port_range": [22, 22], "description": "x"}, "source_network"),
        (
            {
                "protocol": "tcp",
                "port_range": [22, 22],
                "source_network": "1.2.3.4",
                "description": "x" * 129,
            },
            "128",
        ),
    ],
)
def test_rules_the_api_would_refuse_fail_check(rule: dict[str, Any], fragment: str) -> None:
    assert any(fragment in problem for problem in rule_problems([rule]))
    failures = LambdaFirewallRulesetProvider().check({}, _props(rules=[rule])).failures
    assert failures and all(failure.property == "rules" for failure in failures)


@needs_spec
def test_the_schema_check_would_catch_a_rule_lambda_refuses() -> None:
    spec = _spec()
    bad = {**RULES[0], "protocol": "sctp"}
    with pytest.raises(jsonschema.ValidationError):
        _validate(
            spec,
            _request_schema(spec, "/api/v1/firewall-rulesets", "post"),
            {"name": "x", "region": "us-east-1", "rules": [bad]},
        )


# --- the rules that name the pool's own addresses, set once the instances have them


class _RulesetRecorder(_Recorder):
    def __init__(self, exists: bool = True) -> None:
        super().__init__()
        self.exists = exists

    def get_firewall_ruleset(self, ruleset_id: str) -> dict[str, Any] | None:
        self.calls.append(("get", ruleset_id))
        return dict(RULESET) if self.exists else None


def _mesh_props() -> dict[str, Any]:
    return {
        "api_key": API_KEY,
        "ruleset_id": RULESET_ID,
        "rules": agent_firewall_rules("203.0.113.10", ["198.51.100.2", "198.51.100.3"]),
        "base_rules": RULES,
        "base_url": "https://cloud.lambda.ai/api/v1/",
    }


@pytest.mark.parametrize("exists", [True, False])
def test_the_mesh_rules_are_set_after_launch_and_put_back_on_delete(
    monkeypatch: pytest.MonkeyPatch, exists: bool
) -> None:
    recording = _RulesetRecorder(exists)
    monkeypatch.setattr("components.lambda_firewall._Settings.client", lambda _settings: recording)
    provider = LambdaFirewallRulesetRulesProvider()
    provider.create(_mesh_props())
    ((call, (ruleset_id, changes)),) = recording.calls
    assert (call, ruleset_id) == ("update", RULESET_ID)
    assert {rule["source_network"] for rule in changes["rules"]} == {
        "203.0.113.10/32",
        "198.51.100.2/32",
        "198.51.100.3/32",
    }
    recording.calls.clear()
    provider.delete("id", _mesh_props())
    expected: list[tuple[str, Any]] = [("get", RULESET_ID)]
    if exists:
        expected.append(("update", (RULESET_ID, {"rules": RULES})))
    assert recording.calls == expected


def test_a_replaced_instance_changes_the_mesh_rules_in_place() -> None:
    olds = _mesh_props()
    news = {**olds, "rules": agent_firewall_rules("203.0.113.10", ["198.51.100.2", "198.51.100.9"])}
    diff = LambdaFirewallRulesetRulesProvider().diff("id", olds, news)
    assert diff.changes and not diff.replaces
