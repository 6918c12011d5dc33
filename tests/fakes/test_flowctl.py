"""The flowctl double refuses what flowctl refuses, so a wrong flag in publish_flow.py fails a test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.paths import PROJECT_DIR

FAKE_FLOWCTL = PROJECT_DIR / "testkit" / "fakes" / "flowctl"
CATALOG = (
    "captures:\n  Pay_Ready/gong/source-gong:\n"
    "    endpoint: {connector: {image: 'ghcr.io/estuary/source-gong:v1'}}\n"
)


def flowctl(tmp_path: Path, *argv: str, token: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "FAKE_FLOWCTL_LOG": str(tmp_path / "calls.jsonl"),
        "FAKE_FLOWCTL_LIVE": str(tmp_path / "live.json"),
    }
    if token:
        env["FLOW_AUTH_TOKEN"] = "flow-refresh-token"
    return subprocess.run(
        [sys.executable, str(FAKE_FLOWCTL), *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture
def source(tmp_path: Path) -> str:
    path = tmp_path / "flow.yaml"
    path.write_text(CATALOG)
    return str(path)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["catalog", "publish", "--source", "{source}", "--yes"], "unexpected argument '--yes'"),
        (["catalog", "publish", "--source", "{source}", "--auto-approve=true"], "unexpected value 'true'"),
        (["catalog", "publish", "--source"], "a value is required for '--source'"),
        (["catalog", "publish", "--auto-approve"], "required arguments were not provided"),
        (
            ["catalog", "test", "--source", "{source}", "--source", "{source}"],
            "cannot be used multiple times",
        ),
        (
            ["catalog", "test", "--source", "{source}", "--auto-approve"],
            "unexpected argument '--auto-approve'",
        ),
        (["catalog", "delete", "--name", "a/b", "--prefix", "a/"], "cannot be used with '--prefix"),
        (["catalog", "delete", "--dangerous-auto-approve"], "required arguments were not provided"),
        (["catalog", "delete", "--name", "a/b", "--auto-approve"], "unexpected argument '--auto-approve'"),
        (
            ["catalog", "publish", "--source", "{source}", "--auto-approve", "--default-data-plane"],
            "a value is required for '--default-data-plane'",
        ),
        (["catalog", "test", "--source", "{source}", "--data-plane", "x"], "unexpected argument"),
        (
            ["catalog", "delete", "--name", "a/b", "--default-data-plane", "ops/dp/public/aws-eu-west-1-c1"],
            "unexpected argument '--default-data-plane'",
        ),
        (["catalog", "delete", "--prefix", "a/", "--captures"], "not modelled"),
        (["catalog", "list"], "not modelled"),
        (["publish", "--source", "{source}"], "only `catalog test|publish|delete`"),
    ],
)
def test_arguments_flowctl_would_refuse_are_refused(
    tmp_path: Path, source: str, argv: list[str], expected: str
) -> None:
    result = flowctl(tmp_path, *[argument.format(source=source) for argument in argv])

    assert result.returncode == 2
    assert expected in result.stderr


def test_publish_without_auto_approve_and_without_a_terminal_fails(tmp_path: Path, source: str) -> None:
    result = flowctl(tmp_path, "catalog", "publish", "--source", source)

    assert result.returncode == 1
    assert "must be run interactively unless the `--auto-approve` flag is provided" in result.stderr


def test_delete_without_dangerous_auto_approve_is_cancelled_when_nobody_answers(
    tmp_path: Path, source: str
) -> None:
    assert flowctl(tmp_path, "catalog", "publish", "--source", source, "--auto-approve").returncode == 0

    result = flowctl(tmp_path, "catalog", "delete", "--name", "Pay_Ready/gong/source-gong")

    assert result.returncode == 1
    assert "delete operation cancelled" in result.stderr
    assert json.loads((tmp_path / "live.json").read_text()) == {"Pay_Ready/gong/source-gong": "capture"}


def test_nothing_runs_without_a_token(tmp_path: Path, source: str) -> None:
    result = flowctl(tmp_path, "catalog", "test", "--source", source, token=False)

    assert result.returncode == 1
    assert "FLOW_AUTH_TOKEN" in result.stderr


def test_published_specs_are_live_until_deleted_and_a_prefix_selects_them(
    tmp_path: Path, source: str
) -> None:
    assert flowctl(tmp_path, "catalog", "publish", "--source", source, "--auto-approve").returncode == 0

    deleted = flowctl(tmp_path, "catalog", "delete", "--prefix", "Pay_Ready", "--dangerous-auto-approve")
    again = flowctl(tmp_path, "catalog", "delete", "--prefix", "Pay_Ready/", "--dangerous-auto-approve")

    assert deleted.returncode == 0, deleted.stderr
    assert "successfully deleted 1 spec(s)" in deleted.stdout
    assert again.returncode == 1
    assert "no specs found matching given selector" in again.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["catalog", "test", "--source", "{source}", "--default-data-plane", "ops/dp/public/aws-eu-west-1-c1"],
        ["catalog", "publish", "--source", "{source}", "--auto-approve", "--default-data-plane=ops/dp/a"],
    ],
    ids=["test", "publish"],
)
def test_test_and_publish_take_the_data_plane_new_specs_go_to(
    tmp_path: Path, source: str, argv: list[str]
) -> None:
    result = flowctl(tmp_path, *[argument.format(source=source) for argument in argv])

    assert result.returncode == 0, result.stderr
