"""The Lambda Cloud client over real HTTP against the loopback fake."""

from __future__ import annotations

import itertools
import json
import logging
import pickle
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes import lambda_openapi as lambda_openapi_module
from fakes.lambda_cloud_api import FakeLambdaCloud
from lambda_cloud import (
    AccountInactiveError,
    DuplicateInstanceNameError,
    FirewallRulesetInUseError,
    InstanceFailedError,
    InstanceStatusTimeoutError,
    InsufficientCapacityError,
    InvalidApiKeyError,
    InvalidParametersError,
    LambdaCloudClient,
    LambdaCloudError,
    LaunchOutcomeUnknownError,
    LaunchRateLimiter,
    ObjectNotFoundError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    TransportError,
    unique_instance_name,
)
from lambda_cloud.errors import error_for

API_KEY = "lk-3f9a1c7e5b2d4e6f8a0b1c2d3e4f5a6b"
JOIN_TOKEN = "K10-join-token-d41d8cd98f00b204"
SSH_RULE = {
    "protocol": "tcp",
    "port_range": [22, 22],
    "source_network": "203.0.113.0/24",
    "description": "ssh",
}
PING_RULE = {"protocol": "icmp", "source_network": "0.0.0.0/0", "description": "ping"}
USER_DATA = f"#cloud-config\nruncmd:\n  - curl -sfL https://get.k3s.io | K3S_TOKEN={JOIN_TOKEN} sh -\n"


class RecordingSleep:
    """Records every back-off the client asks for and sleeps it for real (they are milliseconds here)."""

    def __init__(self, *, really_sleep: bool = True) -> None:
        self.delays: list[float] = []
        self._really_sleep = really_sleep
        self._event = threading.Event()

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self._really_sleep:
            self._event.wait(seconds)


@pytest.fixture
def fake() -> Iterator[FakeLambdaCloud]:
    with FakeLambdaCloud(api_key=API_KEY) as server:
        yield server


def make_client(fake: FakeLambdaCloud, *, api_key: str = API_KEY, **overrides: object) -> LambdaCloudClient:
    settings: dict[str, object] = {
        "base_url": fake.base_url,
        "retry_base_delay_s": 0.005,
        "retry_max_delay_s": 0.05,
        "launch_limiter": LaunchRateLimiter(fake.launch_interval_s * 1.05),
        "poll_interval_s": 0.002,
        "max_attempts": 4,
    }
    settings.update(overrides)
    return LambdaCloudClient(api_key, **settings)  # type: ignore[arg-type]


def launch(client: LambdaCloudClient, name: str = "pool-0-aaaa0000", **overrides: object) -> str:
    arguments: dict[str, object] = {
        "region": "us-east-1",
        "instance_type": "gpu_1x_a10",
        "ssh_key_name": "sophia-ops",
        "name": name,
        "user_data": USER_DATA,
        "tags": {"pool": "gpu", "stack": "production"},
    }
    arguments.update(overrides)
    return client.launch(**arguments)  # type: ignore[arg-type]


def test_launch_sends_the_documented_body_and_the_instance_boots(fake: FakeLambdaCloud) -> None:
    client = make_client(fake)
    instance_id = launch(client)

    (request,) = fake.requests_to("POST", "instance-operations/launch")
    assert request.body == {
        "region_name": "us-east-1",
        "instance_type_name": "gpu_1x_a10",
        "ssh_key_names": ["sophia-ops"],
        "name": "pool-0-aaaa0000",
        "user_data": USER_DATA,
        "tags": [{"key": "pool", "value": "gpu"}, {"key": "stack", "value": "production"}],
    }
    instance = client.wait_for_status(instance_id, {"active"}, timeout_s=5)
    assert instance["status"] == "active"
    assert instance["ip"] and instance["hostname"]
    assert fake.instances[instance_id].user_data == USER_DATA


def test_instance_types_and_capacity_come_from_the_api(fake: FakeLambdaCloud) -> None:
    fake.set_capacity("gpu_1x_h100_sxm5", ["us-west-1", "us-east-1"])
    client = make_client(fake)
    types = client.instance_types()
    assert types["gpu_8x_h100_sxm5"]["instance_type"]["specs"]["gpus"] == 8
    assert types["gpu_1x_a10"]["instance_type"]["price_cents_per_hour"] == 129
    assert client.regions_with_capacity("gpu_1x_h100_sxm5") == ["us-east-1", "us-west-1"]


