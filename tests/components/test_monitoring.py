"""The Monitoring component in the production plan, and the monitoring config's refusals."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.engine import InvalidStack, preview
from offline.plan import Plan, Secret


@pytest.fixture(scope="module")
def production(project_dir: Path) -> Plan:
    return preview(project_dir, "production")


def _custom(plan: Plan, kind: str) -> list[dict[str, object]]:
    return [r.inputs for r in plan.resources if r.inputs.get("kind") == kind]


def test_prometheus_picks_up_every_object_by_the_configured_labels(production: Plan) -> None:
    kinds = ("ServiceMonitor", "ScrapeConfig", "PrometheusRule")
    objects = [inputs for kind in kinds for inputs in _custom(production, kind)]
    assert len(objects) == 4
    for inputs in objects:
        metadata = inputs["metadata"]
        assert isinstance(metadata, dict)
        assert metadata["labels"]["release"] == "kube-prometheus-stack"
        assert metadata["namespace"] == "monitoring"


def test_service_monitors_select_the_exporters_services(production: Plan) -> None:
    monitors: dict[str, Any] = {
        m["metadata"]["name"]: m["spec"]  # type: ignore[index]
        for m in _custom(production, "ServiceMonitor")
    }
    assert monitors["sophia-dcgm-exporter"] == {
        "namespaceSelector": {"matchNames": ["gpu-operator"]},
        "selector": {"matchLabels": {"app": "nvidia-dcgm-exporter"}},
        "endpoints": [{"port": "gpu-metrics", "path": "/metrics", "interval": "30s"}],
    }
    assert monitors["sophia-ingress-nginx"]["namespaceSelector"] == {"matchNames": ["ingress-nginx"]}


def test_estuary_is_scraped_with_its_token_from_a_secret(production: Plan) -> None:
    (scrape,) = _custom(production, "ScrapeConfig")
    spec = scrape["spec"]
    assert isinstance(spec, dict)
    assert spec["metricsPath"] == "/api/v1/metrics/Pay_Ready/"
    assert spec["authorization"]["credentials"] == {"name": "sophia-estuary-metrics", "key": "token"}
    (secret,) = [r for r in production.resources if r.name == "monitoring-estuary-metrics-token"]
    assert isinstance(secret.inputs["stringData"], Secret)


def test_the_plan_exports_the_objectives_it_watches(production: Plan) -> None:
    rows = production.outputs["objectives"]
    assert [row[0] for row in rows][:2] == ["MCP availability 99.9% / 30 d", "MCP latency 95% < 200 ms"]


def test_a_latency_threshold_that_is_not_a_histogram_bucket_is_refused(project_dir: Path) -> None:
    with pytest.raises(InvalidStack) as refused:
        preview(project_dir, "production", {"monitoringMcpLatencyThresholdMs": 300})
    assert "sophia-ai:monitoring" in str(refused.value) and "300 ms is not a bucket" in str(refused.value)


def test_selector_labels_must_be_label_pairs(project_dir: Path) -> None:
    with pytest.raises(InvalidStack) as refused:
        preview(project_dir, "production", {"monitoringSelectorLabels": "release kube-prometheus-stack"})
    assert "sophia-ai:monitoringSelectorLabels" in str(refused.value)


def test_a_server_with_a_metrics_port_gets_a_pod_monitor_and_its_release_opens_the_port(
    project_dir: Path,
) -> None:
    servers = copy.deepcopy(yaml.safe_load((project_dir / "Pulumi.production.yaml").read_text()))
    servers = servers["config"]["sophia-ai:mcpServers"]
    servers[0]["metricsPort"] = 9464
    plan = preview(project_dir, "production", {"mcpServers": servers})
    (monitor,) = _custom(plan, "PodMonitor")
    assert monitor["spec"] == {
        "namespaceSelector": {"matchNames": ["mcp"]},
        "selector": {"matchLabels": {"app.kubernetes.io/instance": "ai-memory"}},
        "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
    }
    (release,) = [r for r in plan.resources if r.name == "mcp-ai-memory"]
    assert release.inputs["values"]["metrics"] == {
        "enabled": True,
        "port": 9464,
        "path": "/metrics",
        "scraperNamespace": "monitoring",
    }


def test_metrics_on_the_mcp_port_are_refused(project_dir: Path) -> None:
    servers = yaml.safe_load((project_dir / "Pulumi.production.yaml").read_text())["config"][
        "sophia-ai:mcpServers"
    ]
    servers[0]["metricsPort"] = servers[0]["port"]
    with pytest.raises(InvalidStack) as refused:
        preview(project_dir, "production", {"mcpServers": servers})
    assert "sophia-ai:mcpServers[0]" in str(refused.value) and "a port of their own" in str(refused.value)
