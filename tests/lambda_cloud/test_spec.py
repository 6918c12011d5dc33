"""The Lambda client and the loopback fake, held to Lambda's published OpenAPI document (1.10.0).

These read ../shared/reference/lambda/openapi.json and skip, saying so, where it is absent (a user's clone).
They check that the fake refuses what the real API refuses, with the real status and error shape; that a
response breaking the document fails the test; and, field by field, that every field the client and the
provider read from a response exists in that response's schema and every field the client sends exists in
the request's schema (the request schemas allow unknown members, so validation alone would not notice one).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import lambda_cloud.client
from components.lambda_instance import LambdaInstanceProvider
from domain.lambda_tags import gpu_pool_tags
from fakes.lambda_cloud_api import FakeLambdaCloud, SpecViolation
from fakes.lambda_openapi import ERROR_ENVELOPE, MISSING_REASON, LambdaOpenApi, lambda_openapi
from lambda_cloud import (
    FirewallRulesetInUseError,
    InsufficientCapacityError,
    InvalidApiKeyError,
    LambdaCloudClient,
    LaunchRateLimiter,
    QuotaExceededError,
)
from lambda_cloud.errors import ERROR_KINDS, STATUS_FALLBACK

pytestmark = pytest.mark.skipif(lambda_openapi() is None, reason=MISSING_REASON)

API_KEY = "lk-5d2c8e1f0a9b7c6d5e4f3a2b1c0d9e8f"
# The tags components/gpu_node_pool.py set before the keys followed the spec.
OLD_POOL_TAGS = {"sophia.ai/gpu-pool": "lambda-gpu", "managed-by": "pulumi"}
SSH_RULE = {
    "protocol": "tcp",
    "port_range": [22, 22],
    "source_network": "203.0.113.0/24",
    "description": "ssh",
}
LONG_VALUE_TAG = {"key": "pool", "value": "v" * 129}
PING_RULE = {"protocol": "icmp", "source_network": "0.0.0.0/0", "description": "ping"}


def spec() -> LambdaOpenApi:
    document = lambda_openapi()
    assert document is not None
    return document


@pytest.fixture
def fake() -> Iterator[FakeLambdaCloud]:
    with FakeLambdaCloud(api_key=API_KEY) as server:
        assert server.spec is not None, "the fake must validate when the document is there"
        yield server


def make_client(fake: FakeLambdaCloud, api_key: str = API_KEY, **overrides: Any) -> LambdaCloudClient:
    settings: dict[str, Any] = {
        "base_url": fake.base_url,
        "retry_base_delay_s": 0.002,
        "retry_max_delay_s": 0.01,
        "launch_limiter": LaunchRateLimiter(fake.launch_interval_s * 1.05),
        "poll_interval_s": 0.002,
        "max_attempts": 3,
    }
    settings.update(overrides)
    return LambdaCloudClient(api_key, **settings)


def send(fake: FakeLambdaCloud, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    """One raw exchange with the fake, past the client's own checks."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the loopback fake
        fake.base_url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def launch_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "region_name": "us-east-1",
        "instance_type_name": "gpu_1x_a10",
        "ssh_key_names": ["sophia-ops"],
        "name": "lambda-gpu-0-0a1b2c3d",
    }
    return body | overrides


