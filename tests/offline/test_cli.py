"""`python -m offline preview` as a user runs it: exit codes, the printed plan and the JSON plan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from harness.paths import PROJECT_DIR
from offline.engine import InvalidStack, record
from offline.plan import Plan, ResourcePlan
from offline.report import plan_json, violations_document
from offline.stack_files import StackSettings, load_stack_settings
from offline.verdicts import GateResult, Violation
from tests.policies.plans import resource


def _run(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline", "preview", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    plan_path = tmp_path_factory.mktemp("plan") / "plan.json"
    result = _run("--stack", "production", "--json", str(plan_path))
    return result, json.loads(plan_path.read_text())


def test_production_preview_exits_clean_and_prints_the_tree(production: tuple) -> None:
    result, _ = production
    assert result.returncode == 0, result.stderr
    assert "+ snowflake-database (Database) [protected]" in result.stdout
    assert "resources planned for sophia-ai/production" in result.stdout


def test_json_plan_has_the_documented_shape_and_the_snowflake_resources(production: tuple) -> None:
    _, plan = production
    assert plan["project"] == "sophia-ai" and plan["stack"] == "production"
    assert set(plan["resources"][0]) == {
        "urn",
        "type",
        "name",
        "parent",
        "custom",
        "protect",
        "provider",
        "dependencies",
        "inputs",
    }
    types = {resource["type"] for resource in plan["resources"]}
    assert {"snowflake:index/database:Database", "snowflake:index/warehouse:Warehouse"} <= types
    assert plan["outputs"]["snowflakeHost"] == "uhdecno-cvb64222.snowflakecomputing.com"
    assert "violations" in plan["policy"]


def test_no_secret_reaches_the_plan_or_the_output(production: tuple) -> None:
    result, plan = production
    text = json.dumps(plan) + result.stdout + result.stderr
    assert "offline-placeholder-secret" not in text
    assert "PRIVATE KEY" not in text
    provider = next(r for r in plan["resources"] if r["type"] == "pulumi:providers:snowflake")
    assert provider["inputs"]["privateKey"] == "[secret]"


def _project_with_stack(tmp_path: Path, stack: str, old: str, new: str) -> Path:
    """A copy of the project (linked, not copied) with one extra stack whose file differs in one line."""
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).symlink_to(PROJECT_DIR / name)
    for folder in ("components", "domain", "esc", "charts"):
        (tmp_path / folder).symlink_to(PROJECT_DIR / folder)
    stack_file = (PROJECT_DIR / "Pulumi.production.yaml").read_text()
    assert old in stack_file
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(stack_file.replace(old, new))
    return tmp_path


def test_the_gate_exits_1_naming_the_policy_when_the_account_is_wrong(tmp_path: Path) -> None:
    project = _project_with_stack(
        tmp_path,
        "production",
        "sophia-ai:snowflakeAccountName: CVB64222",
        "sophia-ai:snowflakeAccountName: VW02766",
    )
    (project / "Pulumi.production.yaml").write_text(
        (project / "Pulumi.production.yaml")
        .read_text()
        .replace("snowflakeOrganization: UHDECNO", "snowflakeOrganization: SCOOBYJAVA")
    )
    plan_path = tmp_path / "plan.json"
    result = _run(
        "--stack",
        "production",
        "--project-dir",
        str(project),
        "--policy-pack",
        str(PROJECT_DIR / "policies"),
        "--json",
        str(plan_path),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "snowflake-account-allowed" in result.stdout
    assert "SCOOBYJAVA-VW02766" in result.stdout
    violations = json.loads(plan_path.read_text())["policy"]["violations"]
    assert {v["policy"] for v in violations if v["level"] == "mandatory"} >= {"snowflake-account-allowed"}


def test_the_production_gate_passes_from_the_command_line() -> None:
    result = _run("--stack", "production", "--policy-pack", "policies", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the gate passes" in result.stdout


def test_an_invalid_stack_exits_2_with_one_readable_paragraph(tmp_path: Path) -> None:
    project = _project_with_stack(
        tmp_path,
        "broken",
        "sophia-ai:snowflakeAccountLocator: ZNB04675",
        "sophia-ai:snowflakeAccountLocator: ZNB04675.us-east-1.us-east-1",
    )
    result = _run("--stack", "broken", "--project-dir", str(project))
    assert result.returncode == 2
    assert "sophia-ai:snowflakeAccountLocator" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# Stack-file text the Pulumi CLI refuses (gopkg.in/yaml.v3 and its config type checks) where PyYAML would
# load something: (case, committed line, edited lines, what the error must name; {line} is the committed
# line's number).
CLI_REFUSES = [
    (
        "key-set-twice",
        "sophia-ai:lambdaRegion: us-east-1",
        "sophia-ai:lambdaRegion: us-east-1\n  sophia-ai:lambdaRegion: us-west-1",
        ["Pulumi.broken.yaml", "line {next}", "'sophia-ai:lambdaRegion' is already defined at line {line}"],
    ),
    (
        "yes-for-a-boolean",
        "sophia-ai:lambdaRegion: us-east-1",
        "sophia-ai:lambdaRegion: us-east-1\n  sophia-ai:snowflakeProtectDatabase: yes",
        ["sophia-ai:snowflakeProtectDatabase must be of type boolean (got 'yes')", "write true or false"],
    ),
    (
        "unquoted-date-tag",
        "tag: 1.1.4",
        "tag: 2026-05-01",
        ["Pulumi.broken.yaml", "line {line}", "config.sophia-ai:mcpServers[2].tag", "quote it"],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "named"), [c[1:] for c in CLI_REFUSES], ids=[c[0] for c in CLI_REFUSES]
)
def test_a_stack_file_the_cli_refuses_exits_2_naming_file_key_and_line(
    tmp_path: Path, old: str, new: str, named: list[str]
) -> None:
    project = _project_with_stack(tmp_path, "broken", old, new)
    result = _run("--stack", "broken", "--project-dir", str(project))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    committed = (PROJECT_DIR / "Pulumi.production.yaml").read_text()
    line = committed[: committed.index(old)].count("\n") + 1
    for text in named:
        assert text.format(line=line, next=line + 1) in result.stderr


def test_the_json_plan_is_the_same_bytes_whatever_order_the_sdk_registered_in() -> None:
    def config_map(name: str, dependencies: list[str]) -> ResourcePlan:
        return resource("kubernetes:core/v1:ConfigMap", name, {}, dependencies=dependencies)

    first = Plan("sophia-ai", "production", [config_map("a", ["x", "y"]), config_map("b", [])])
    second = Plan("sophia-ai", "production", [config_map("b", []), config_map("a", ["y", "x"])])
    violations = [Violation("p", "mandatory", "urn:b", "m"), Violation("p", "mandatory", "urn:a", "m")]
    assert plan_json(first, violations_document(GateResult("pack", "1", violations))) == plan_json(
        second, violations_document(GateResult("pack", "1", violations[::-1]))
    )


def test_a_provider_function_the_engine_cannot_answer_stops_the_program_with_its_name() -> None:
    def program() -> None:
        pulumi.runtime.invoke("aws:ec2/getAmi:getAmi", {"owners": ["amazon"]})

    with pytest.raises(InvalidStack, match=r"aws:ec2/getAmi:getAmi, which the offline engine cannot answer"):
        record(program, StackSettings(project="sophia-ai", stack="production", config={}, secret_keys=[]))


def test_stack_values_are_type_checked_as_the_cli_checks_them() -> None:
    # `pulumi config set snowflakeMonthlyCreditQuota 150` writes "150"; the CLI accepts it for an integer key.
    written_by_the_cli = load_stack_settings(
        PROJECT_DIR, "production", {"snowflakeMonthlyCreditQuota": "150", "snowflakeProtectDatabase": "true"}
    )
    assert written_by_the_cli.config["sophia-ai:snowflakeMonthlyCreditQuota"] == "150"
    with pytest.raises(InvalidStack) as refused:
        load_stack_settings(PROJECT_DIR, "production", {"snowflakeMonthlyCreditQuota": "150 credits"})
    assert "sophia-ai:snowflakeMonthlyCreditQuota must be of type integer" in str(refused.value)
    with pytest.raises(InvalidStack):
        load_stack_settings(PROJECT_DIR, "production", {"snowflakeProtectDatabase": "yes"})
    # yaml.v3 reads an unquoted 1e3 as a float, which the CLI hands over as "1000".
    as_float = load_stack_settings(PROJECT_DIR, "production", {"snowflakeMonthlyCreditQuota": 1e3})
    assert as_float.config["sophia-ai:snowflakeMonthlyCreditQuota"] == "1000"