def test_get_instance_is_none_for_an_unknown_id(fake: FakeLambdaCloud) -> None:
    assert make_client(fake).get_instance("0920582c7ff041399e34823a0be62549") is None


def test_list_and_terminate(fake: FakeLambdaCloud) -> None:
    client = make_client(fake)
    instance_id = launch(client)
    assert [instance["id"] for instance in client.list_instances()] == [instance_id]
    terminated = client.terminate([instance_id])
    assert [instance["id"] for instance in terminated] == [instance_id]
    client.wait_until_terminated(instance_id, timeout_s=5)
    assert fake.status_of(instance_id) == "terminated"


def test_wrong_key_is_reported_with_its_code_and_fix(fake: FakeLambdaCloud) -> None:
    wrong_key = "lk-wrong-0000000000000000000000000"
    with pytest.raises(InvalidApiKeyError) as raised:
        make_client(fake, api_key=wrong_key).list_instances()
    message = str(raised.value)
    assert "global/invalid-api-key" in message
    assert "API key" in message and "new key" in message
    assert wrong_key not in message
    assert raised.value.status == 401


def test_inactive_account_is_reported(fake: FakeLambdaCloud) -> None:
    fake.account_active = False
    with pytest.raises(AccountInactiveError) as raised:
        make_client(fake).list_instances()
    assert "global/account-inactive" in str(raised.value)
    assert "billing" in str(raised.value)


def test_capacity_error_names_the_regions_that_have_capacity(fake: FakeLambdaCloud) -> None:
    fake.set_capacity("gpu_1x_a10", ["us-west-1", "us-south-1"])
    with pytest.raises(InsufficientCapacityError) as raised:
        launch(make_client(fake), region="us-east-1")
    message = str(raised.value)
    assert "instance-operations/launch/insufficient-capacity" in message
    assert "gpu_1x_a10" in message and "us-east-1" in message
    assert "us-south-1, us-west-1" in message
    assert raised.value.regions_with_capacity == ("us-south-1", "us-west-1")
    assert fake.launch_ids == []


def test_capacity_error_says_when_no_region_has_capacity(fake: FakeLambdaCloud) -> None:
    fake.set_capacity("gpu_8x_h100_sxm5", [])
    with pytest.raises(InsufficientCapacityError) as raised:
        launch(make_client(fake), instance_type="gpu_8x_h100_sxm5")
    assert "No region has gpu_8x_h100_sxm5 capacity" in str(raised.value)
    assert raised.value.regions_with_capacity == ()


def test_quota_error_says_how_to_get_room() -> None:
    with FakeLambdaCloud(api_key=API_KEY, quota=1) as fake:
        client = make_client(fake)
        launch(client, name="pool-0-aaaa0001")
        with pytest.raises(QuotaExceededError) as raised:
            launch(client, name="pool-0-aaaa0002")
    assert "global/quota-exceeded" in str(raised.value)
    assert "Terminate instances" in str(raised.value)


def test_invalid_parameters_name_what_was_sent(fake: FakeLambdaCloud) -> None:
    with pytest.raises(InvalidParametersError) as raised:
        launch(make_client(fake), region="mars-north-1")
    message = str(raised.value)
    assert "global/invalid-parameters" in message
    assert "mars-north-1" in message and "sophia-ops" in message


def test_unknown_ssh_key_lists_the_keys_that_exist(fake: FakeLambdaCloud) -> None:
    with pytest.raises(ObjectNotFoundError) as raised:
        launch(make_client(fake), ssh_key_name="laptop")
    message = str(raised.value)
    assert "'laptop'" in message and "sophia-ops" in message
    assert "global/object-does-not-exist" in message


def test_oversized_user_data_is_refused_before_sending(fake: FakeLambdaCloud) -> None:
    with pytest.raises(InvalidParametersError, match="1 MB"):
        launch(make_client(fake), user_data="#" * (1024 * 1024 + 1))
    assert fake.requests_to("POST", "instance-operations/launch") == []


def test_429_is_retried_after_the_retry_after_the_server_gave(fake: FakeLambdaCloud) -> None:
    fake.fail_next("instances", 429, 2, retry_after_s=0.25)
    sleep = RecordingSleep(really_sleep=False)
    assert make_client(fake, sleep=sleep).list_instances() == []
    assert len(fake.requests_to("GET", "/instances")) == 3
    assert len(sleep.delays) == 2
    assert all(0.25 <= delay <= 0.25 * 1.1 for delay in sleep.delays)


