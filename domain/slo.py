"""The platform's service level objectives as Prometheus rules and a Grafana dashboard: plain data, no Pulumi.

Owns what the report's success metrics mean in PromQL: which exporter series each SLI reads, the recording
rules, the alerts (multi-window, multi-burn-rate for the two request SLOs, as the Google SRE workbook's
"Alerting on SLOs" chapter builds them) and the dashboard's queries. The Monitoring component registers what
this module returns; the tests run the same rules through promtool.

Series read, at the versions the stack pins or assumes:
* ingress-nginx (controller v1.15, docs/user-guide/monitoring.md "Request metrics"):
  `nginx_ingress_controller_requests` (counter) and `nginx_ingress_controller_request_duration_seconds`
  (histogram), labels `status, method, path, namespace, ingress, service, canary`
  (internal/ingress/metric/collectors/socket.go `requestTags`). The default `--time-buckets` are
  0.005 ... 10 without 0.2, so the latency threshold must be one of the controller's configured buckets.
* dcgm-exporter 4.4.1-4.6.0 (GPU Operator v25.10.0 values `dcgmExporter.version`), default counters
  (etc/default-counters.csv): `DCGM_FI_DEV_GPU_UTIL` (%), `DCGM_FI_DEV_FB_USED` and `DCGM_FI_DEV_FB_FREE`
  (MiB),
  one series per GPU with labels `gpu, UUID, device, modelName, Hostname`.
* kube-state-metrics (kube-prometheus-stack): `kube_pod_status_phase{phase}` and
  `kube_pod_container_resource_requests{resource}`, where `nvidia.com/gpu` reads `nvidia_com_gpu`
  (internal/store/pod.go `SanitizeLabelName`).
* Estuary's OpenMetrics API (docs.estuary.dev/reference/openmetrics-api, "Available metrics", read
  2026-12-01): `txn_count_total{task}`, `materialized_last_source_published_at_time_seconds{task,collection}`,
  `captured_out_docs_total{task}`, `logged_failures_total{task}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

REQUESTS = "nginx_ingress_controller_requests"
REQUEST_DURATION = "nginx_ingress_controller_request_duration_seconds"
GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
GPU_FB_USED = "DCGM_FI_DEV_FB_USED"
GPU_FB_FREE = "DCGM_FI_DEV_FB_FREE"
POD_PHASE = "kube_pod_status_phase"
POD_REQUESTS = "kube_pod_container_resource_requests"
GPU_RESOURCE_LABEL = "nvidia_com_gpu"
ESTUARY_TXNS = "txn_count_total"
ESTUARY_LAST_PUBLISHED = "materialized_last_source_published_at_time_seconds"
ESTUARY_CAPTURED_DOCS = "captured_out_docs_total"
ESTUARY_FAILURES = "logged_failures_total"

# Every series an exporter provides that the rules or the dashboard may read (histograms by their parts).
EXPORTED_METRICS = frozenset(
    {
        REQUESTS,
        f"{REQUEST_DURATION}_bucket",
        f"{REQUEST_DURATION}_count",
        f"{REQUEST_DURATION}_sum",
        GPU_UTIL,
        GPU_FB_USED,
        GPU_FB_FREE,
        POD_PHASE,
        POD_REQUESTS,
        ESTUARY_TXNS,
        ESTUARY_LAST_PUBLISHED,
        ESTUARY_CAPTURED_DOCS,
        ESTUARY_FAILURES,
    }
)


@dataclass(frozen=True)
class BurnRateAlert:
    """One row of the SRE workbook's table: the budget share a long window may burn before it alerts."""

    severity: str
    long_window: str
    short_window: str
    budget_consumed: float

    def burn_rate(self, slo_window_days: int) -> float:
        # burn rate = budget share x SLO period / long window (workbook, "Multiwindow, multi-burn-rate").
        return round(self.budget_consumed * slo_window_days * 24 * 3600 / _seconds(self.long_window), 4)


