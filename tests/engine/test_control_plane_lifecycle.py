"""The harness's own behaviour, with no control-plane binaries needed.

A failing component is reported with its log and leaves no process behind; taints read as k3s spells them; a
new Node counts as settled only once the node controller has lifted its not-ready taint.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.control_plane import (
    BINARIES,
    ControlPlaneError,
    node_settled,
    running_control_plane,
    taint_from_flag,
)


def _bin_dir(tmp_path: Path, etcd_script: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in BINARIES:
        script = etcd_script if name == "etcd" else "#!/bin/sh\nexit 99\n"
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(stat.S_IRWXU)
    return bin_dir


def test_a_component_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    bin_dir = _bin_dir(tmp_path, "#!/bin/sh\necho 'etcd: bad flag' >&2\nexit 3\n")
    with (
        pytest.raises(ControlPlaneError) as failed,
        running_control_plane(bin_dir, tmp_path / "run", timeout=20),
    ):
        pytest.fail("the control plane started with an etcd that exits")
    assert "etcd exited with status 3" in str(failed.value)
    assert "etcd: bad flag" in str(failed.value)


def test_a_component_that_never_gets_healthy_is_stopped(tmp_path: Path) -> None:
    # Writes its pid, then hangs without ever serving /health.
    bin_dir = _bin_dir(tmp_path, '#!/bin/sh\necho $$ > "$PWD/etcd.pid"\nexec sleep 600\n')
    with (
        pytest.raises(ControlPlaneError) as failed,
        running_control_plane(bin_dir, tmp_path / "run", timeout=3),
    ):
        pytest.fail("the control plane started with an etcd that never serves")
    assert "waiting for etcd /health" in str(failed.value)
    pid = int((tmp_path / "run" / "etcd.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize(
    ("flag", "taint"),
    [
        (
            "nvidia.com/gpu=present:NoSchedule",
            {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
        ),
        ("dedicated:NoExecute", {"key": "dedicated", "effect": "NoExecute"}),
    ],
)
def test_taints_are_read_as_k3s_spells_them(flag: str, taint: dict[str, str]) -> None:
    assert taint_from_flag(flag) == taint


def test_a_taint_without_a_known_effect_is_refused() -> None:
    with pytest.raises(ValueError, match="is not key\\[=value\\]:Effect"):
        taint_from_flag("nvidia.com/gpu=present:NoSchedul")


READY = {"conditions": [{"type": "Ready", "status": "True"}]}
NOT_READY = {"conditions": [{"type": "Ready", "status": "False"}]}
POOL_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
CONTROLLER_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("node", "settled"),
    [
        ({"spec": {"taints": [POOL_TAINT]}, "status": READY}, True),
        ({"spec": {}, "status": READY}, True),
        # kwok has reported Ready, but the node lifecycle controller has not lifted its taint yet.
        ({"spec": {"taints": [POOL_TAINT, CONTROLLER_TAINT]}, "status": READY}, False),
        ({"spec": {"taints": [POOL_TAINT]}, "status": NOT_READY}, False),
    ],
)
def test_a_node_is_settled_when_ready_and_free_of_condition_taints(node: dict, settled: bool) -> None:
    assert node_settled(node) is settled