def test_5xx_is_retried_with_growing_jittered_backoff(fake: FakeLambdaCloud) -> None:
    fake.fail_next("instance-types", 502, 3)
    sleep = RecordingSleep(really_sleep=False)
    client = make_client(fake, sleep=sleep, retry_base_delay_s=0.1, retry_max_delay_s=10.0)
    assert "gpu_1x_a10" in client.instance_types()
    first, second, third = sleep.delays
    assert 0.05 <= first <= 0.1
    assert 0.1 <= second <= 0.2
    assert 0.2 <= third <= 0.4


def test_retries_are_bounded(fake: FakeLambdaCloud) -> None:
    fake.fail_next("instances", 500, 10)
    sleep = RecordingSleep(really_sleep=False)
    with pytest.raises(ServerError) as raised:
        make_client(fake, sleep=sleep, max_attempts=3).list_instances()
    assert "gave up after 3 attempts" in str(raised.value)
    assert len(fake.requests_to("GET", "/instances")) == 3


def test_exhausted_429_is_a_rate_limit_error(fake: FakeLambdaCloud) -> None:
    fake.fail_next("ssh-keys", 429, 10, retry_after_s=0.001)
    with pytest.raises(RateLimitedError, match="HTTP 429"):
        make_client(fake, max_attempts=2).ssh_key_names()


def test_unreachable_api_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = LambdaCloudClient(
        API_KEY,
        base_url=f"http://127.0.0.1:{closed_port}/api/v1/",
        max_attempts=2,
        sleep=RecordingSleep(really_sleep=False),
    )
    with pytest.raises(TransportError) as raised:
        client.list_instances()
    assert f"127.0.0.1:{closed_port}" in str(raised.value)


def test_launch_rate_limited_by_the_server_is_retried_and_launches_once(fake: FakeLambdaCloud) -> None:
    fake.fail_next("launch", 429, 2, retry_after_s=0.01)
    sleep = RecordingSleep()
    instance_id = launch(make_client(fake, sleep=sleep))
    assert fake.launch_ids == [instance_id]
    assert len(sleep.delays) == 2


def test_launch_5xx_before_creating_is_retried_and_launches_once(fake: FakeLambdaCloud) -> None:
    fake.fail_next("launch", 500, 2)
    instance_id = launch(make_client(fake))
    assert fake.launch_ids == [instance_id]
    assert len(fake.requests_to("POST", "instance-operations/launch")) == 3


@pytest.mark.parametrize("lost_with", [None, 500, 503])
def test_lost_launch_answer_is_recovered_by_name_without_launching_again(
    fake: FakeLambdaCloud, lost_with: int | None
) -> None:
    fake.lose_next_launch_answers(1, status=lost_with)
    instance_id = launch(make_client(fake), name="pool-0-bbbb0000")
    assert fake.launch_ids == [instance_id]
    assert fake.instances[instance_id].name == "pool-0-bbbb0000"
    assert len(fake.requests_to("POST", "instance-operations/launch")) == 1


def test_lost_launch_answer_with_an_unreadable_instance_list_does_not_retry_blindly(
    fake: FakeLambdaCloud,
) -> None:
    fake.lose_next_launch_answers(1)
    fake.fail_after_next_launch("instances", 500, 10)
    with pytest.raises(LaunchOutcomeUnknownError) as raised:
        launch(make_client(fake, max_attempts=2), name="pool-0-cccc0000")
    assert "pool-0-cccc0000" in str(raised.value) and "dashboard" in str(raised.value)
    assert len(fake.requests_to("POST", "instance-operations/launch")) == 1


def test_a_name_already_in_use_is_refused_before_launching(fake: FakeLambdaCloud) -> None:
    client = make_client(fake)
    launch(client, name="pool-0-dddd0000")
    with pytest.raises(DuplicateInstanceNameError, match="pool-0-dddd0000"):
        launch(client, name="pool-0-dddd0000")
    assert len(fake.launch_ids) == 1


