"""The real control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) as a session fixture."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.control_plane import ControlPlane, find_binaries, running_control_plane
from harness.paths import PROJECT_DIR


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    bin_dir = find_binaries(PROJECT_DIR)
    if bin_dir is None:
        reason = (
            "the test control plane is not built: run `make controlplane` (testkit/toolchain/kube/build.sh), "
            "or point SOPHIA_KUBE_BIN at a directory with etcd, kube-apiserver, kube-controller-manager, "
            "kube-scheduler, kubectl and kwok"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with running_control_plane(bin_dir, tmp_path_factory.mktemp("control-plane")) as plane:
        print(f"\ncontrol plane ready in {plane.startup_seconds:.1f}s at {plane.server}")
        yield plane
