"""The offline gate itself: the pack process, the Analyzer protocol, the policy config file and the report."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from offline.plan import UNKNOWN, UNKNOWN_SENTINEL, Secret
from offline.policy_config import PolicyConfigError, load_policy_config, reconcile_config
from offline.policy_gate import PolicyPackError, PolicyPackSession, run_policy_pack
from offline.report import format_violations
from offline.wire import from_wire, to_wire
from tests.policies.conftest import PACK_DIR, Evaluate
from tests.policies.plans import (
    PROJECT,
    gpu_pool,
    mcp_release,
    mcp_values,
    of_policy,
    plan,
    resource,
    snowflake_provider,
)

POLICIES = {
    "snowflake-account-allowed",
    "mcp-servers-require-gpu",
    "gpu-quantities-valid",
    "production-data-protected",
    "no-plaintext-secrets",
    "images-pinned",
    "gpu-capacity",
    "snowflake-users-network-restricted",
    "stack-isolation",
    "gpu-slices-admitted",
    "mcp-routes-authenticated",
    "ingress-tls-provided",
}


def broken_stack() -> list:
    """One violation of each of three policies: a wrong account, a fractional GPU, a moving image tag."""
    return [
        snowflake_provider(organizationName="SCOOBYJAVA", accountName="VW02766"),
        mcp_release(
            values=mcp_values(
                resources={"limits": {"nvidia.com/gpu": 0.25}, "requests": {"nvidia.com/gpu": None}},
                image={"tag": "latest"},
            )
        ),
        *gpu_pool(),
    ]


def test_the_pack_describes_its_policies(pack: PolicyPackSession) -> None:
    assert pack.info.name == "sophia-guardrails"
    assert {policy.name for policy in pack.info.policies} == POLICIES
    for policy in pack.info.policies:
        assert policy.description and policy.remediation_steps
        assert policy.severity != 0, f"{policy.name} has no severity"


def test_run_policy_pack_starts_the_pack_as_the_cli_does_and_stops_it(tmp_path: Path) -> None:
    result = run_policy_pack(
        plan(*broken_stack()), PACK_DIR, load_policy_config(PACK_DIR / "config" / "production.json")
    )
    assert result.pack == "sophia-guardrails"
    assert result.version == "0.1.0", "the version comes from PulumiPolicy.yaml, as the CLI reports it"
    assert {v.policy for v in result.violations} >= {
        "snowflake-account-allowed",
        "gpu-quantities-valid",
        "images-pinned",
    }
    assert result.mandatory_count == sum(1 for v in result.violations if v.level == "mandatory") >= 3
    assert {v.level for v in of_policy(result, "images-pinned")} == {"advisory"}


def test_the_pack_process_is_gone_after_the_session(tmp_path: Path) -> None:
    with PolicyPackSession(PACK_DIR, project=PROJECT, stack="production") as session:
        pid = session.pid
        assert pid is not None
        os.kill(pid, 0)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_enforcement_levels_and_properties_come_from_the_config_file(
    evaluate: Evaluate, tmp_path: Path
) -> None:
    config_file = tmp_path / "policy.json"
    config_file.write_text(
        json.dumps(
            {
                "all": "advisory",
                "gpu-quantities-valid": "mandatory",
                "mcp-servers-require-gpu": {"enforcementLevel": "disabled"},
            }
        )
    )
    result = evaluate(plan(*broken_stack()), load_policy_config(config_file))
    assert of_policy(result, "mcp-servers-require-gpu") == []
    assert {v.level for v in of_policy(result, "snowflake-account-allowed")} == {"advisory"}
    assert {v.level for v in of_policy(result, "gpu-quantities-valid")} == {"mandatory"}
    assert result.mandatory_count == len(of_policy(result, "gpu-quantities-valid"))


def test_configure_carries_schema_defaults_under_the_file_as_the_engine_does(pack: PolicyPackSession) -> None:
    settings = reconcile_config(
        pack.info, {"all": "advisory", "production-data-protected": {"stacks": ["prod"]}}
    )
    assert set(settings) == POLICIES | {"all"}
    accounts = settings["snowflake-account-allowed"]
    assert accounts.level == "advisory"
    assert accounts.properties == {
        "allowedAccounts": [{"orgAccount": "UHDECNO-CVB64222", "locator": "ZNB04675.us-east-1"}]
    }
    data = settings["production-data-protected"]
    assert data.properties == {"stacks": ["prod"], "minimumRetentionDays": 1}
    defaults = reconcile_config(pack.info, None)
    assert {name: setting.level for name, setting in defaults.items()} == {
        name: "advisory" if name == "images-pinned" else "mandatory" for name in POLICIES
    }


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"no-such-policy": "mandatory"}, "no-such-policy, which pack sophia-guardrails does not have"),
        ({"snowflake-account-allowed": {"allowedAccounts": "UHDECNO-CVB64222"}}, "is not of type 'array'"),
        ({"mcp-servers-require-gpu": {"exemptions": [1]}}, "is not of type 'string'"),
    ],
)
def test_invalid_config_stops_the_gate(evaluate: Evaluate, config: dict, expected: str) -> None:
    with pytest.raises(PolicyConfigError, match=expected):
        evaluate(plan(snowflake_provider()), config)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"images-pinned": "sometimes"}', "not an enforcement level"),
        ('{"images-pinned": {"enforcementLevel": "loud"}}', "is not one of"),
        ('{"images-pinned": 3}', "give an enforcement level or an object"),
        ("[1, 2]", "JSON object"),
        ("{oops", "not valid JSON"),
    ],
)
def test_load_policy_config_rejects_what_the_cli_rejects(tmp_path: Path, text: str, expected: str) -> None:
    config_file = tmp_path / "policy.json"
    config_file.write_text(text)
    with pytest.raises(PolicyConfigError, match=expected):
        load_policy_config(config_file)


def test_load_policy_config_reads_the_production_file_and_empty_files(tmp_path: Path) -> None:
    production = load_policy_config(PACK_DIR / "config" / "production.json")
    assert set(production) <= POLICIES
    empty = tmp_path / "empty.json"
    empty.write_text("\n")
    assert load_policy_config(empty) == {}


def test_properties_reach_the_pack_as_the_engine_marshals_them() -> None:
    wired = to_wire({"a": Secret({"b": UNKNOWN}), "__provider": "pickled", "c": [1, {"__defaults": []}]})
    assert wired == {
        "a": {
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            "value": {"b": UNKNOWN_SENTINEL},
        },
        "c": [1, {}],
    }


def test_what_the_program_sends_reads_back_as_plan_values() -> None:
    sent = {
        "a": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": 2.0},
        "b": UNKNOWN_SENTINEL,
        "c": [{"4dabf18193072939515e22adb298388d": "5cf8f73096256a8f31e491e813e4eb8e", "urn": "urn:x"}, 1.5],
    }
    assert from_wire(sent) == {"a": Secret(2), "b": UNKNOWN, "c": ["urn:x", 1.5]}
    assert to_wire(from_wire({"a": sent["a"]})) == {"a": sent["a"]}


def test_unknowns_never_turn_into_the_sdks_advisory_cant_run(evaluate: Evaluate) -> None:
    unknown_everywhere = [
        snowflake_provider(accountName=UNKNOWN, host=UNKNOWN),
        mcp_release(
            values=mcp_values(resources=UNKNOWN, tolerations=UNKNOWN, nodeSelector=UNKNOWN, image=UNKNOWN)
        ),
        resource("kubernetes:core/v1:ConfigMap", "settings", {"data": {"SNOWFLAKE_ACCOUNT": UNKNOWN}}),
        resource(
            "snowflake:index/database:Database",
            "database",
            {"dataRetentionTimeInDays": UNKNOWN},
            protect=True,
        ),
        resource("command:local:Command", "publish", {"create": UNKNOWN, "environment": UNKNOWN}),
        *gpu_pool(),
    ]
    result = evaluate(plan(*unknown_everywhere))
    assert result.violations
    assert not [v for v in result.violations if "can't run policy" in v.message]
    mandatory = {v.policy for v in result.violations if v.level == "mandatory"}
    assert mandatory >= {"snowflake-account-allowed", "mcp-servers-require-gpu", "production-data-protected"}


def test_a_plan_of_another_stack_is_refused(pack: PolicyPackSession) -> None:
    with pytest.raises(ValueError, match="production"):
        pack.evaluate(plan(snowflake_provider(), stack="dev"), None)


def test_format_violations_groups_by_policy_with_a_summary(evaluate: Evaluate) -> None:
    result = evaluate(plan(*broken_stack()))
    report = format_violations(result)
    lines = report.splitlines()
    assert lines[0] == "Policy pack sophia-guardrails@0.1.0:"
    assert any(
        line.startswith("  snowflake-account-allowed: Every Snowflake account reference") for line in lines
    )
    assert "    [advisory] ai-memory (kubernetes:helm.sh/v3:Release)" in lines
    assert lines[-1].endswith("the gate fails.")
    assert lines[-1].startswith(f"{result.mandatory_count} mandatory and 1 advisory violation(s)")
    clean = format_violations(evaluate(plan(snowflake_provider())))
    assert f"no violations ({len(POLICIES)} policies, 1 resources)" in clean
    assert clean.endswith("0 mandatory and 0 advisory violation(s) in 0 policies; the gate passes.")


def write_pack(directory: Path, main: str) -> Path:
    directory.mkdir()
    (directory / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 9.9.9\n")
    (directory / "__main__.py").write_text(textwrap.dedent(main))
    return directory


def test_a_pack_that_cannot_start_fails_the_gate_with_its_error(tmp_path: Path) -> None:
    pack_dir = write_pack(tmp_path / "broken", "raise RuntimeError('rules failed to import')\n")
    with pytest.raises(PolicyPackError, match="rules failed to import"):
        run_policy_pack(plan(snowflake_provider()), pack_dir, None)
    with pytest.raises(PolicyPackError, match=r"no PulumiPolicy\.yaml"):
        run_policy_pack(plan(snowflake_provider()), tmp_path, None)


def test_a_policy_that_raises_fails_the_gate_and_pack_output_is_kept(tmp_path: Path) -> None:
    pack_dir = write_pack(
        tmp_path / "noisy",
        """
        import sys
        import pulumi
        from pulumi_policy import PolicyPack, ResourceValidationPolicy

        def validate(args, report):
            pulumi.log.warn(f"looked at {args.name}")
            if args.name == "explode":
                raise ValueError("policy bug")

        PolicyPack("noisy", [ResourceValidationPolicy("noisy-policy", "logs and fails", validate)])
        """,
    )
    quiet = run_policy_pack(plan(snowflake_provider("calm")), pack_dir, None)
    assert quiet.version == "9.9.9"
    assert "warning: looked at calm" in quiet.logs
    with pytest.raises(PolicyPackError, match=r"failed in Analyze for .*explode"):
        run_policy_pack(plan(snowflake_provider("explode")), pack_dir, None)
