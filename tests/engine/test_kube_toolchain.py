"""The Kubernetes build module replaces exactly the staging modules upstream's go.mod replaces."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from harness.paths import PROJECT_DIR

TOOLCHAIN = PROJECT_DIR / "testkit" / "toolchain" / "kube"

UPSTREAM_GO_MOD = """\
module k8s.io/kubernetes

go 1.24.0

require (
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
\tgithub.com/example/other v1.2.3
)

replace (
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tk8s.io/api => ./staging/src/k8s.io/api
\tgithub.com/example/other => github.com/example/fork v1.2.4
)
"""


def _replaces(go_mod: Path, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(TOOLCHAIN / "staging-replaces.sh"), str(go_mod), version],
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_staging_replace_becomes_the_published_version(tmp_path: Path) -> None:
    go_mod = tmp_path / "go.mod"
    go_mod.write_text(UPSTREAM_GO_MOD)
    result = _replaces(go_mod, "v0.34.4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "k8s.io/api => k8s.io/api v0.34.4",
        "k8s.io/client-go => k8s.io/client-go v0.34.4",
    ]


def test_a_go_mod_without_staging_replaces_is_refused(tmp_path: Path) -> None:
    go_mod = tmp_path / "go.mod"
    go_mod.write_text("module k8s.io/kubernetes\n\ngo 1.24.0\n")
    result = _replaces(go_mod, "v0.34.4")
    assert result.returncode == 1
    assert "no ./staging replace found" in result.stderr


def test_the_committed_module_pins_one_release_throughout() -> None:
    text = (TOOLCHAIN / "kubernetes" / "go.mod").read_text()
    required = re.search(r"^\s*(?:require\s+)?k8s\.io/kubernetes (v1\.(\d+)\.(\d+))", text, re.MULTILINE)
    if required is None:
        pytest.fail("testkit/toolchain/kube/kubernetes/go.mod does not require k8s.io/kubernetes")
    staging = f"v0.{required.group(2)}.{required.group(3)}"
    replaces = re.findall(r"^\s*(k8s\.io/\S+) => (k8s\.io/\S+) (\S+)$", text, re.MULTILINE)
    assert len(replaces) > 20
    assert all(source == target and version == staging for source, target, version in replaces)
    assert {"k8s.io/api", "k8s.io/apiserver", "k8s.io/client-go", "k8s.io/kubectl"} <= {
        r[0] for r in replaces
    }
