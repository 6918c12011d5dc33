"""Run the real helm binary against charts/sophia-mcp from tests.

helm is taken from PATH, else from <repo>/.tools/bin/helm, else installed there by scripts/install-helm.sh.
When none of that works the caller gets an error: chart tests must fail, not skip, on a machine without helm.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from harness.paths import PROJECT_DIR

REPO_ROOT = PROJECT_DIR
CHART_DIR = REPO_ROOT / "charts" / "sophia-mcp"
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-helm.sh"
INSTALLED_HELM = REPO_ROOT / ".tools" / "bin" / "helm"


class HelmError(Exception):
    """helm exited non-zero. `stderr` holds its error; `stdout` holds what lint reports per finding."""

    def __init__(self, stderr: str, stdout: str = "") -> None:
        super().__init__(f"{stderr.strip()}\n{stdout.strip()}".strip())
        self.stderr = stderr
        self.stdout = stdout


@functools.cache
def helm_binary() -> str:
    """Path of a helm binary that runs, installing the pinned one on first use if there is none."""
    on_path = shutil.which("helm")
    if on_path:
        return on_path
    if INSTALLED_HELM.is_file() and os.access(INSTALLED_HELM, os.X_OK):
        return str(INSTALLED_HELM)
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        raise HelmError(f"{INSTALL_SCRIPT.name} could not provide helm:\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def _run_with_values(args: list[str], values: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="sophia-mcp-values-") as workdir:
        values_file = Path(workdir) / "values.yaml"
        values_file.write_text(yaml.safe_dump(values, sort_keys=False))
        result = subprocess.run(
            [helm_binary(), *args, "-f", str(values_file)],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO_ROOT,
            timeout=120,
        )
    if result.returncode != 0:
        raise HelmError(result.stderr, result.stdout)
    return result


def helm_template(
    values: dict[str, Any], release: str = "ai-memory", namespace: str = "mcp"
) -> list[dict[str, Any]]:
    """The manifests `helm template` renders for these values (merged over the chart's defaults)."""
    result = _run_with_values(["template", release, str(CHART_DIR), "-n", namespace], values)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def helm_lint(values: dict[str, Any]) -> str:
    """Output of `helm lint --strict` for these values; raises HelmError when the chart fails lint."""
    return _run_with_values(["lint", "--strict", str(CHART_DIR)], values).stdout
