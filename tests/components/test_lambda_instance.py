"""The LambdaInstance dynamic provider, driven as the engine drives it, over real HTTP against the fake."""

from __future__ import annotations

import base64
import logging
import pickletools
import time
from collections.abc import Iterator
from typing import Any

import dill
import pulumi
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pulumi.dynamic.dynamic import serialize_provider

from components.lambda_instance import (
    IN_PLACE_PROPERTIES,
    REPLACE_PROPERTIES,
    LambdaInstance,
    LambdaInstanceArgs,
    LambdaInstanceError,
    LambdaInstanceProvider,
)
from fakes.lambda_cloud_api import FakeLambdaCloud
from harness.paths import PROJECT_DIR
from lambda_cloud import (
    InsufficientCapacityError,
    InvalidApiKeyError,
    LambdaCloudError,
    LaunchOutcomeUnknownError,
)

API_KEY = "lk-7c1e9b3d5f7a9c1e3b5d7f9a1c3e5b7d"
JOIN_TOKEN = "K10-join-token-6f1ed002ab5595859014"
USER_DATA = f"#cloud-config\nruncmd:\n  - curl -sfL https://get.k3s.io | K3S_TOKEN={JOIN_TOKEN} sh -\n"


@pytest.fixture
def fake() -> Iterator[FakeLambdaCloud]:
    with FakeLambdaCloud(api_key=API_KEY) as server:
        yield server


def inputs(fake: FakeLambdaCloud, **overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "api_key": API_KEY,
        "region": "us-east-1",
        "instance_type": "gpu_1x_a10",
        "ssh_key_name": "sophia-ops",
        "name": "gpu-pool-0",
        "user_data": USER_DATA,
        "tags": {"pool": "gpu"},
        "base_url": fake.base_url,
        "active_timeout_s": 5.0,
        "delete_timeout_s": 5.0,
        "poll_interval_s": 0.002,
        "launch_interval_s": fake.launch_interval_s,
        "retry_base_delay_s": 0.002,
    }
    props.update(overrides)
    return props


def assert_nothing_leaked(fake: FakeLambdaCloud, owned: list[str]) -> None:
    assert fake.leaked_instance_ids(owned) == []
    assert fake.names_launched_more_than_once() == []


def test_create_waits_for_active_and_reports_the_instance(fake: FakeLambdaCloud) -> None:
    result = LambdaInstanceProvider().create(inputs(fake))
    outs = result.outs or {}
    assert outs["instance_id"] == result.id
    assert outs["status"] == "active"
    assert outs["ip"] and outs["hostname"] and outs["private_ip"]
    assert (
        outs["instance_name"].startswith("gpu-pool-0-")
        and len(outs["instance_name"]) == len("gpu-pool-0-") + 8
    )
    # Delete and refresh only see the state, so it must carry everything they need.
    assert outs["api_key"] == API_KEY and outs["base_url"] == fake.base_url
    launched = fake.instances[result.id]
    assert launched.user_data == USER_DATA
    assert launched.tags == [{"key": "pool", "value": "gpu"}]
    assert fake.live_instance_ids() == [result.id]


def test_each_create_uses_a_fresh_name(fake: FakeLambdaCloud) -> None:
    provider = LambdaInstanceProvider()
    first = provider.create(inputs(fake)).outs or {}
    second = provider.create(inputs(fake)).outs or {}
    assert first["instance_name"] != second["instance_name"]


def test_read_returns_the_live_instance(fake: FakeLambdaCloud) -> None:
    provider = LambdaInstanceProvider()
    created = provider.create(inputs(fake))
    read = provider.read(created.id, dict(created.outs or {}))
    assert read.id == created.id
    assert (read.outs or {})["status"] == "active"
    assert (read.outs or {})["api_key"] == API_KEY


