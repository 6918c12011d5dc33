"""The pre-commit hooks run the commands CI runs, with the same pinned tools (no hook downloads anything)."""

from __future__ import annotations

import re

import yaml

from harness.paths import PROJECT_DIR


def _hooks() -> dict[str, dict[str, object]]:
    config = yaml.safe_load((PROJECT_DIR / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"], "local hooks only: nothing to fetch"
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_the_lint_hooks_are_the_makefiles_lint_commands() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert lint is not None
    commands = {line.strip().replace("$(PY)", ".venv/bin/python") for line in lint.group(1).splitlines()}
    hooks = _hooks()
    for hook_id in ("ruff-check", "ruff-format"):
        assert f"{hooks[hook_id]['entry']} ." in commands, hook_id
        assert hooks[hook_id]["language"] == "system"


def test_the_secret_hook_uses_the_audited_baseline() -> None:
    entry = str(_hooks()["detect-secrets"]["entry"])
    assert entry == ".venv/bin/detect-secrets-hook --baseline .secrets.baseline"
    assert "scripts/check_secrets.py" in (PROJECT_DIR / "Makefile").read_text(), "CI checks the same baseline"