def test_concurrent_launches_queue_behind_the_shared_limiter() -> None:
    with FakeLambdaCloud(api_key=API_KEY, launch_interval_s=0.2) as fake:
        limiter = LaunchRateLimiter(0.2 * 1.05)
        ids: list[str] = []
        errors: list[LambdaCloudError] = []

        def one(index: int) -> None:
            try:
                ids.append(launch(make_client(fake, launch_limiter=limiter), name=f"pool-0-{index:08x}"))
            except LambdaCloudError as error:
                errors.append(error)

        threads = [threading.Thread(target=one, args=(index,)) for index in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sorted(ids) == sorted(fake.launch_ids) and len(set(ids)) == 4
    assert fake.rate_limited_launches == 0


def test_limiter_spaces_launches_by_the_interval() -> None:
    now = [100.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = LaunchRateLimiter(12.0, clock=lambda: now[0], sleep=sleep)
    assert [limiter.acquire() for _ in range(4)] == [100.0, 112.0, 124.0, 136.0]
    limiter.defer(100.0)
    assert limiter.acquire() == 236.0


def test_limiter_counts_the_interval_from_when_the_launch_was_really_sent() -> None:
    now = [100.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = LaunchRateLimiter(12.0, clock=lambda: now[0], sleep=sleep)
    assert limiter.acquire() == 100.0
    now[0] += 5.0  # the duplicate-name check took a while
    limiter.note_sent()
    assert limiter.acquire() == 117.0


def test_limiter_grants_are_an_interval_apart_across_threads() -> None:
    limiter = LaunchRateLimiter(0.02)
    granted: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        at = limiter.acquire()
        with lock:
            granted.append(at)

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted.sort()
    assert all(later - earlier >= 0.02 for earlier, later in itertools.pairwise(granted))


def test_wait_for_status_times_out_with_a_clear_message(fake: FakeLambdaCloud) -> None:
    fake.stick_next_launches_in_booting()
    client = make_client(fake)
    instance_id = launch(client)
    with pytest.raises(InstanceStatusTimeoutError) as raised:
        client.wait_for_status(instance_id, {"active"}, timeout_s=0.05)
    assert "still booting" in str(raised.value) and instance_id in str(raised.value)


def test_wait_for_status_fails_early_on_preemption(fake: FakeLambdaCloud) -> None:
    fake.preempt_next_launches_once_active()
    client = make_client(fake)
    instance_id = launch(client)
    with pytest.raises(InstanceFailedError, match="preempted"):
        client.wait_for_status(instance_id, {"active"}, timeout_s=5)


def test_unique_names_fit_lambdas_limit() -> None:
    names = {unique_instance_name("p" * 55) for _ in range(50)}
    assert len(names) == 50
    assert all(len(name) == 64 for name in names)
    with pytest.raises(InvalidParametersError):
        unique_instance_name("p" * 56)


def test_the_key_and_the_user_data_never_leak(
    fake: FakeLambdaCloud, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    def capture(error: BaseException) -> None:
        while error is not None:
            texts.extend([str(error), repr(error)])
            error = error.__cause__ or error.__context__  # type: ignore[assignment]

    client = make_client(fake)
    scenarios = [
        lambda: fake.fail_next("launch", 500, 2),
        lambda: fake.lose_next_launch_answers(1),
        lambda: fake.fail_next("launch", 429, 1, retry_after_s=0.001),
        lambda: fake.fail_next(
            "launch", 400, 1, code="global/invalid-parameters", message=f"bad {USER_DATA}"
        ),
        lambda: fake.fail_next("launch", 500, 10, message=f"echo {API_KEY}"),
        lambda: fake.set_capacity("gpu_1x_a10", []),
    ]
    for index, arrange in enumerate(scenarios):
        arrange()
        try:
            launch(client, name=f"pool-9-{index:08x}")
        except LambdaCloudError as error:
            capture(error)
    for wrong in ("lk-wrong", API_KEY[:-1]):
        with pytest.raises(InvalidApiKeyError) as raised:
            make_client(fake, api_key=wrong).list_instances()
        capture(raised.value)

    assert texts, "the failure scenarios must have raised"
    logged = [record.getMessage() for record in caplog.records]
    assert logged, "the retries must have been logged"
    for text in texts + logged + [repr(client)]:
        assert API_KEY not in text
        assert JOIN_TOKEN not in text
    for request in fake.requests:
        assert API_KEY.encode() not in request.raw_body
        assert API_KEY not in request.path
        assert all(API_KEY not in value for value in request.headers.values())


def test_the_client_refuses_to_be_pickled(fake: FakeLambdaCloud) -> None:
    with pytest.raises(TypeError) as raised:
        pickle.dumps(make_client(fake))
    assert API_KEY not in str(raised.value)


# -- tags and firewall rulesets ------------------------------------------------------------------------------


def test_tags_lambda_would_refuse_are_refused_before_sending(fake: FakeLambdaCloud) -> None:
    with pytest.raises(InvalidParametersError) as raised:
        launch(make_client(fake), tags={"sophia.ai/gpu-pool": "lambda-gpu"})
    assert "'sophia.ai/gpu-pool'" in str(raised.value) and "sophia-ai:gpu-pool" in str(raised.value)
    assert raised.value.code == "global/invalid-parameters"
    assert fake.requests_to("POST", "instance-operations/launch") == []


def test_a_launch_names_its_firewall_rulesets(fake: FakeLambdaCloud) -> None:
    client = make_client(fake)
    ruleset = client.create_firewall_ruleset("k3s-agents", "us-east-1", [SSH_RULE])
    instance_id = launch(client, firewall_ruleset_ids=[ruleset["id"]])
    (request,) = fake.requests_to("POST", "instance-operations/launch")
    assert request.body["firewall_rulesets"] == [{"id": ruleset["id"]}]
    assert client.get_firewall_ruleset(ruleset["id"])["instance_ids"] == [instance_id]  # type: ignore[index]


def test_firewall_rulesets_are_created_listed_updated_and_deleted(fake: FakeLambdaCloud) -> None:
    client = make_client(fake)
    ruleset = client.create_firewall_ruleset("k3s-agents", "us-east-1", [SSH_RULE])
    assert ruleset["name"] == "k3s-agents" and ruleset["region"]["name"] == "us-east-1"
    assert ruleset["rules"] == [SSH_RULE] and ruleset["instance_ids"] == []
    updated = client.update_firewall_ruleset(ruleset["id"], rules=[SSH_RULE, PING_RULE])
    assert updated["rules"] == [SSH_RULE, PING_RULE] and updated["name"] == "k3s-agents"
    assert [r["id"] for r in client.firewall_rulesets()] == [ruleset["id"]]
    client.delete_firewall_ruleset(ruleset["id"])
    assert client.firewall_rulesets() == [] and client.get_firewall_ruleset(ruleset["id"]) is None


def test_a_ruleset_in_use_is_not_deleted_and_the_error_says_why(fake: FakeLambdaCloud) -> None:
    client = make_client(fake)
    ruleset = client.create_firewall_ruleset("k3s-agents", "us-east-1", [SSH_RULE])
    launch(client, firewall_ruleset_ids=[ruleset["id"]])
    with pytest.raises(FirewallRulesetInUseError) as raised:
        client.delete_firewall_ruleset(ruleset["id"])
    assert "firewall-rulesets/firewall-ruleset-in-use" in str(raised.value)
    assert "Terminate" in str(raised.value)
    assert ruleset["id"] in fake.rulesets


def test_a_ruleset_is_deleted_once_the_instances_holding_it_are_terminated(fake: FakeLambdaCloud) -> None:
    client = make_client(fake)
    ruleset = client.create_firewall_ruleset("k3s-agents", "us-east-1", [SSH_RULE])
    instance_id = launch(client, firewall_ruleset_ids=[ruleset["id"]])
    client.wait_for_status(instance_id, {"active"}, timeout_s=5)
    fake.terminate_s = 0.5  # long enough for the first delete to find it terminating
    client.terminate([instance_id])
    # Terminating: the API still refuses, and the delete waits until the instance lets go.
    client.delete_firewall_ruleset(ruleset["id"], wait_s=30)
    assert fake.status_of(instance_id) == "terminated"
    assert ruleset["id"] not in fake.rulesets
    deletes = fake.requests_to("DELETE", f"firewall-rulesets/{ruleset['id']}")
    refusals = [r for r in deletes if r.status == 400]
    assert refusals, "the fake should have refused the delete while the instance was terminating"


def test_a_ruleset_held_by_a_live_instance_fails_at_once_naming_it(fake: FakeLambdaCloud) -> None:
    client = make_client(fake)
    ruleset = client.create_firewall_ruleset("k3s-agents", "us-east-1", [SSH_RULE])
    instance_id = launch(client, firewall_ruleset_ids=[ruleset["id"]])
    started = time.monotonic()
    with pytest.raises(FirewallRulesetInUseError) as raised:
        client.delete_firewall_ruleset(ruleset["id"], wait_s=30)
    assert time.monotonic() - started < 10
    assert instance_id in str(raised.value) and "Terminate" in str(raised.value)
    assert ruleset["id"] in fake.rulesets


def test_a_preempted_instance_no_longer_holds_its_ruleset(fake: FakeLambdaCloud) -> None:
    client = make_client(fake)
    ruleset = client.create_firewall_ruleset("k3s-agents", "us-east-1", [SSH_RULE])
    instance_id = launch(client, firewall_ruleset_ids=[ruleset["id"]])
    client.wait_for_status(instance_id, {"active"}, timeout_s=5)
    fake.preempt(instance_id)
    assert client.get_firewall_ruleset(ruleset["id"])["instance_ids"] == []  # type: ignore[index]
    client.delete_firewall_ruleset(ruleset["id"])
    assert ruleset["id"] not in fake.rulesets


def test_a_ruleset_from_another_region_is_refused_at_launch(fake: FakeLambdaCloud) -> None:
    client = make_client(fake)
    ruleset = client.create_firewall_ruleset("k3s-agents", "us-west-1", [SSH_RULE])
    with pytest.raises(InvalidParametersError, match="same region"):
        launch(client, region="us-east-1", firewall_ruleset_ids=[ruleset["id"]])
    assert fake.launch_ids == []


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        (PING_RULE | {"port_range": [1, 1]}, "not allowed for protocol icmp"),
        ({key: value for key, value in SSH_RULE.items() if key != "port_range"}, "required for protocol tcp"),
        (SSH_RULE | {"source_network": "k3s.example"}, "not an IPv4 address"),
    ],
)
def test_rules_lambda_refuses_are_refused(fake: FakeLambdaCloud, rule: dict[str, object], why: str) -> None:
    with pytest.raises(InvalidParametersError, match=why):
        make_client(fake).create_firewall_ruleset("k3s-agents", "us-east-1", [rule])
    assert fake.rulesets == {}


def test_a_lost_ruleset_creation_answer_is_recovered_by_name_without_creating_twice(
    fake: FakeLambdaCloud,
) -> None:
    client = make_client(fake)
    client.create_firewall_ruleset("other", "us-west-1", [SSH_RULE])
    fake.lose_next_answers("create-firewall-ruleset", status=502)
    ruleset = client.create_firewall_ruleset("k3s-agents", "us-east-1", [SSH_RULE])
    assert ruleset["name"] == "k3s-agents" and ruleset["region"]["name"] == "us-east-1"
    assert sorted(r.name for r in fake.rulesets.values()) == ["k3s-agents", "other"]
    assert len(fake.requests_to("POST", "firewall-rulesets")) == 2


def test_without_the_reference_document_the_fake_runs_unchecked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(lambda_openapi_module, "DOCUMENT", tmp_path / "openapi.json")
    lambda_openapi_module.lambda_openapi.cache_clear()
    try:
        assert lambda_openapi_module.lambda_openapi() is None
        with FakeLambdaCloud(api_key=API_KEY) as fake:
            assert fake.spec is None
            body = {
                "region_name": "us-east-1",
                "instance_type_name": "gpu_1x_a10",
                "ssh_key_names": ["sophia-ops"],
                "tags": [{"key": "sophia.ai/gpu-pool", "value": "lambda-gpu"}],
            }
            headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
            # Only the document knows this key is refused; unchecked, the fake lets it through.
            path = "/api/v1/instance-operations/launch"
            reply = fake.handle("POST", path, headers, json.dumps(body).encode())
            assert reply.status == 200 and fake.spec_violations == []
    finally:
        lambda_openapi_module.lambda_openapi.cache_clear()


@pytest.mark.parametrize(
    ("status", "code", "expected", "shown"),
    [
        (400, "global/quota-exceeded", QuotaExceededError, "global/quota-exceeded"),
        (400, "firewall-rulesets/firewall-ruleset-in-use", FirewallRulesetInUseError, "in-use"),
        (404, "global/not-found", ObjectNotFoundError, "global/not-found"),
        (404, None, ObjectNotFoundError, "HTTP 404"),
        (401, None, InvalidApiKeyError, "HTTP 401"),
        (409, "global/internal-error", LambdaCloudError, "global/internal-error, HTTP 409"),
        (418, None, LambdaCloudError, "no error code, HTTP 418"),
    ],
)
def test_error_codes_map_to_exceptions_through_the_table(
    status: int, code: str | None, expected: type[LambdaCloudError], shown: str
) -> None:
    error = error_for("Lambda Cloud GET x", status, code, "said", None)
    assert type(error) is expected
    assert shown in str(error) and error.status == status and error.code == code