# The workbook's recommended parameters for a 99.9% SLO over 30 days: 2% of the budget in 1 h pages, 5% in
# 6 h pages, 10% in 3 d opens a ticket; each long window is paired with one of a twelfth of its length.
BURN_RATE_ALERTS = (
    BurnRateAlert("page", "1h", "5m", 0.02),
    BurnRateAlert("page", "6h", "30m", 0.05),
    BurnRateAlert("ticket", "3d", "6h", 0.10),
)
WINDOWS = tuple(
    dict.fromkeys(w for alert in BURN_RATE_ALERTS for w in (alert.short_window, alert.long_window))
)


@dataclass(frozen=True)
class Objectives:
    """What the stack watches, with the report's numbers as defaults (config may change each)."""

    mcp_availability_percent: float = 99.9
    mcp_latency_threshold_ms: int = 200
    mcp_latency_percent: float = 95.0
    slo_window_days: int = 30
    gpu_utilisation_target_percent: int = 80
    gpu_waste_percent: int = 40
    gpu_saturation_percent: int = 95
    gpu_memory_full_percent: int = 90
    estuary_sync_frequency_minutes: int = 15
    estuary_freshness_margin_minutes: int = 15
    auth_failure_percent: float = 1.0
    ingress_time_buckets: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2.5, 5, 10)

    def __post_init__(self) -> None:
        problem = objectives_problem(
            self.mcp_latency_threshold_ms,
            self.ingress_time_buckets,
            self.gpu_waste_percent,
            self.gpu_utilisation_target_percent,
        )
        if problem:
            raise ValueError(problem)

    @property
    def latency_bucket(self) -> str:
        return bucket_label(self.mcp_latency_threshold_ms / 1000)

    @property
    def estuary_freshness_limit_minutes(self) -> int:
        return self.estuary_sync_frequency_minutes + self.estuary_freshness_margin_minutes


@dataclass(frozen=True)
class WatchedTargets:
    """Where the series come from: the MCP Ingress and the Estuary materialization."""

    mcp_namespace: str
    mcp_ingress: str
    mcp_service_suffix: str
    estuary_materialization: str
    estuary_tenant: str


def objectives_problem(
    latency_threshold_ms: int, time_buckets: Sequence[float], waste_percent: int, target_percent: int
) -> str | None:
    """Why these objectives cannot be measured or make no sense, or None."""
    if latency_threshold_ms / 1000 not in time_buckets:
        buckets = ", ".join(bucket_label(bucket) for bucket in time_buckets)
        return (
            f"the latency threshold {latency_threshold_ms} ms is not a bucket of the ingress controller's "
            f"histogram ({buckets} s): without that bucket no request can be counted as fast or slow; add it "
            "to the controller's --time-buckets and to the bucket list, or pick a threshold that is a bucket"
        )
    if waste_percent >= target_percent:
        return f"GPU waste threshold {waste_percent}% must lie below the utilisation target {target_percent}%"
    return None


def bucket_label(seconds: float) -> str:
    """A bucket bound as Prometheus client libraries write `le` (0.2 -> "0.2", 1.0 -> "1")."""
    return f"{seconds:g}"