@pytest.mark.parametrize("ending", ["preempted", "terminating", "terminated", "forgotten"])
def test_read_drops_an_instance_that_is_no_longer_running(fake: FakeLambdaCloud, ending: str) -> None:
    provider = LambdaInstanceProvider()
    created = provider.create(inputs(fake))
    # Long enough that the status cannot move on between arranging it and reading it.
    fake.terminate_s = fake.terminated_visible_s = 3600.0
    now = time.monotonic()
    if ending == "preempted":
        fake.preempt(created.id)
    elif ending == "terminating":
        fake.instances[created.id].terminate_requested_at = now
    elif ending == "terminated":
        fake.instances[created.id].terminate_requested_at = now - fake.terminate_s
    else:
        fake.forget(created.id)
    if ending != "forgotten":
        assert fake.status_of(created.id) == ending
    read = provider.read(created.id, dict(created.outs or {}))
    assert read.id == ""
    assert read.outs == {}


@pytest.mark.parametrize(
    ("key", "new_value"),
    [
        ("region", "us-west-1"),
        ("instance_type", "gpu_1x_h100_sxm5"),
        ("ssh_key_name", "other-key"),
        ("user_data", "#cloud-config\n"),
        ("name", "gpu-pool-1"),
        ("tags", {"pool": "gpu", "team": "ai"}),
    ],
)
def test_diff_replaces_what_lambda_cannot_change(fake: FakeLambdaCloud, key: str, new_value: Any) -> None:
    olds = inputs(fake)
    result = LambdaInstanceProvider().diff("id", olds, {**olds, key: new_value})
    assert result.changes is True
    assert result.replaces == [key]


@pytest.mark.parametrize(
    ("key", "new_value"),
    [
        ("api_key", "lk-rotated"),
        ("active_timeout_s", 30.0),
        ("base_url", "https://cloud.lambdalabs.com/api/v1/"),
    ],
)
def test_diff_updates_provider_settings_in_place(fake: FakeLambdaCloud, key: str, new_value: Any) -> None:
    olds = inputs(fake)
    result = LambdaInstanceProvider().diff("id", olds, {**olds, key: new_value})
    assert result.changes is True
    assert result.replaces == []


def test_diff_sees_no_change_between_empty_forms(fake: FakeLambdaCloud) -> None:
    olds = inputs(fake, tags={}, user_data=None)
    result = LambdaInstanceProvider().diff("id", olds, {**olds, "tags": None, "user_data": ""})
    assert result.changes is False
    assert result.replaces == []


@given(
    changed=st.sets(st.sampled_from(REPLACE_PROPERTIES + IN_PLACE_PROPERTIES)),
)
def test_diff_replaces_exactly_when_a_replace_property_changed(changed: set[str]) -> None:
    olds: dict[str, Any] = {key: f"old-{key}" for key in REPLACE_PROPERTIES + IN_PLACE_PROPERTIES}
    olds["tags"] = {"pool": "old"}
    news = dict(olds)
    for key in changed:
        news[key] = {"pool": "new"} if key == "tags" else f"new-{key}"
    result = LambdaInstanceProvider().diff("id", olds, news)
    assert sorted(result.replaces or []) == sorted(changed & set(REPLACE_PROPERTIES))
    assert result.changes is bool(changed)


def test_update_keeps_the_instance_and_takes_the_new_settings(fake: FakeLambdaCloud) -> None:
    provider = LambdaInstanceProvider()
    created = provider.create(inputs(fake))
    olds = dict(created.outs or {})
    updated = provider.update(created.id, olds, {**inputs(fake), "api_key": "lk-rotated"}).outs or {}
    assert updated["api_key"] == "lk-rotated"
    assert updated["instance_id"] == created.id and updated["ip"] == olds["ip"]
    assert fake.launch_ids == [created.id]


def test_delete_terminates_and_waits(fake: FakeLambdaCloud) -> None:
    provider = LambdaInstanceProvider()
    created = provider.create(inputs(fake))
    provider.delete(created.id, dict(created.outs or {}))
    assert fake.status_of(created.id) == "terminated"
    assert fake.live_instance_ids() == []