def ruleset_body(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": "k3s-agents", "region": "us-east-1", "rules": [rule]}


def tag_entries(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in tags.items()]


# -- requests the real API refuses ---------------------------------------------------------------------------


def test_the_tag_keys_the_pool_used_to_send_are_refused_as_the_real_api_refuses_them(
    fake: FakeLambdaCloud,
) -> None:
    status, body = send(
        fake, "POST", "instance-operations/launch", launch_body(tags=tag_entries(OLD_POOL_TAGS))
    )
    assert status == 400
    assert body["error"]["code"] == "global/invalid-parameters"
    assert "sophia.ai/gpu-pool" in body["error"]["suggestion"]
    assert fake.launch_ids == []

    status, body = send(
        fake, "POST", "instance-operations/launch", launch_body(tags=tag_entries(gpu_pool_tags("p")))
    )
    assert status == 200 and len(body["data"]["instance_ids"]) == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        ("GET", "instances", None, {"Authorization": ""}, 401, "global/invalid-api-key"),
        ("GET", "instance-operations", None, {}, 404, "global/not-found"),
        ("POST", "instance-operations/launch", {"instance_type_name": "gpu_1x_a10"}, {}, 400, None),
        ("POST", "instance-operations/launch", launch_body(name="n" * 65), {}, 400, None),
        ("POST", "instance-operations/launch", launch_body(tags=[{"key": "pool"}]), {}, 400, None),
        ("POST", "instance-operations/launch", launch_body(tags=[LONG_VALUE_TAG]), {}, 400, None),
        ("POST", "instance-operations/terminate", {"instance_ids": "one"}, {}, 400, None),
        ("POST", "firewall-rulesets", ruleset_body({"protocol": "sctp"}), {}, 400, None),
        ("POST", "firewall-rulesets", ruleset_body(SSH_RULE | {"port_range": [0, 22]}), {}, 400, None),
        ("PATCH", "firewall-rulesets/abc", {"name": "n" * 65}, {}, 400, None),
    ],
)  # fmt: skip
def test_requests_the_document_refuses_get_the_real_status_and_error_shape(
    fake: FakeLambdaCloud,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    code: str | None,
) -> None:
    answered, document = send(fake, method, path, body, **headers)
    assert answered == status
    assert document["error"]["code"] == (code or "global/invalid-parameters")
    assert fake.launch_ids == [] and fake.rulesets == {}
    # The refusal itself is a response the document allows for that status (checked as every response is).
    assert fake.take_spec_violations() == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (launch_body(ssh_key_names=["a", "b"]), "Exactly one SSH key"),
        (launch_body(user_data="#" * (1024 * 1024 + 1)), "1MB"),
    ],
)
def test_rules_the_document_states_in_prose_are_refused_too(
    fake: FakeLambdaCloud, body: Any, why: str
) -> None:
    status, answer = send(fake, "POST", "instance-operations/launch", body)
    assert status == 400 and why in answer["error"]["message"]


# -- responses that break the document fail the test --------------------------------------------------------


def test_a_fault_the_document_does_not_allow_is_recorded_and_fails_the_test() -> None:
    fake = FakeLambdaCloud(api_key=API_KEY).start()
    # GET /instances may answer 400 only with ApiErrorInvalidParameters.
    fake.fail_next("instances", 400, code="global/quota-exceeded", message="Quota exceeded.")
    with pytest.raises(QuotaExceededError):
        make_client(fake).list_instances()
    fake.settle()
    assert fake.spec_violations and "GET /api/v1/instances -> 400" in fake.spec_violations[0]
    with pytest.raises(SpecViolation, match="GET /api/v1/instances -> 400"):
        fake.stop()


