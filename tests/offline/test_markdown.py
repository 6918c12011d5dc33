"""`python -m offline preview --markdown FILE [--compare BASE.json]`: the plan summary a pull request shows,
and the workflow step that posts it as one comment that is updated, never duplicated."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.paths import PROJECT_DIR
from offline.markdown import markdown_summary
from offline.plan import Plan, ResourcePlan, Secret, Unrendered
from offline.report import plan_json
from offline.verdicts import GateResult, Violation
from tests.policies import plans

WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "infrastructure.yml"


def _preview(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline", "preview", "--policy-pack", str(PROJECT_DIR / "policies"), *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The clean production stack's Markdown summary, and its JSON plan to compare other plans with."""
    directory = tmp_path_factory.mktemp("production")
    summary, plan = directory / "plan.md", directory / "plan.json"
    result = _preview("--stack", "production", "--quiet", "--markdown", str(summary), "--json", str(plan))
    assert result.returncode == 0, result.stdout + result.stderr
    return summary.read_text(), plan


def test_a_clean_stack_summary_counts_what_each_component_creates_and_the_gpu_cost(
    production: tuple[str, Path],
) -> None:
    summary, _ = production
    assert summary.startswith("### Stack `production` (sophia-ai): policy gate passes\n")
    rows = dict(re.findall(r"^\| (.+?) \| (.+?) \|$", summary.split("#### GPU plan")[0], re.MULTILINE))
    assert "1 Database" in rows["SnowflakePlatform `snowflake`"]
    assert "5 Release" in rows["McpServers `mcp`"]
    assert "3 Instance" in rows["GpuNodePool `gpu-pool`"]
    assert "resources to create" in summary
    assert "**Cost: $3.87/hour**" in summary
    assert "| ai-memory | 2 | 0.25 | 1 |" in summary
    assert "**The gate passes**: 0 mandatory and 0 advisory violation(s)" in summary
    assert "offline-placeholder-secret" not in summary


def test_a_failing_stack_summary_names_the_policy_and_what_changed_against_the_base(
    production: tuple[str, Path], tmp_path: Path
) -> None:
    _, base_plan = production
    for name in ("Pulumi.yaml", "__main__.py", "components", "domain", "esc", "charts"):
        (tmp_path / name).symlink_to(PROJECT_DIR / name)
    stack_file = (PROJECT_DIR / "Pulumi.production.yaml").read_text()
    wrong = stack_file.replace("snowflakeAccountName: CVB64222", "snowflakeAccountName: VW02766")
    assert wrong != stack_file
    (tmp_path / "Pulumi.production.yaml").write_text(wrong)
    summary = tmp_path / "plan.md"
    result = _preview(
        "--stack", "production", "--project-dir", str(tmp_path), "--quiet",
        "--markdown", str(summary), "--compare", str(base_plan),
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    text = summary.read_text()
    assert text.startswith("### Stack `production` (sophia-ai): policy gate fails\n")
    assert "| component | added | changed | removed |" in text
    assert "- changed `snowflake-sysadmin` (snowflake provider): inputs" in text
    verdicts = text.split("#### Policy verdicts")[1]
    assert re.search(r"\*\*The gate fails\*\*: [1-9]\d* mandatory", verdicts)
    assert "| `snowflake-account-allowed` | mandatory |" in verdicts
    assert "VW02766" in verdicts


def resource(
    name: str, inputs: dict[str, Any], parent: str | None = None, custom: bool = True
) -> ResourcePlan:
    kind = "kubernetes:core/v1:ConfigMap" if custom else "sophia:index:McpServers"
    return plans.resource(kind, name, inputs, parent=parent, custom=custom)


def test_against_a_base_resources_are_added_changed_and_removed_per_component() -> None:
    mcp = resource("mcp", {}, custom=False)
    kept = resource("kept", {"a": 1}, mcp.urn)
    base = Plan("sophia-ai", "production", [mcp, kept, resource("edited", {"a": 1}, mcp.urn)])
    base.resources.append(resource("gone", {}))
    current = Plan("sophia-ai", "production", [mcp, resource("edited", {"a": 2}, mcp.urn)])
    current.resources += [resource("new", {}), resource("kept", {"a": 1}, mcp.urn)]
    base_document = json.loads(plan_json(base))
    # Dependencies are a set; a base written in another order is not a change.
    next(r for r in base_document["resources"] if r["name"] == "kept")["dependencies"] = ["urn:b", "urn:a"]
    current.resources[-1].dependencies = ["urn:a", "urn:b"]
    text = markdown_summary(current, None, base_document)
    assert "| McpServers `mcp` | 0 | 1 | 0 |" in text
    assert "| (stack) | 1 | 0 | 1 |" in text
    assert "2 resources unchanged." in text
    assert "- added `new` (ConfigMap)" in text
    assert "- changed `edited` (ConfigMap): inputs" in text
    assert "- removed `gone` (ConfigMap)" in text
    assert "The policy pack was not run" in text
    assert "No GPU pool in this plan." in text
    current.unrendered.append(Unrendered("urn:x", "kubernetes:helm.sh/v4:Chart", "metrics", "it is remote"))
    assert (
        "- not rendered offline: `kubernetes:helm.sh/v4:Chart` `metrics`: it is remote"
        in markdown_summary(current, None)
    )


def test_secrets_stay_out_and_messages_stay_inside_their_table_cell() -> None:
    plan = Plan("sophia-ai", "production", [resource("settings", {"token": Secret("s3cr3t-value")})])
    result = GateResult(
        "sophia-guardrails",
        "0.1.0",
        [Violation("no-plaintext-secrets", "mandatory", plan.resources[0].urn, "line one | two\nline three")],
        descriptions={"no-plaintext-secrets": "d"},
        resources=1,
    )
    text = markdown_summary(plan, result, json.loads(plan_json(plan)))
    assert "s3cr3t-value" not in text
    assert "| `no-plaintext-secrets` | mandatory | `settings` | line one \\| two<br>line three |" in text
    assert "No resource is added, changed or removed (1 unchanged)." in text


def _steps() -> list[dict[str, Any]]:
    return list(yaml.safe_load(WORKFLOW.read_text())["jobs"]["gate"]["steps"])


def test_the_pull_request_gets_one_sticky_comment_with_every_stacks_summary() -> None:
    steps = _steps()
    [summaries] = [step for step in steps if "--markdown" in str(step.get("run", ""))]
    assert "github.event_name == 'pull_request'" in summaries["if"]
    assert "!cancelled()" in summaries["if"], "a failing gate is exactly what the comment must show"
    script = summaries["run"]
    assert "Pulumi.*.yaml" in script, "every stack file in the repository gets a summary"
    assert "--compare" in script and "BASE_SHA" in script
    [comment] = [step for step in steps if str(step.get("uses", "")).startswith("marocchino/sticky-pull-")]
    # The action finds its earlier comment by a hidden marker made from `header` and edits it in place.
    assert comment["with"]["header"] and comment["with"]["path"]
    assert "recreate" not in comment["with"] and "append" not in comment["with"]
    assert steps.index(summaries) < steps.index(comment)
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["gate"]
    assert job["permissions"]["pull-requests"] == "write"