@pytest.mark.parametrize("ending", ["preempt", "forget"])
def test_delete_of_an_instance_already_gone_succeeds_without_terminating(
    fake: FakeLambdaCloud, ending: str
) -> None:
    provider = LambdaInstanceProvider()
    created = provider.create(inputs(fake))
    getattr(fake, ending)(created.id)
    provider.delete(created.id, dict(created.outs or {}))
    assert fake.requests_to("POST", "instance-operations/terminate") == []


def test_delete_of_an_instance_already_terminating_only_waits(fake: FakeLambdaCloud) -> None:
    provider = LambdaInstanceProvider()
    created = provider.create(inputs(fake))
    fake.instances[created.id].terminate_requested_at = time.monotonic()
    provider.delete(created.id, dict(created.outs or {}))
    assert fake.status_of(created.id) == "terminated"
    assert fake.requests_to("POST", "instance-operations/terminate") == []


def test_check_reports_every_bad_input(fake: FakeLambdaCloud) -> None:
    news = inputs(
        fake, api_key="", name="n" * 56, active_timeout_s=-1, retry_base_delay_s="soon", tags={"a": 1}
    )
    failures = {
        failure.property: failure.reason for failure in LambdaInstanceProvider().check({}, news).failures
    }
    assert set(failures) == {"api_key", "name", "active_timeout_s", "retry_base_delay_s", "tags"}
    assert "at most 55" in failures["name"]


def test_check_accepts_good_inputs_and_unknowns(fake: FakeLambdaCloud) -> None:
    provider = LambdaInstanceProvider()
    assert provider.check({}, inputs(fake)).failures == []
    unknown = pulumi.output.Unknown()
    assert provider.check({}, inputs(fake, user_data=unknown, region=unknown)).failures == []


# -- faults: nothing may leak and nothing may launch twice ---------------------------------------------------


@pytest.mark.parametrize(
    "arrange",
    [
        pytest.param(
            lambda fake: fake.fail_next("launch", 429, 3, retry_after_s=0.005), id="429-retry-after"
        ),
        pytest.param(lambda fake: fake.fail_next("launch", 500, 2), id="500-before-create"),
        pytest.param(lambda fake: fake.lose_next_launch_answers(1), id="connection-dropped-after-create"),
        pytest.param(lambda fake: fake.lose_next_launch_answers(1, status=502), id="502-after-create"),
        pytest.param(lambda fake: fake.fail_next("instance", 503, 2), id="503-while-polling"),
    ],
)
def test_create_survives_transient_faults_with_one_instance(fake: FakeLambdaCloud, arrange: Any) -> None:
    arrange(fake)
    created = LambdaInstanceProvider().create(inputs(fake))
    assert fake.launch_ids == [created.id]
    assert (created.outs or {})["status"] == "active"
    assert_nothing_leaked(fake, [created.id])


def test_create_stuck_in_booting_times_out_and_terminates_what_it_launched(fake: FakeLambdaCloud) -> None:
    fake.stick_next_launches_in_booting()
    with pytest.raises(LambdaInstanceError) as raised:
        LambdaInstanceProvider().create(inputs(fake, active_timeout_s=0.05))
    message = str(raised.value)
    (instance_id,) = fake.launch_ids
    assert "still booting" in message and "raise the timeout" in message
    assert f"Instance {instance_id} was terminated" in message
    assert fake.status_of(instance_id) in {"terminating", "terminated"}
    assert_nothing_leaked(fake, [])


def test_create_preempted_while_booting_fails_and_leaves_nothing(fake: FakeLambdaCloud) -> None:
    fake.preempt_next_launches_once_active()
    with pytest.raises(LambdaInstanceError, match="preempted"):
        LambdaInstanceProvider().create(inputs(fake))
    assert len(fake.launch_ids) == 1
    assert_nothing_leaked(fake, [])


