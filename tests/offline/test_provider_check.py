"""offline/provider_check.py without plugins: where it looks for them, how it reports, and that it goes on
without them (tests/engine/test_parity_snowflake.py runs it with the real plugins)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from offline.plan import Plan, ResourcePlan, Secret
from offline.provider_check import CheckFailure, check_plan, find_plugin, sdk_plugin_version
from offline.report import format_provider_checks, provider_check_document


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _resource(resource_type: str, name: str, inputs: dict[str, object]) -> ResourcePlan:
    return ResourcePlan(
        urn=f"urn:pulumi:production::sophia-ai::{resource_type}::{name}",
        type=resource_type,
        name=name,
        custom=True,
        parent=None,
        provider=None,
        protect=False,
        retain_on_delete=False,
        dependencies=[],
        property_dependencies={},
        inputs=inputs,
    )


def test_a_plugin_the_project_names_in_pulumi_yaml_is_found_relative_to_the_project(tmp_path: Path) -> None:
    binary = _executable(tmp_path / "plugins" / "sf" / "pulumi-resource-snowflake")
    (tmp_path / "Pulumi.yaml").write_text(
        yaml.safe_dump({"name": "p", "plugins": {"providers": [{"name": "snowflake", "path": "plugins/sf"}]}})
    )
    assert find_plugin("snowflake", tmp_path) == binary


def test_a_named_plugin_directory_without_the_binary_is_reported_not_skipped_silently(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        yaml.safe_dump({"name": "p", "plugins": {"providers": [{"name": "snowflake", "path": "nowhere"}]}})
    )
    assert (
        find_plugin("snowflake", tmp_path)
        == "Pulumi.yaml names nowhere for it, which holds no pulumi-resource-snowflake"
    )


def test_an_installed_plugin_is_found_at_the_version_the_sdk_asks_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = sdk_plugin_version("snowflake")
    assert version == "2.22.0"
    binary = _executable(
        tmp_path / "plugins" / f"resource-snowflake-v{version}" / "pulumi-resource-snowflake"
    )
    _executable(tmp_path / "plugins" / "resource-snowflake-v1.0.0" / "pulumi-resource-snowflake")
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path))
    assert find_plugin("snowflake", tmp_path / "project") == binary


def test_without_plugins_the_gate_goes_on_and_says_which_packages_went_unchecked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "empty-home"))
    plan = Plan(
        "sophia-ai",
        "production",
        [
            _resource("snowflake:index/warehouse:Warehouse", "wh", {"warehouseSize": "HUGE"}),
            _resource("command:local:Command", "publish", {"create": "true"}),
            _resource("kubernetes:core/v1:Namespace", "ns", {}),
        ],
    )
    result = check_plan(plan, tmp_path)
    assert result.failures == [] and result.checked == {} and result.resources_checked == 0
    assert result.unchecked == {
        "command": "command 1.2.1 is not installed (`pulumi plugin install resource command 1.2.1`)",
        "kubernetes": "its Check of a Helm release fetches the chart from the release's repository",
        "snowflake": "snowflake 2.22.0 is not installed (`pulumi plugin install resource snowflake 2.22.0`)",
    }
    assert "not checked: snowflake: snowflake 2.22.0 is not installed" in format_provider_checks(result)


def test_failures_read_as_the_cli_prints_them_with_secrets_redacted() -> None:
    urn = "urn:pulumi:production::sophia-ai::snowflake:index/warehouse:Warehouse::wh"
    typ = "snowflake:index/warehouse:Warehouse"
    named = CheckFailure(urn, typ, "wh", "warehouseSize", "HUGE", "invalid warehouse size: HUGE")
    hidden = CheckFailure(urn, typ, "wh", "comment", Secret("s3cr3t-value"), "too long")
    whole = CheckFailure(urn, typ, "wh", "", None, "expected mode to be one of [INGRESS EGRESS]")
    assert named.message() == (
        "snowflake:index/warehouse:Warehouse resource 'wh': property warehouseSize value {HUGE} "
        "has a problem: invalid warehouse size: HUGE"
    )
    assert "s3cr3t" not in hidden.message() and "value [secret] has a problem" in hidden.message()
    assert whole.message() == (
        "snowflake:index/warehouse:Warehouse resource 'wh' has a problem: "
        "expected mode to be one of [INGRESS EGRESS]"
    )
    result = check_plan(Plan("sophia-ai", "production"), Path("."))
    result.failures.append(named)
    document = provider_check_document(result)
    assert document is not None and document["failures"][0]["message"] == named.message()
