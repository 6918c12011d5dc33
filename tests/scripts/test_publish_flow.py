"""scripts/publish_flow.py against a recording flowctl double: order, private spec file, no leaked secrets."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.estuary.models import Catalog
from domain.estuary.production import SnowflakeTarget, build_production_catalog
from domain.estuary.rendering import render_catalog
from fakes import FAKE_PRIVATE_KEY
from harness.paths import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts" / "publish_flow.py"
DATA_PLANE = "ops/dp/public/gcp-us-central1-c1"
FAKE_FLOWCTL = PROJECT_DIR / "testkit" / "fakes" / "flowctl"

TOKEN = "flow-refresh-token-d3adb33f"
PRIVATE_KEY = FAKE_PRIVATE_KEY
SECRETS = {
    "hubspot.client_id": "hs-id-5c1e",
    "hubspot.client_secret": "hs-secret-90ab",
    "hubspot.refresh_token": "hs-refresh-77de",
    "gong.access_key": "gong-key-31f0",
    "gong.access_key_secret": "gong-keysecret-c4a2",
    "snowflake.private_key": PRIVATE_KEY,
}
SECRET_FRAGMENTS = [*SECRETS.values(), *PRIVATE_KEY.splitlines()[1:3], TOKEN]


def production_catalog() -> Catalog:
    return build_production_catalog(
        "Pay_Ready/",
        [
            {
                "source": "hubspot",
                "connectorTag": "v1",
                "interval": "5m",
                "streams": ["companies", "contacts"],
            },
            {"source": "gong", "connectorTag": "v1", "interval": "15m", "streams": ["calls"]},
        ],
        SnowflakeTarget(
            host="uhdecno-cvb64222.snowflakecomputing.com",
            database="SOPHIA_AI",
            landing_schema="ESTUARY_RAW",
            warehouse="SOPHIA_AI_WH",
            role="SOPHIA_ESTUARY_LOADER",
            user="SOPHIA_ESTUARY_SVC",
        ),
        "15m",
        materialize_tag="v4",
    )


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[dict[str, Any]]
    log_text: str


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "flowctl"
    wrapper.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE_FLOWCTL))} "$@"\n'
    )
    wrapper.chmod(0o755)
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    return {
        "bin": bin_dir,
        "tmp": temp_dir,
        "log": tmp_path / "flowctl.jsonl",
        "live": tmp_path / "live-catalog.json",
    }


def environment(sandbox: dict[str, Path], **overrides: str | None) -> dict[str, str]:
    env = {
        "PATH": f"{sandbox['bin']}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(sandbox["tmp"]),
        "FAKE_FLOWCTL_LOG": str(sandbox["log"]),
        "FAKE_FLOWCTL_LIVE": str(sandbox["live"]),
        "FLOW_CATALOG": render_catalog(production_catalog()),
        "FLOW_SECRETS_JSON": json.dumps(SECRETS),
        "FLOW_AUTH_TOKEN": TOKEN,
        "FLOW_DATA_PLANE": DATA_PLANE,
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_script(action: str, sandbox: dict[str, Path], **overrides: str | None) -> Run:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), action],
        env=environment(sandbox, **overrides),
        cwd=sandbox["tmp"].parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    log_text = sandbox["log"].read_text() if sandbox["log"].exists() else ""
    calls = [json.loads(line) for line in log_text.splitlines()]
    return Run(result.returncode, result.stdout, result.stderr, calls, log_text)


def assert_nothing_leaked(run: Run) -> None:
    for fragment in SECRET_FRAGMENTS:
        assert fragment not in run.stdout, fragment
        assert fragment not in run.stderr, fragment
    for call in run.calls:
        assert all(TOKEN not in argument for argument in call["argv"])
    assert TOKEN not in run.log_text


PRODUCTION_NAMES = sorted(
    [
        "Pay_Ready/hubspot/source-hubspot-native",
        "Pay_Ready/gong/source-gong",
        "Pay_Ready/hubspot/companies",
        "Pay_Ready/hubspot/contacts",
        "Pay_Ready/gong/calls",
        "Pay_Ready/snowflake/materialize-snowflake",
    ]
)
GONG_NAMES = ["Pay_Ready/gong/calls", "Pay_Ready/gong/source-gong"]


def hubspot_only_catalog() -> str:
    catalog = production_catalog()
    kept = catalog.model_copy(
        update={
            "captures": [c for c in catalog.captures if "gong" not in c.name],
            "collections": [c for c in catalog.collections if "gong" not in c.name],
        }
    )
    (materialization,) = kept.materializations
    bindings = [b for b in materialization.bindings if "gong" not in b.source]
    kept = kept.model_copy(
        update={"materializations": [materialization.model_copy(update={"bindings": bindings})]}
    )
    return render_catalog(Catalog.model_validate(kept.model_dump(by_alias=True)))


def live(sandbox: dict[str, Path]) -> list[str]:
    return sorted(json.loads(sandbox["live"].read_text())) if sandbox["live"].exists() else []


def set_live(sandbox: dict[str, Path], names: list[str]) -> None:
    sandbox["live"].write_text(json.dumps(dict.fromkeys(names, "capture")))


def owned_line(stdout: str) -> list[str]:
    """The names in the last `published specs` line, the one the next run reads back."""
    *_, last = [line for line in stdout.splitlines() if line.startswith("publish_flow: published specs ")]
    names: list[str] = json.loads(last.removeprefix("publish_flow: published specs "))
    return names


def test_publish_tests_then_publishes_from_a_private_file_that_is_removed(sandbox: dict[str, Path]) -> None:
    run = run_script("publish", sandbox)

    assert run.returncode == 0, run.stderr
    test_call, publish_call = run.calls
    spec_path = test_call["source"]
    plane = ["--default-data-plane", DATA_PLANE]
    assert test_call["argv"] == ["catalog", "test", "--source", spec_path, *plane]
    assert publish_call["argv"] == ["catalog", "publish", "--source", spec_path, "--auto-approve", *plane]
    assert publish_call["source"] == spec_path
    for call in run.calls:
        assert call["source_mode"] == 0o600
        assert call["token_present"] is True
        assert call["source_text"] == render_catalog(production_catalog(), SECRETS)
    assert not Path(spec_path).exists()
    assert list(sandbox["tmp"].iterdir()) == []
    assert "Publish successful" in run.stdout
    assert_nothing_leaked(run)


def test_the_spec_flowctl_reads_carries_every_secret(sandbox: dict[str, Path]) -> None:
    run = run_script("publish", sandbox)

    spec = yaml.safe_load(run.calls[0]["source_text"])
    credentials = spec["captures"]["Pay_Ready/hubspot/source-hubspot-native"]["endpoint"]["connector"][
        "config"
    ]["credentials"]
    assert credentials["refresh_token"] == SECRETS["hubspot.refresh_token"]
    materialization = spec["materializations"]["Pay_Ready/snowflake/materialize-snowflake"]
    assert materialization["endpoint"]["connector"]["config"]["credentials"]["private_key"] == PRIVATE_KEY


def test_failing_test_stops_the_publish_and_shows_flowctl_message(sandbox: dict[str, Path]) -> None:
    run = run_script("publish", sandbox, FAKE_FLOWCTL_FAIL="test")

    assert run.returncode == 1
    assert [call["argv"][1] for call in run.calls] == ["test"]
    assert "connector rejected the endpoint config" in run.stderr
    assert "flowctl catalog test failed" in run.stderr
    assert "nothing was published" in run.stderr
    # The double echoed the whole spec: what reached the output was scrubbed, not merely absent.
    assert "[secret]" in run.stderr
    assert "SOPHIA_ESTUARY_SVC" in run.stderr
    assert not Path(run.calls[0]["source"]).exists()
    assert list(sandbox["tmp"].iterdir()) == []
    assert_nothing_leaked(run)


def test_failing_publish_exits_non_zero_and_removes_the_file(sandbox: dict[str, Path]) -> None:
    run = run_script("publish", sandbox, FAKE_FLOWCTL_FAIL="publish")

    assert run.returncode == 1
    assert [call["argv"][1] for call in run.calls] == ["test", "publish"]
    assert "flowctl catalog publish failed" in run.stderr
    assert owned_line(run.stdout) == PRODUCTION_NAMES
    assert "connector rejected the endpoint config" in run.stderr
    assert list(sandbox["tmp"].iterdir()) == []
    assert_nothing_leaked(run)


def _publish_while_flowctl_runs(sandbox: dict[str, Path]) -> subprocess.Popen[str]:
    """Start a publish whose fake flowctl sleeps, and return once flowctl has been called."""
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "publish"],
        env=environment(sandbox, FAKE_FLOWCTL_SLEEP="30"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not (sandbox["log"].exists() and sandbox["log"].read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return process


def test_interrupt_during_flowctl_removes_the_file_and_skips_publish(sandbox: dict[str, Path]) -> None:
    process = _publish_while_flowctl_runs(sandbox)
    spec_path = json.loads(sandbox["log"].read_text().splitlines()[0])["source"]
    assert Path(spec_path).exists()

    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)

    assert process.returncode == 130
    assert "interrupted" in stderr
    assert not Path(spec_path).exists()
    assert list(sandbox["tmp"].iterdir()) == []
    assert len(sandbox["log"].read_text().splitlines()) == 1


def test_interrupt_is_honoured_when_started_with_sigint_ignored(sandbox: dict[str, Path]) -> None:
    # A background job of a non-interactive shell starts with SIGINT ignored, and children inherit it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process = _publish_while_flowctl_runs(sandbox)
    finally:
        signal.signal(signal.SIGINT, previous)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)

    assert process.returncode == 130 and "interrupted" in stderr
    assert list(sandbox["tmp"].iterdir()) == []


def test_terminate_during_flowctl_removes_the_file(sandbox: dict[str, Path]) -> None:
    process = _publish_while_flowctl_runs(sandbox)

    process.terminate()
    process.communicate(timeout=20)

    assert process.returncode == 130
    assert list(sandbox["tmp"].iterdir()) == []


def test_missing_secret_is_named_and_flowctl_never_runs(sandbox: dict[str, Path]) -> None:
    secrets = {name: value for name, value in SECRETS.items() if name != "snowflake.private_key"}

    run = run_script("publish", sandbox, FLOW_SECRETS_JSON=json.dumps(secrets))

    assert run.returncode == 2
    assert "snowflake.private_key" in run.stderr
    assert run.calls == []
    assert list(sandbox["tmp"].iterdir()) == []
    assert_nothing_leaked(run)


def test_malformed_secrets_json_is_refused_without_echoing_it(sandbox: dict[str, Path]) -> None:
    run = run_script("publish", sandbox, FLOW_SECRETS_JSON='{"hubspot.client_id": "hs-id-5c1e",')

    assert run.returncode == 2
    assert "FLOW_SECRETS_JSON is not valid JSON" in run.stderr
    assert run.calls == []
    assert_nothing_leaked(run)


@pytest.mark.parametrize("missing", ["FLOW_AUTH_TOKEN", "FLOW_CATALOG", "FLOW_DATA_PLANE"])
def test_missing_input_is_refused_before_flowctl_runs(sandbox: dict[str, Path], missing: str) -> None:
    run = run_script("publish", sandbox, **{missing: None})

    assert run.returncode == 2
    assert f"{missing} is not set" in run.stderr
    assert run.calls == []


def test_flowctl_missing_from_path_is_explained(sandbox: dict[str, Path]) -> None:
    (sandbox["bin"] / "flowctl").unlink()

    run = run_script("publish", sandbox, PATH=str(sandbox["bin"]))

    assert run.returncode == 2
    assert "flowctl is not on PATH" in run.stderr
    assert list(sandbox["tmp"].iterdir()) == []


def test_publish_ends_its_output_with_the_specs_it_owns(sandbox: dict[str, Path]) -> None:
    run = run_script("publish", sandbox)

    assert run.returncode == 0, run.stderr
    assert owned_line(run.stdout) == PRODUCTION_NAMES
    assert run.stdout.splitlines()[-1].startswith("publish_flow: published specs ")
    assert live(sandbox) == PRODUCTION_NAMES


def test_an_update_deletes_the_specs_that_left_the_catalog(sandbox: dict[str, Path]) -> None:
    first = run_script("publish", sandbox)
    set_live(sandbox, [*live(sandbox), "Pay_Ready/marketing/source-hubspot-native"])
    sandbox["log"].unlink()

    update = run_script(
        "publish", sandbox, FLOW_CATALOG=hubspot_only_catalog(), PULUMI_COMMAND_STDOUT=first.stdout
    )

    assert update.returncode == 0, update.stderr
    test_call, publish_call, delete_call = update.calls
    assert [test_call["argv"][1], publish_call["argv"][1]] == ["test", "publish"]
    assert delete_call["argv"] == [
        "catalog",
        "delete",
        "--name",
        GONG_NAMES[0],
        "--name",
        GONG_NAMES[1],
        "--dangerous-auto-approve",
    ]
    kept = sorted(set(PRODUCTION_NAMES) - set(GONG_NAMES))
    # A spec under the tenant that this stack never published stays.
    assert live(sandbox) == sorted([*kept, "Pay_Ready/marketing/source-hubspot-native"])
    assert owned_line(update.stdout) == kept
    assert_nothing_leaked(update)


def test_an_update_that_removes_nothing_deletes_nothing(sandbox: dict[str, Path]) -> None:
    first = run_script("publish", sandbox)
    sandbox["log"].unlink()

    again = run_script("publish", sandbox, PULUMI_COMMAND_STDOUT=first.stdout)

    assert again.returncode == 0, again.stderr
    assert [call["argv"][1] for call in again.calls] == ["test", "publish"]
    assert live(sandbox) == PRODUCTION_NAMES


@pytest.mark.parametrize("failing_step", ["publish", "delete"])
def test_a_failed_update_hands_the_departed_specs_on_to_the_next_run(
    sandbox: dict[str, Path], failing_step: str
) -> None:
    first = run_script("publish", sandbox)
    hubspot_only = hubspot_only_catalog()

    failed = run_script(
        "publish",
        sandbox,
        FLOW_CATALOG=hubspot_only,
        PULUMI_COMMAND_STDOUT=first.stdout,
        FAKE_FLOWCTL_FAIL=failing_step,
    )
    retried = run_script("publish", sandbox, FLOW_CATALOG=hubspot_only, PULUMI_COMMAND_STDOUT=failed.stdout)

    assert failed.returncode == 1
    assert f"flowctl catalog {failing_step} failed" in failed.stderr
    assert owned_line(failed.stdout) == PRODUCTION_NAMES
    assert_nothing_leaked(failed)
    assert retried.returncode == 0, retried.stderr
    assert live(sandbox) == sorted(set(PRODUCTION_NAMES) - set(GONG_NAMES))


def test_a_departed_spec_deleted_by_hand_is_skipped(sandbox: dict[str, Path]) -> None:
    first = run_script("publish", sandbox)
    set_live(sandbox, [name for name in live(sandbox) if name != GONG_NAMES[1]])
    sandbox["log"].unlink()

    update = run_script(
        "publish", sandbox, FLOW_CATALOG=hubspot_only_catalog(), PULUMI_COMMAND_STDOUT=first.stdout
    )

    assert update.returncode == 0, update.stderr
    deletes = [call["argv"] for call in update.calls if call["argv"][1] == "delete"]
    assert [argv.count("--name") for argv in deletes] == [2, 1]
    assert f"{GONG_NAMES[1]} is not live any more" in update.stdout
    assert GONG_NAMES[0] not in live(sandbox)


def test_a_previous_run_without_a_record_deletes_nothing_and_says_so(sandbox: dict[str, Path]) -> None:
    run = run_script(
        "publish",
        sandbox,
        FLOW_CATALOG=hubspot_only_catalog(),
        PULUMI_COMMAND_STDOUT="publish_flow: published 6 specs\n",
    )

    assert run.returncode == 0, run.stderr
    assert [call["argv"][1] for call in run.calls] == ["test", "publish"]
    assert "left no list of the specs it published" in run.stdout


def test_delete_removes_every_spec_by_name_without_a_spec_file(sandbox: dict[str, Path]) -> None:
    set_live(sandbox, PRODUCTION_NAMES)

    run = run_script("delete", sandbox, FLOW_SECRETS_JSON=None)

    assert run.returncode == 0, run.stderr
    (call,) = run.calls
    expected = ["catalog", "delete"]
    for name in PRODUCTION_NAMES:
        expected += ["--name", name]
    assert call["argv"] == [*expected, "--dangerous-auto-approve"]
    assert "source" not in call
    assert call["token_present"] is True
    assert "successfully deleted 6 spec(s)" in run.stdout
    assert live(sandbox) == []
    assert_nothing_leaked(run)


def test_delete_also_removes_what_a_failed_update_still_owned(sandbox: dict[str, Path]) -> None:
    set_live(sandbox, [*PRODUCTION_NAMES, "Pay_Ready/asana/source-asana"])
    owned = "publish_flow: published specs " + json.dumps(["Pay_Ready/asana/source-asana"])

    run = run_script("delete", sandbox, PULUMI_COMMAND_STDOUT=owned)

    assert run.returncode == 0, run.stderr
    assert live(sandbox) == []


def test_delete_when_nothing_is_live_succeeds_in_one_call_per_name(sandbox: dict[str, Path]) -> None:
    run = run_script("delete", sandbox)

    assert run.returncode == 0, run.stderr
    assert len(run.calls) == len(PRODUCTION_NAMES)
    assert "nothing else to delete" in run.stdout


def test_delete_when_nothing_is_live_with_a_flowctl_before_0_6(sandbox: dict[str, Path]) -> None:
    run = run_script("delete", sandbox, FAKE_FLOWCTL_BEFORE_0_6="1")

    assert run.returncode == 0, run.stderr
    assert len(run.calls) == 1
    assert "nothing else to delete" in run.stdout


def test_failing_delete_exits_non_zero_with_flowctl_message(sandbox: dict[str, Path]) -> None:
    set_live(sandbox, PRODUCTION_NAMES)

    run = run_script("delete", sandbox, FAKE_FLOWCTL_FAIL="delete")

    assert run.returncode == 1
    assert "flowctl catalog delete failed" in run.stderr
    assert "connector rejected the endpoint config" in run.stderr
    assert_nothing_leaked(run)


def test_unknown_action_prints_usage(sandbox: dict[str, Path]) -> None:
    run = run_script("apply", sandbox)

    assert run.returncode == 2
    assert "usage: python scripts/publish_flow.py publish|delete" in run.stderr
    assert run.calls == []