def test_create_that_cannot_terminate_its_instance_says_so(fake: FakeLambdaCloud) -> None:
    fake.stick_next_launches_in_booting()
    fake.fail_next("terminate", 500, 20)
    with pytest.raises(LambdaInstanceError) as raised:
        LambdaInstanceProvider().create(inputs(fake, active_timeout_s=0.05))
    (instance_id,) = fake.launch_ids
    assert "terminate it in the Lambda dashboard" in str(raised.value)
    assert instance_id in str(raised.value)


def test_create_recovers_a_lost_launch_even_when_the_first_lookup_fails(fake: FakeLambdaCloud) -> None:
    fake.lose_next_launch_answers(1, status=500)
    fake.fail_after_next_launch("instances", 500, 1)
    created = LambdaInstanceProvider().create(inputs(fake))
    assert fake.launch_ids == [created.id]
    assert_nothing_leaked(fake, [created.id])


def test_create_whose_outcome_cannot_be_known_does_not_launch_again(fake: FakeLambdaCloud) -> None:
    fake.lose_next_launch_answers(1)
    fake.fail_after_next_launch("instances", 500, 50)
    with pytest.raises(LaunchOutcomeUnknownError) as raised:
        LambdaInstanceProvider().create(inputs(fake))
    (instance_id,) = fake.launch_ids
    assert fake.instances[instance_id].name in str(raised.value)
    assert len(fake.requests_to("POST", "instance-operations/launch")) == 1


def test_create_without_capacity_names_the_regions_that_have_it(fake: FakeLambdaCloud) -> None:
    fake.set_capacity("gpu_1x_a10", ["us-south-1"])
    with pytest.raises(InsufficientCapacityError) as raised:
        LambdaInstanceProvider().create(inputs(fake))
    assert "us-south-1" in str(raised.value) and "instance-operations/launch/insufficient-capacity" in str(
        raised.value
    )
    assert fake.launch_ids == []


def test_create_with_a_wrong_key_launches_nothing(fake: FakeLambdaCloud) -> None:
    with pytest.raises(InvalidApiKeyError, match="global/invalid-api-key"):
        LambdaInstanceProvider().create(inputs(fake, api_key="lk-wrong"))
    assert fake.launch_ids == []


# -- the key and the join token stay secret ------------------------------------------------------------------