def duration_minutes(duration: str) -> int:
    """`15m`, `1h`, `90s` (the forms Estuary's syncFrequency takes) -> whole minutes, rounded up."""
    return -(-_seconds(duration) // 60)


def _seconds(window: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(window[:-1]) * units[window[-1]]


def _ratio(percent: float) -> str:
    return f"{round(1 - percent / 100, 6):g}"


def _mcp_selector(targets: WatchedTargets) -> str:
    return f'namespace="{targets.mcp_namespace}",ingress="{targets.mcp_ingress}"'


def _per_server(expression: str, targets: WatchedTargets) -> str:
    """Adds a `server` label taken from the backend Service's name (`<server><suffix>`)."""
    return f'label_replace({expression}, "server", "$1", "service", "(.*){targets.mcp_service_suffix}")'


def availability_sli_rules(targets: WatchedTargets) -> list[dict[str, Any]]:
    selector = _mcp_selector(targets)
    rules = []
    for window in WINDOWS:
        bad = f'sum by (namespace, service) (rate({REQUESTS}{{{selector},status=~"5.."}}[{window}]))'
        total = f"sum by (namespace, service) (rate({REQUESTS}{{{selector}}}[{window}]))"
        rules.append(
            {
                "record": f"mcp_server:request_errors:ratio_rate{window}",
                "expr": _per_server(f"({bad} or {total} * 0) / {total}", targets),
            }
        )
    return rules


def latency_sli_rules(objectives: Objectives, targets: WatchedTargets) -> list[dict[str, Any]]:
    selector = _mcp_selector(targets)
    rules = []
    for window in WINDOWS:
        fast = (
            f"sum by (namespace, service) (rate({REQUEST_DURATION}_bucket"
            f'{{{selector},le="{objectives.latency_bucket}"}}[{window}]))'
        )
        total = f"sum by (namespace, service) (rate({REQUEST_DURATION}_count{{{selector}}}[{window}]))"
        rules.append(
            {
                "record": f"mcp_server:request_slow:ratio_rate{window}",
                "expr": _per_server(f"1 - ({fast} / {total})", targets),
            }
        )
    return rules


def burn_rate_alerts(
    *, name: str, sli: str, objective_percent: float, window_days: int, what: str, runbook: str
) -> list[dict[str, Any]]:
    """One alert per severity: both windows of a row above the row's burn rate, rows of a severity OR-ed."""
    budget = _ratio(objective_percent)

    def above(window: str, row: BurnRateAlert) -> str:
        return f"mcp_server:{sli}:ratio_rate{window} > ({row.burn_rate(window_days):g} * {budget})"

    alerts = []
    for severity in dict.fromkeys(alert.severity for alert in BURN_RATE_ALERTS):
        rows = [row for row in BURN_RATE_ALERTS if row.severity == severity]
        conditions = [f"({above(row.long_window, row)} and {above(row.short_window, row)})" for row in rows]
        windows = ", ".join(
            f"{row.long_window}/{row.short_window} at {row.burn_rate(window_days):g}x" for row in rows
        )
        alerts.append(
            _alert(
                f"{name}{'FastBurn' if severity == 'page' else 'SlowBurn'}",
                " or ".join(conditions),
                severity=severity,
                slo=name,
                summary=f"MCP server {{{{ $labels.server }}}} is burning its {what} error budget",
                description=(
                    f"{what.capitalize()} objective {objective_percent:g}% over {window_days} days; the "
                    f"budget burns faster than {windows} (long/short windows). {runbook}"
                ),
            )
        )
    return alerts


def _alert(
    name: str, expr: str, *, severity: str, slo: str, summary: str, description: str, for_: str | None = None
) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, "slo": slo}
    rule["annotations"] = {"summary": summary, "description": description}
    return rule


def _gpu_rules(o: Objectives) -> list[dict[str, Any]]:
    return [
        {"record": "gpu:utilisation_percent:avg_1h", "expr": f"avg_over_time({GPU_UTIL}[1h])"},
        {
            "record": "gpu:memory_used:ratio",
            "expr": f"{GPU_FB_USED} / ({GPU_FB_USED} + {GPU_FB_FREE})",
        },
        _alert(
            "GpuPoolOversized",
            f"avg(avg_over_time({GPU_UTIL}[6h])) < {o.gpu_waste_percent}",
            for_="1h",
            severity="ticket",
            slo="GpuUtilisation",
            summary="The GPU pool is mostly idle",
            description=(
                "Average GPU utilisation over 6 h is {{ $value | humanize }}%, well under the "
                f"{o.gpu_utilisation_target_percent}% target: the pool is oversized. Lower "
                "sophia-ai:gpuPoolNodeCount (or sophia-ai:gpuPoolHeadroomSlices with auto sizing), or raise "
                "sophia-ai:gpuPoolTimeSlicingReplicas to pack more replicas per GPU."
            ),
        ),
        _alert(
            "GpuSaturated",
            f"avg_over_time({GPU_UTIL}[30m]) > {o.gpu_saturation_percent}",
            for_="15m",
            severity="ticket",
            slo="GpuUtilisation",
            summary="GPU {{ $labels.gpu }} on {{ $labels.Hostname }} is saturated",
            description=(
                f"Utilisation has stayed above {o.gpu_saturation_percent}% for 45 min; the replicas sharing "
                "it slow each other down. Raise sophia-ai:gpuPoolNodeCount or lower "
                "sophia-ai:gpuPoolTimeSlicingReplicas."
            ),
        ),
        _alert(
            "GpuMemoryNearlyFull",
            f"gpu:memory_used:ratio > {o.gpu_memory_full_percent / 100:g}",
            for_="10m",
            severity="page",
            slo="GpuUtilisation",
            summary="GPU {{ $labels.gpu }} on {{ $labels.Hostname }} memory is nearly full",
            description=(
                "Time slices share GPU memory with no isolation: one more allocation fails every replica on "
                "this GPU. Lower sophia-ai:gpuPoolTimeSlicingReplicas or move a server."
            ),
        ),
    ]


def _slice_rules() -> list[dict[str, Any]]:
    gpu_pods = f'sum by (namespace, pod) ({POD_REQUESTS}{{resource="{GPU_RESOURCE_LABEL}"}}) > 0'
    return [
        _alert(
            "GpuSlicesExhausted",
            f'{gpu_pods} and on (namespace, pod) ({POD_PHASE}{{phase="Pending"}} == 1)',
            for_="10m",
            severity="page",
            slo="GpuSlices",
            summary="Pod {{ $labels.namespace }}/{{ $labels.pod }} waits for a GPU slice",
            description=(
                "A pod asking for nvidia.com/gpu has been Pending for 10 min: the pool is undersized. Raise "
                "sophia-ai:gpuPoolNodeCount (or set it to auto)."
            ),
        ),
    ]


def _estuary_rules(o: Objectives, targets: WatchedTargets) -> list[dict[str, Any]]:
    task = f'task="{targets.estuary_materialization}"'
    # Quiet sources leave nothing to materialize: neither alert fires unless the captures keep writing.
    captures_writing = (
        f'on () sum(increase({ESTUARY_CAPTURED_DOCS}{{task=~"{targets.estuary_tenant}.*"}}[1h])) > 0'
    )
    two_syncs = 2 * o.estuary_sync_frequency_minutes + o.estuary_freshness_margin_minutes
    return [
        {
            "record": "estuary:materialization_lag_seconds",
            "expr": f"time() - max by (task) ({ESTUARY_LAST_PUBLISHED}{{{task}}})",
        },
        _alert(
            "EstuaryMaterializationStale",
            f"estuary:materialization_lag_seconds > {o.estuary_freshness_limit_minutes * 60} "
            f"and {captures_writing}",
            for_="5m",
            severity="page",
            slo="EstuaryFreshness",
            summary="Snowflake data is older than the sync frequency allows",
            description=(
                "The newest document materialized into Snowflake was published "
                "{{ $value | humanizeDuration }} ago while the captures keep writing; the limit is "
                f"{o.estuary_sync_frequency_minutes} min sync + {o.estuary_freshness_margin_minutes} min "
                "margin. Check the materialization in the Estuary dashboard."
            ),
        ),
        _alert(
            "EstuaryMaterializationStopped",
            f"increase({ESTUARY_TXNS}{{{task}}}[{two_syncs}m]) == 0 and {captures_writing}",
            for_="5m",
            severity="page",
            slo="EstuaryFreshness",
            summary="The Snowflake materialization stopped committing",
            description=(
                "No transaction in two sync periods while the captures keep writing. Failures logged: check "
                f"{ESTUARY_FAILURES} and the task's logs."
            ),
        ),
    ]


def _auth_rules(o: Objectives, targets: WatchedTargets) -> list[dict[str, Any]]:
    mcp = _mcp_selector(targets)
    refused = f'sum by (namespace, service) (rate({REQUESTS}{{{mcp},status=~"401|403"}}[10m]))'
    total = f"sum by (namespace, service) (rate({REQUESTS}{{{mcp}}}[10m]))"
    return [
        {
            "record": "mcp_server:auth_failures:ratio_rate10m",
            "expr": _per_server(f"({refused} or {total} * 0) / {total}", targets),
        },
        _alert(
            "McpAuthenticationFailures",
            f"mcp_server:auth_failures:ratio_rate10m > {o.auth_failure_percent / 100:g}",
            for_="10m",
            severity="ticket",
            slo="McpAuthentication",
            summary="MCP server {{ $labels.server }} refuses many requests at the edge",
            description=(
                "{{ $value | humanizePercentage }} of requests get 401/403: an expired client token, a wrong "
                "audience or group, or someone probing the endpoint."
            ),
        ),
    ]


def _latency_sli_missing(o: Objectives, targets: WatchedTargets) -> dict[str, Any]:
    # Without the threshold's bucket the SLI is empty and no latency alert could fire.
    mcp = _mcp_selector(targets)
    return _alert(
        "McpLatencySliMissing",
        f"sum(rate({REQUESTS}{{{mcp}}}[10m])) > 0 unless on () "
        f'count({REQUEST_DURATION}_bucket{{{mcp},le="{o.latency_bucket}"}})',
        for_="15m",
        severity="ticket",
        slo="McpLatency",
        summary=f"The ingress controller has no {o.latency_bucket} s latency bucket",
        description=(
            "The latency SLO cannot be measured: run ingress-nginx with --time-buckets that include the "
            "threshold (controller.extraArgs.time-buckets)."
        ),
    )


def rule_groups(objectives: Objectives, targets: WatchedTargets) -> list[dict[str, Any]]:
    """The PrometheusRule groups, one per objective."""
    o = objectives
    availability = burn_rate_alerts(
        name="McpAvailability",
        sli="request_errors",
        objective_percent=o.mcp_availability_percent,
        window_days=o.slo_window_days,
        what="availability",
        runbook="5xx answers at the Ingress: check the server's pods, its logs and its GPU node.",
    )
    latency = burn_rate_alerts(
        name="McpLatency",
        sli="request_slow",
        objective_percent=o.mcp_latency_percent,
        window_days=o.slo_window_days,
        what=f"latency (under {o.mcp_latency_threshold_ms} ms)",
        runbook="Requests slower than the threshold: check GPU saturation on the server's node.",
    )
    return [
        {"name": "sophia-mcp-availability", "rules": [*availability_sli_rules(targets), *availability]},
        {
            "name": "sophia-mcp-latency",
            "rules": [*latency_sli_rules(o, targets), *latency, _latency_sli_missing(o, targets)],
        },
        {"name": "sophia-gpu-pool", "rules": _gpu_rules(o)},
        {"name": "sophia-gpu-slices", "rules": _slice_rules()},
        {"name": "sophia-estuary", "rules": _estuary_rules(o, targets)},
        {"name": "sophia-mcp-auth", "rules": _auth_rules(o, targets)},
    ]


def recorded_metrics(groups: Sequence[dict[str, Any]]) -> frozenset[str]:
    return frozenset(rule["record"] for group in groups for rule in group["rules"] if "record" in rule)


def dashboard(objectives: Objectives, targets: WatchedTargets) -> dict[str, Any]:
    """One Grafana dashboard: SLOs, budget left, latency percentiles, GPU utilisation and slice occupancy."""
    o = objectives
    mcp = _mcp_selector(targets)
    budget = _ratio(o.mcp_availability_percent)
    errors_over_window = f"avg_over_time(mcp_server:request_errors:ratio_rate1h[{o.slo_window_days}d])"
    panels = [
        (
            "MCP availability (30 d SLI)",
            "stat",
            f"1 - {errors_over_window}",
        ),
        (
            "Availability error budget left",
            "stat",
            f"1 - ({errors_over_window} / {budget})",
        ),
        (
            f"Requests under {o.mcp_latency_threshold_ms} ms",
            "stat",
            f"1 - avg_over_time(mcp_server:request_slow:ratio_rate1h[{o.slo_window_days}d])",
        ),
        *[
            (
                f"Latency p{quantile} per server",
                "timeseries",
                _per_server(
                    f"histogram_quantile(0.{quantile}, sum by (namespace, service, le) "
                    f"(rate({REQUEST_DURATION}_bucket{{{mcp}}}[5m])))",
                    targets,
                ),
            )
            for quantile in ("50", "95", "99")
        ],
        ("GPU utilisation per GPU", "timeseries", f"{GPU_UTIL}"),
        ("GPU memory used", "timeseries", "gpu:memory_used:ratio"),
        (
            "GPU slices allocated",
            "stat",
            f'sum({POD_REQUESTS}{{resource="{GPU_RESOURCE_LABEL}"}} and on (namespace, pod) '
            f'({POD_PHASE}{{phase="Running"}} == 1))',
        ),
        ("Estuary materialization lag", "timeseries", "estuary:materialization_lag_seconds"),
        ("Edge 401/403 ratio", "timeseries", "mcp_server:auth_failures:ratio_rate10m"),
    ]
    return {
        "title": "Sophia AI - service level objectives",
        "uid": "sophia-ai-slo",
        "schemaVersion": 39,
        "tags": ["sophia-ai", "slo"],
        "time": {"from": "now-7d", "to": "now"},
        "panels": [
            {
                "id": index + 1,
                "title": title,
                "type": kind,
                "datasource": {"type": "prometheus", "uid": "prometheus"},
                "gridPos": {"h": 8, "w": 8, "x": (index % 3) * 8, "y": (index // 3) * 8},
                "targets": [{"refId": "A", "expr": expr}],
            }
            for index, (title, kind, expr) in enumerate(panels)
        ],
    }


def dashboard_queries(board: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def objectives_table(objectives: Objectives) -> list[tuple[str, str, str]]:
    """(objective, SLI, alerts) rows, for the offline preview and the README."""
    o = objectives
    return [
        (
            f"MCP availability {o.mcp_availability_percent:g}% / {o.slo_window_days} d",
            "non-5xx share of Ingress requests, per server",
            "McpAvailabilityFastBurn (page), McpAvailabilitySlowBurn (ticket)",
        ),
        (
            f"MCP latency {o.mcp_latency_percent:g}% < {o.mcp_latency_threshold_ms} ms",
            f"Ingress requests in the le={o.latency_bucket} bucket, per server",
            "McpLatencyFastBurn (page), McpLatencySlowBurn (ticket), McpLatencySliMissing",
        ),
        (
            f"GPU utilisation > {o.gpu_utilisation_target_percent}%",
            "DCGM_FI_DEV_GPU_UTIL per GPU",
            f"GpuPoolOversized (< {o.gpu_waste_percent}% for 6 h), GpuSaturated, GpuMemoryNearlyFull",
        ),
        ("GPU slices available", "Pending pods asking nvidia.com/gpu", "GpuSlicesExhausted"),
        (
            f"Snowflake data < {o.estuary_freshness_limit_minutes} min old",
            "Estuary materialization's last source publication",
            "EstuaryMaterializationStale, EstuaryMaterializationStopped",
        ),
        (
            f"Edge auth failures < {o.auth_failure_percent:g}%",
            "401/403 share of Ingress requests, per server",
            "McpAuthenticationFailures",
        ),
    ]
