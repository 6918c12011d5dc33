"""Monitoring: the scrape targets, SLO rules and dashboard that make the report's success metrics visible.

The cluster's Prometheus and Grafana are kube-prometheus-stack's (prometheus-operator CRDs,
`monitoring.coreos.com`); this component only adds objects for them to pick up:

* ServiceMonitors for dcgm-exporter (the GPU Operator's Service `nvidia-dcgm-exporter`, label
  `app: nvidia-dcgm-exporter`, port `gpu-metrics`: gpu-operator v25.10.0
  assets/state-dcgm-exporter/0400_service.yaml)
  and for ingress-nginx's controller metrics Service (chart ingress-nginx 4.15
  templates/controller-service-metrics.yaml: labels `app.kubernetes.io/name: ingress-nginx`,
  `app.kubernetes.io/component: controller`, port `metrics`, created with `controller.metrics.enabled=true`);
* a PodMonitor for every MCP server that declares a metrics port;
* a ScrapeConfig (v1alpha1) for Estuary's OpenMetrics API, which lives outside the cluster and takes the
  refresh token as a bearer credential (docs.estuary.dev/reference/openmetrics-api);
* one PrometheusRule with a group per objective (domain/slo.py);
* the dashboard as a ConfigMap carrying the label Grafana's dashboard sidecar watches
  (kube-prometheus-stack 88.x values `grafana.sidecar.dashboards.label: grafana_dashboard`,
  `labelValue: "1"`).

Every object carries the selector labels the Prometheus resource selects by (kube-prometheus-stack's
`*SelectorNilUsesHelmValues: true` selects `release: <release name>`), which are stack config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from domain.slo import Objectives, WatchedTargets, dashboard, rule_groups

COMPONENT_TYPE = "sophia:index:Monitoring"
MONITORING_API = "monitoring.coreos.com/v1"
SCRAPE_CONFIG_API = "monitoring.coreos.com/v1alpha1"

DCGM_EXPORTER_SERVICE_LABELS = {"app": "nvidia-dcgm-exporter"}
DCGM_EXPORTER_PORT = "gpu-metrics"
INGRESS_NGINX_METRICS_LABELS = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/component": "controller",
}
INGRESS_NGINX_METRICS_PORT = "metrics"
GRAFANA_DASHBOARD_LABEL = {"grafana_dashboard": "1"}

ESTUARY_METRICS_HOST = "agent-api-1084703453822.us-central1.run.app"
ESTUARY_TOKEN_KEY = "token"  # noqa: S105 - the key inside the Secret, not a value
# Estuary recommends polling once a minute; its counters change no faster.
ESTUARY_SCRAPE_INTERVAL = "1m"


@dataclass(frozen=True)
class McpMetricsEndpoint:
    """An MCP server's own metrics: its release name and the container port it serves them on."""

    release: str
    path: str


@dataclass(frozen=True)
class MonitoringArgs:
    """What to watch and where the exporters run. The Kubernetes provider comes as `opts.provider`."""

    namespace: str
    selector_labels: Mapping[str, str]
    objectives: Objectives
    targets: WatchedTargets
    gpu_operator_namespace: str
    ingress_controller_namespace: str
    estuary_metrics_token: pulumi.Input[str]
    mcp_metrics: Sequence[McpMetricsEndpoint] = ()


class Monitoring(pulumi.ComponentResource):
    """ServiceMonitors, PodMonitors, the Estuary ScrapeConfig, the SLO PrometheusRule and the dashboard."""

    rule_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = dict(args.selector_labels)

        def metadata(
            object_name: str, extra: Mapping[str, str] | None = None
        ) -> kubernetes.meta.v1.ObjectMetaArgs:
            return kubernetes.meta.v1.ObjectMetaArgs(
                name=object_name, namespace=args.namespace, labels={**labels, **(extra or {})}
            )

        def service_monitor(suffix: str, namespace: str, selector: Mapping[str, str], port: str) -> None:
            kubernetes.apiextensions.CustomResource(
                f"{name}-{suffix}",
                api_version=MONITORING_API,
                kind="ServiceMonitor",
                metadata=metadata(f"sophia-{suffix}"),
                spec={
                    "namespaceSelector": {"matchNames": [namespace]},
                    "selector": {"matchLabels": dict(selector)},
                    "endpoints": [{"port": port, "path": "/metrics", "interval": "30s"}],
                },
                opts=child,
            )

        service_monitor(
            "dcgm-exporter", args.gpu_operator_namespace, DCGM_EXPORTER_SERVICE_LABELS, DCGM_EXPORTER_PORT
        )
        service_monitor(
            "ingress-nginx",
            args.ingress_controller_namespace,
            INGRESS_NGINX_METRICS_LABELS,
            INGRESS_NGINX_METRICS_PORT,
        )
        for endpoint in args.mcp_metrics:
            kubernetes.apiextensions.CustomResource(
                f"{name}-mcp-{endpoint.release}",
                api_version=MONITORING_API,
                kind="PodMonitor",
                metadata=metadata(f"sophia-mcp-{endpoint.release}"),
                spec={
                    "namespaceSelector": {"matchNames": [args.targets.mcp_namespace]},
                    "selector": {"matchLabels": {"app.kubernetes.io/instance": endpoint.release}},
                    "podMetricsEndpoints": [{"port": "metrics", "path": endpoint.path, "interval": "30s"}],
                },
                opts=child,
            )

        token = kubernetes.core.v1.Secret(
            f"{name}-estuary-metrics-token",
            metadata=metadata("sophia-estuary-metrics"),
            type="Opaque",
            string_data=pulumi.Output.secret({ESTUARY_TOKEN_KEY: args.estuary_metrics_token}),
            opts=child,
        )
        kubernetes.apiextensions.CustomResource(
            f"{name}-estuary",
            api_version=SCRAPE_CONFIG_API,
            kind="ScrapeConfig",
            metadata=metadata("sophia-estuary"),
            spec={
                "scheme": "HTTPS",
                "metricsPath": f"/api/v1/metrics/{args.targets.estuary_tenant}",
                "scrapeInterval": ESTUARY_SCRAPE_INTERVAL,
                # Estuary's labels (task, collection) are the ones the rules read; keep them as sent.
                "honorLabels": True,
                "authorization": {
                    "type": "Bearer",
                    "credentials": {"name": "sophia-estuary-metrics", "key": ESTUARY_TOKEN_KEY},
                },
                "staticConfigs": [{"targets": [ESTUARY_METRICS_HOST], "labels": {"job": "estuary"}}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[token]),
        )

        groups = rule_groups(args.objectives, args.targets)
        kubernetes.apiextensions.CustomResource(
            f"{name}-slo-rules",
            api_version=MONITORING_API,
            kind="PrometheusRule",
            metadata=metadata("sophia-slo"),
            spec={"groups": groups},
            opts=child,
        )
        kubernetes.core.v1.ConfigMap(
            f"{name}-dashboard",
            metadata=metadata("sophia-slo-dashboard", GRAFANA_DASHBOARD_LABEL),
            data={"sophia-slo.json": json.dumps(dashboard(args.objectives, args.targets), indent=2)},
            opts=child,
        )

        self.rule_names = pulumi.Output.from_input(
            [rule.get("alert", rule.get("record", "")) for group in groups for rule in group["rules"]]
        )
        self.register_outputs({"ruleNames": self.rule_names})