def test_secrets_never_reach_errors_logs_requests_or_the_pickled_provider(
    fake: FakeLambdaCloud, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = LambdaInstanceProvider()
    errors: list[str] = []
    created = provider.create(inputs(fake))
    provider.read(created.id, dict(created.outs or {}))
    for arrange in (
        lambda: fake.stick_next_launches_in_booting(),
        lambda: fake.set_capacity("gpu_1x_a10", []),
        lambda: fake.fail_next(
            "launch", 400, 1, code="global/invalid-parameters", message=f"{API_KEY} {USER_DATA}"
        ),
    ):
        arrange()
        try:
            provider.create(inputs(fake, active_timeout_s=0.02))
        except LambdaCloudError as error:
            errors.extend([str(error), repr(error)])
    provider.delete(created.id, dict(created.outs or {}))

    assert len(errors) == 6
    pickled = base64.b64decode(serialize_provider(provider))
    assert API_KEY.encode() not in pickled and JOIN_TOKEN.encode() not in pickled
    # The engine unpickles exactly this blob in the provider process; it is our own, not untrusted input.
    assert isinstance(dill.loads(pickled), LambdaInstanceProvider)  # noqa: S301
    logged = [record.getMessage() for record in caplog.records]
    for text in errors + logged:
        assert API_KEY not in text and JOIN_TOKEN not in text
    for request in fake.requests:
        assert API_KEY.encode() not in request.raw_body
        assert all(API_KEY not in value for value in request.headers.values())


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.registered.append(args)
        return "0920582c7ff041399e34823a0be62549", {
            **args.inputs,
            "instance_id": "0920582c7ff041399e34823a0be62549",
        }

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def test_resource_registers_secret_inputs_and_a_provider_without_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    seen_options: list[pulumi.ResourceOptions] = []
    original_init = pulumi.CustomResource.__init__

    def spy(
        self: pulumi.CustomResource, t: str, name: str, props: Any = None, opts: Any = None, **kw: Any
    ) -> None:
        seen_options.append(opts)
        original_init(self, t, name, props, opts, **kw)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", spy)
    resource = LambdaInstance(
        "gpu-pool-0",
        LambdaInstanceArgs(
            api_key=API_KEY,
            region="us-east-1",
            instance_type="gpu_1x_a10",
            ssh_key_name="sophia-ops",
            name="gpu-pool-0",
            user_data=USER_DATA,
            tags={"pool": "gpu"},
        ),
    )

    resolved: list[Any] = []

    @pulumi.runtime.test
    def check() -> pulumi.Output[Any]:
        return pulumi.Output.all(resource.instance_id, resource.urn).apply(resolved.extend)

    check()
    instance_id, urn = resolved
    assert instance_id == "0920582c7ff041399e34823a0be62549"
    assert "pulumi-python:dynamic/lambdacloud:Instance::gpu-pool-0" in urn
    (registered,) = mocks.registered
    assert registered.typ == "pulumi-python:dynamic/lambdacloud:Instance"
    provider_blob = pulumi.runtime.rpc.unwrap_rpc_secret(registered.inputs["__provider"])
    assert API_KEY.encode() not in base64.b64decode(provider_blob)
    for secret_input in ("api_key", "user_data"):
        assert pulumi.runtime.rpc.is_rpc_secret(registered.inputs[secret_input]), secret_input
    assert set(seen_options[-1].additional_secret_outputs or []) >= {"api_key", "user_data"}


# -- stacks deployed before keep working -------------------------------------------------------------------

# `__provider` of a LambdaInstance in the state of a stack deployed while the client still lived in
# components/: serialize_provider(LambdaInstanceProvider()) at commit 35c4e1e.
OLD_PICKLE = PROJECT_DIR / "tests" / "fixtures" / "lambda_instance_provider.pickle.b64"


def _pickled_globals(serialized: str) -> set[str]:
    """The `module.name` of every global a pickled provider refers to."""
    names: set[str] = set()
    strings: list[str] = []
    for opcode, argument, _ in pickletools.genops(base64.b64decode(serialized)):
        if opcode.name in {"SHORT_BINUNICODE", "BINUNICODE", "UNICODE"}:
            strings.append(str(argument))
        elif opcode.name == "STACK_GLOBAL":
            names.add(".".join(strings[-2:]))
        elif opcode.name == "GLOBAL":
            names.add(str(argument).replace(" ", "."))
    return names


def test_a_provider_pickled_into_an_existing_state_still_loads_and_runs(fake: FakeLambdaCloud) -> None:
    serialized = OLD_PICKLE.read_text().strip()
    # What the dynamic provider process does with `__provider` (pulumi/dynamic/__main__.py, get_provider:
    # dill.loads of the base64-decoded string); that module serves gRPC on import, so it is not imported here.
    provider = dill.loads(base64.b64decode(serialized))  # noqa: S301 - the project's own fixture
    assert isinstance(provider, LambdaInstanceProvider)
    created = provider.create(inputs(fake))
    assert fake.status_of(created.id) == "active"
    provider.delete(created.id, dict(created.outs or {}))
    assert fake.live_instance_ids() == []


def test_the_state_refers_to_the_provider_by_the_module_path_old_states_hold() -> None:
    old = _pickled_globals(OLD_PICKLE.read_text().strip())
    assert old == {"components.lambda_instance.LambdaInstanceProvider"}
    assert _pickled_globals(serialize_provider(LambdaInstanceProvider())) == old
