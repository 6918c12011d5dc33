"""The Prometheus Operator's CRDs on the test control plane, for the kinds the Monitoring component creates.

testkit/toolchain/prometheus-operator/crds.sh (`make crds`) links .tools/prometheus-operator-crds to the CRD
directory of the operator's pinned Go module. Installed as published, the API server then validates every
ServiceMonitor, PodMonitor, ScrapeConfig and PrometheusRule the stack applies against the operator's own
schemas.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.control_plane import KubeClient, wait_for
from harness.paths import PROJECT_DIR

PROMETHEUS_OPERATOR_CRDS = PROJECT_DIR / ".tools" / "prometheus-operator-crds"
# The kinds components/monitoring.py creates (the other CRDs are the operator's own workloads).
MONITORING_KINDS = ("servicemonitors", "podmonitors", "scrapeconfigs", "prometheusrules")
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def monitoring_crd_files(directory: Path = PROMETHEUS_OPERATOR_CRDS) -> list[Path]:
    """The CRD files for MONITORING_KINDS; skip (fail in CI) with the command that provides them."""
    files = [directory / f"monitoring.coreos.com_{kind}.yaml" for kind in MONITORING_KINDS]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        reason = f"the Prometheus Operator's CRDs are not linked ({', '.join(missing)}): run `make crds`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return files


def install_crds(client: KubeClient, files: list[Path], timeout: float = 60.0) -> list[str]:
    """Create each CRD (one already there is kept) and wait until the API server serves it; its names."""
    names = []
    for path in files:
        crd: dict[str, Any] = yaml.safe_load(path.read_text())
        name = str(crd["metadata"]["name"])
        client.create_unless_exists(CRD_PATH, crd)
        names.append(name)

    for name in names:

        def established(name: str = name) -> bool | None:
            conditions = client.get(f"{CRD_PATH}/{name}").get("status", {}).get("conditions") or []
            return (
                True
                if any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
                else None
            )

        wait_for(f"CRD {name} established", established, timeout)
    return names