def test_a_response_missing_a_required_field_is_caught(
    fake: FakeLambdaCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(fake)
    instance_id = client.launch("us-east-1", "gpu_1x_a10", "sophia-ops", "pool-0-0000aaaa")
    real_body = FakeLambdaCloud._instance_body

    def without_actions(self: FakeLambdaCloud, instance: Any, now: float) -> dict[str, Any]:
        body = real_body(self, instance, now)
        del body["actions"]
        return body

    monkeypatch.setattr(FakeLambdaCloud, "_instance_body", without_actions)
    client.get_instance(instance_id)
    (violation,) = fake.take_spec_violations()
    assert f"GET /api/v1/instances/{instance_id} -> 200" in violation and "'actions'" in violation


def test_fault_injection_stays_within_the_document(fake: FakeLambdaCloud) -> None:
    fake.fail_next("instance-types", 503)
    fake.fail_next("instances", 429, retry_after_s=0.001)
    fake.fail_next("instance", 404)
    fake.fail_next("ssh-keys", 401)
    client = make_client(fake)
    assert "gpu_1x_a10" in client.instance_types()
    assert client.list_instances() == []
    assert client.get_instance("0920582c7ff041399e34823a0be62549") is None
    with pytest.raises(InvalidApiKeyError):
        client.ssh_key_names()
    assert [r.status for r in fake.requests] == [503, 200, 429, 200, 404, 401]
    assert fake.take_spec_violations() == []


# -- field by field: what the client sends and reads is in the document --------------------------------------


class _Reads:
    """Every field the client reads from a decoded answer, with the exchange the answer came from."""

    def __init__(self, fake: FakeLambdaCloud) -> None:
        self.fake = fake
        self.reads: list[tuple[str, str, int, tuple[str, ...]]] = []

    def decode(self, raw: bytes) -> Any:
        document = json.loads(raw) if raw else None
        # The client is synchronous: the answer being decoded is the fake's latest exchange.
        exchange = self.fake.requests[-1]
        assert exchange.status is not None
        return self._track(document, (), (exchange.method, exchange.path, exchange.status))

    def _track(self, value: Any, path: tuple[str, ...], origin: tuple[str, str, int]) -> Any:
        if isinstance(value, dict):
            return _TrackedDict(value, path, origin, self)
        if isinstance(value, list):
            return _TrackedList(value, path, origin, self)
        return value

    def note(self, origin: tuple[str, str, int], path: tuple[str, ...]) -> None:
        self.reads.append((*origin, path))


class _TrackedDict(dict[str, Any]):
    def __init__(self, data: dict[str, Any], path: tuple[str, ...], origin: Any, reads: _Reads) -> None:
        super().__init__(data)
        self._at, self._origin, self._reads = path, origin, reads

    def _read(self, key: str) -> Any:
        self._reads.note(self._origin, (*self._at, key))
        return self._reads._track(dict.get(self, key), (*self._at, key), self._origin)

    def __getitem__(self, key: str) -> Any:
        value = self._read(key)
        if not dict.__contains__(self, key):
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._read(key)
        return value if dict.__contains__(self, key) else default

    def __contains__(self, key: object) -> bool:
        self._reads.note(self._origin, (*self._at, str(key)))
        return dict.__contains__(self, key)


class _TrackedList(list[Any]):
    def __init__(self, data: list[Any], path: tuple[str, ...], origin: Any, reads: _Reads) -> None:
        super().__init__(data)
        self._at, self._origin, self._reads = path, origin, reads

    def __iter__(self) -> Iterator[Any]:
        for item in list.__iter__(self):
            yield self._reads._track(item, (*self._at, "*"), self._origin)

    def __getitem__(self, index: Any) -> Any:
        return self._reads._track(list.__getitem__(self, index), (*self._at, "*"), self._origin)


def _operation(document: Mapping[str, Any], method: str, path: str) -> Mapping[str, Any]:
    route = path.split("?", 1)[0]
    # Literal paths first, so that /firewall-rulesets/global is not taken for /firewall-rulesets/{id}.
    for template in sorted(document["paths"], key=lambda t: (t.count("{"), t)):
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        operation = document["paths"][template].get(method.lower())
        if operation and re.match(pattern, route):
            return operation
    raise AssertionError(f"{method} {path} is not an operation of the document")


def _deref(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _has_field(document: Mapping[str, Any], schema: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    schema = _deref(document, schema)
    if not path:
        return True
    head, rest = path[0], path[1:]
    if head == "*":
        return "items" in schema and _has_field(document, schema["items"], rest)
    if head in schema.get("properties", {}):
        return _has_field(document, schema["properties"][head], rest)
    if isinstance(schema.get("additionalProperties"), dict):
        return _has_field(document, schema["additionalProperties"], rest)
    branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ()), *schema.get("allOf", ())]
    return any(_has_field(document, branch, path) for branch in branches)


def _response_schema(document: Mapping[str, Any], method: str, path: str, status: int) -> Mapping[str, Any]:
    response = _operation(document, method, path)["responses"].get(str(status))
    # 429 and 5xx are not listed per operation; the document's error envelope is all they promise.
    return response["content"]["application/json"]["schema"] if response else ERROR_ENVELOPE


def _sent_fields(body: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(body, dict):
        for key, value in body.items():
            yield (*path, key)
            yield from _sent_fields(value, (*path, key))
    elif isinstance(body, list):
        for item in body:
            yield from _sent_fields(item, (*path, "*"))


def _exercise_every_call(fake: FakeLambdaCloud) -> None:
    """Every client call, and the provider's create, read and delete, on success and on failure."""
    client = make_client(fake)
    client.regions_with_capacity("gpu_1x_a10")
    client.ssh_key_names()
    ruleset = client.create_firewall_ruleset("k3s-agents", "us-east-1", [SSH_RULE, PING_RULE])
    client.update_firewall_ruleset(str(ruleset["id"]), name="k3s-agents-1", rules=[SSH_RULE])
    client.get_firewall_ruleset(str(ruleset["id"]))
    client.firewall_rulesets()
    fake.lose_next_answers("create-firewall-ruleset", status=502)
    client.create_firewall_ruleset("k3s-server", "us-east-1", [SSH_RULE])
    instance_id = client.launch(
        "us-east-1",
        "gpu_1x_a10",
        "sophia-ops",
        "lambda-gpu-0-00000001",
        user_data="#cloud-config\n",
        tags=gpu_pool_tags("lambda-gpu"),
        firewall_ruleset_ids=[str(ruleset["id"])],
    )
    client.wait_for_status(instance_id, {"active"}, timeout_s=5)
    client.find_instances_by_name("lambda-gpu-0-00000001")
    with pytest.raises(FirewallRulesetInUseError):
        client.delete_firewall_ruleset(str(ruleset["id"]))
    client.terminate([instance_id])
    client.wait_until_terminated(instance_id, timeout_s=5)
    client.delete_firewall_ruleset(str(ruleset["id"]))
    assert client.get_firewall_ruleset(str(ruleset["id"])) is None

    fake.set_capacity("gpu_1x_a10", ["us-west-1"])
    with pytest.raises(InsufficientCapacityError):
        client.launch("us-east-1", "gpu_1x_a10", "sophia-ops", "lambda-gpu-0-00000002")
    fake.set_capacity("gpu_1x_a10", ["us-east-1"])
    fake.fail_next("instances", 500)
    fake.fail_next("instance-types", 429, retry_after_s=0.001)
    client.list_instances()
    client.instance_types()
    with pytest.raises(InvalidApiKeyError):
        make_client(fake, api_key="lk-wrong").list_instances()

    provider = LambdaInstanceProvider()
    props = {
        "api_key": API_KEY,
        "region": "us-east-1",
        "instance_type": "gpu_1x_a10",
        "ssh_key_name": "sophia-ops",
        "name": "lambda-gpu-1",
        "tags": gpu_pool_tags("lambda-gpu"),
        "base_url": fake.base_url,
        "active_timeout_s": 5.0,
        "delete_timeout_s": 5.0,
        "poll_interval_s": 0.002,
        "launch_interval_s": fake.launch_interval_s,
        "retry_base_delay_s": 0.002,
    }
    created = provider.create(props)
    provider.read(created.id, dict(created.outs or {}))
    provider.delete(created.id, dict(created.outs or {}))


def test_every_field_the_client_reads_and_sends_is_in_the_document(
    fake: FakeLambdaCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _Reads(fake)
    monkeypatch.setattr(lambda_cloud.client, "_decode", reads.decode)
    _exercise_every_call(fake)
    document = spec().document

    read_by_operation: dict[str, set[str]] = {}
    unknown_reads = []
    for method, path, status, field in reads.reads:
        operation = _operation(document, method, path)
        read_by_operation.setdefault(operation["operationId"], set()).add(".".join(field))
        if not _has_field(document, _response_schema(document, method, path, status), field):
            unknown_reads.append(f"{operation['operationId']} {status}: {'.'.join(field)}")
    assert unknown_reads == [], "the client reads fields the document does not define"

    unknown_sends = []
    for request in fake.requests:
        operation = _operation(document, request.method, request.path)
        body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        for field in _sent_fields(request.body):
            if not _has_field(document, body_schema.get("schema", {}), field):
                unknown_sends.append(f"{operation['operationId']}: {'.'.join(field)}")
        # Every request validates as sent (the fake would have refused it, but say so here too).
        headers = {**request.headers, "Authorization": f"Bearer {API_KEY}"}
        assert spec().refusal(request.method, request.path, headers, request.raw_body) is None, request
    assert unknown_sends == [], "the client sends fields the document does not define"

    # The check covered what the pool depends on (a test that read nothing would pass vacuously).
    expected = {
        "listInstanceTypes": {"data", "data.gpu_1x_a10", "data.gpu_1x_a10.regions_with_capacity_available"},
        "listSSHKeys": {"data", "data.*.name"},
        "launchInstance": {"data", "data.instance_ids", "error", "error.code", "error.message"},
        "getInstance": {"data.id", "data.status", "data.ip", "data.private_ip", "data.hostname"},
        "listInstances": {"data.*.name", "data.*.status", "data.*.id", "error.code"},
        "terminateInstance": {"data.terminated_instances"},
        "firewallRulesetsList": {"data", "data.*.name", "data.*.region", "data.*.region.name"},
        "createFirewallRuleset": {"data", "data.id"},
        "updateFirewallRuleset": {"data"},
        "getFirewallRuleset": {"data", "error.code"},
        "deleteFirewallRuleset": {"data", "error.code", "error.suggestion"},
    }
    missing = {
        name: sorted(fields - read_by_operation.get(name, set()))
        for name, fields in expected.items()
        if fields - read_by_operation.get(name, set())
    }
    assert missing == {}
    assert fake.take_spec_violations() == []


def test_every_error_code_the_client_knows_is_one_the_document_defines() -> None:
    schemas = spec().document["components"]["schemas"]
    defined = {
        schema["properties"]["code"]["const"]
        for name, schema in schemas.items()
        if name.startswith("ApiError") and "const" in schema.get("properties", {}).get("code", {})
    }
    assert set(ERROR_KINDS) <= defined
    assert set(STATUS_FALLBACK.values()) <= defined
