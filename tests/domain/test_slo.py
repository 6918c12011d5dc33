"""The SLO rules and dashboard the production plan carries, checked and unit-tested with the real promtool.

`promtool check rules` parses every expression and template; `promtool test rules` evaluates each alert on
synthetic series: one case where the objective is breached for the stated windows (the alert fires with
the labels people will see) and one just inside the boundary (silent).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.slo import EXPORTED_METRICS, dashboard_queries, recorded_metrics
from offline.engine import preview
from offline.plan import Plan

PROMTOOL = shutil.which("promtool")
# CI always has promtool (`make test` installs it); elsewhere a missing promtool skips, saying how to get it.
pytestmark = pytest.mark.skipif(
    PROMTOOL is None and os.environ.get("CI") != "true",
    reason="promtool is not installed (make test installs Debian's prometheus package)",
)

MCP = 'namespace="mcp",ingress="sophia-mcp",service="ai-memory-sophia-mcp"'
SERVER_LABELS = {"namespace": "mcp", "service": "ai-memory-sophia-mcp", "server": "ai-memory"}
GPU = 'gpu="0",UUID="GPU-1",device="nvidia0",modelName="NVIDIA A10",Hostname="lambda-gpu-0"'
GPU_LABELS = {
    "gpu": "0",
    "UUID": "GPU-1",
    "device": "nvidia0",
    "modelName": "NVIDIA A10",
    "Hostname": "lambda-gpu-0",
}
MATERIALIZATION = "Pay_Ready/snowflake/materialize-snowflake"


@pytest.fixture(scope="module")
def production(project_dir: Path) -> Plan:
    return preview(project_dir, "production")


@pytest.fixture(scope="module")
def groups(production: Plan) -> list[dict[str, Any]]:
    (rule,) = [r for r in production.resources if r.inputs.get("kind") == "PrometheusRule"]
    result: list[dict[str, Any]] = rule.inputs["spec"]["groups"]
    return result


@pytest.fixture(scope="module")
def rule_file(groups: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "sophia-slo.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def rule_file_without_annotations(
    groups: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The same rules with annotations left out: the unit cases assert labels, which route an alert.

    `promtool check rules` has already parsed every annotation template; one case below renders them.
    """
    bare = [
        {**group, "rules": [{k: v for k, v in rule.items() if k != "annotations"} for rule in group["rules"]]}
        for group in groups
    ]
    path = tmp_path_factory.mktemp("bare-rules") / "sophia-slo.yaml"
    path.write_text(yaml.safe_dump({"groups": bare}, sort_keys=False))
    return path


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120, check=False)


def test_every_rule_the_plan_carries_passes_promtool_check(
    rule_file: Path, groups: list[dict[str, Any]]
) -> None:
    result = _promtool("check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(len(group["rules"]) for group in groups)
    assert f"SUCCESS: {count} rules found" in result.stdout


def test_one_group_per_objective(groups: list[dict[str, Any]]) -> None:
    assert [group["name"] for group in groups] == [
        "sophia-mcp-availability",
        "sophia-mcp-latency",
        "sophia-gpu-pool",
        "sophia-gpu-slices",
        "sophia-estuary",
        "sophia-mcp-auth",
    ]


def test_burn_rates_follow_the_workbook_for_a_thirty_day_window(groups: list[dict[str, Any]]) -> None:
    rules = {rule.get("alert"): rule for group in groups for rule in group["rules"]}
    fast = rules["McpAvailabilityFastBurn"]["expr"]
    assert "ratio_rate1h > (14.4 * 0.001)" in fast and "ratio_rate5m > (14.4 * 0.001)" in fast
    assert "ratio_rate6h > (6 * 0.001)" in fast and "ratio_rate30m > (6 * 0.001)" in fast
    slow = rules["McpAvailabilitySlowBurn"]["expr"]
    assert "ratio_rate3d > (1 * 0.001)" in slow and "ratio_rate6h > (1 * 0.001)" in slow
    assert "(14.4 * 0.05)" in rules["McpLatencyFastBurn"]["expr"]


def _dashboard(production: Plan) -> dict[str, Any]:
    (config_map,) = [r for r in production.resources if r.name == "monitoring-dashboard"]
    assert config_map.inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
    board: dict[str, Any] = json.loads(config_map.inputs["data"]["sophia-slo.json"])
    return board


def test_every_dashboard_query_parses(production: Plan, tmp_path: Path) -> None:
    queries = dashboard_queries(_dashboard(production))
    # Debian's promtool 2.42 has no expression-only check; a recording rule per query is parsed the same way.
    path = tmp_path / "dashboard-queries.yaml"
    rules = [{"record": f"dashboard:query_{index}", "expr": query} for index, query in enumerate(queries)]
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = _promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


_FUNCTIONS_AND_KEYWORDS = {
    "sum", "avg", "max", "min", "count", "rate", "increase", "avg_over_time", "histogram_quantile",
    "label_replace", "time", "by", "on", "and", "or", "unless", "without", "group_left", "absent",
}  # fmt: skip


def metric_names(query: str) -> set[str]:
    """Series names in a PromQL expression: identifiers left after label matchers, groupings and strings."""
    stripped = re.sub(r'"[^"]*"', "", query)
    stripped = re.sub(r"\{[^}]*\}", "", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)
    stripped = re.sub(r"\b(by|on|without|group_left)\s*\([^)]*\)", "", stripped)
    return {name for name in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", stripped)} - _FUNCTIONS_AND_KEYWORDS


def test_dashboard_and_rules_read_only_exported_or_recorded_series(
    production: Plan, groups: list[dict[str, Any]]
) -> None:
    known = EXPORTED_METRICS | recorded_metrics(groups)
    expressions = dashboard_queries(_dashboard(production)) + [
        rule["expr"] for group in groups for rule in group["rules"]
    ]
    unknown = {name for expression in expressions for name in metric_names(expression)} - known
    assert not unknown


def test_metric_name_extraction_sees_through_matchers_and_groupings() -> None:
    assert metric_names('sum by (service) (rate(a_total{le="0.2"}[5m])) / b:c:ratio') == {
        "a_total",
        "b:c:ratio",
    }


# Each case: (name, alert, input series, evaluation time, expected alerts). Firing cases breach the objective
# for the alert's windows; silent cases sit just inside the boundary.
# Three-day cases sample every 10 minutes: the 3d/6h windows need no finer series, and promtool evaluates
# every rule at each step up to the evaluation time.
SLOW_INTERVAL = "10m"
SLOW_CASES = {"McpAvailabilitySlowBurn", "McpLatencySlowBurn"}


def _requests(status: str, per_minute: int, minutes: int) -> dict[str, str]:
    return {
        "series": f'nginx_ingress_controller_requests{{{MCP},status="{status}"}}',
        "values": f"0+{per_minute}x{minutes}",
    }


def _durations(le: str, per_minute: int, minutes: int) -> dict[str, str]:
    return {
        "series": f'nginx_ingress_controller_request_duration_seconds_bucket{{{MCP},le="{le}"}}',
        "values": f"0+{per_minute}x{minutes}",
    }


def _duration_count(per_minute: int, minutes: int) -> dict[str, str]:
    return {
        "series": f"nginx_ingress_controller_request_duration_seconds_count{{{MCP}}}",
        "values": f"0+{per_minute}x{minutes}",
    }


def _gpu(metric: str, values: str) -> dict[str, str]:
    return {"series": f"{metric}{{{GPU}}}", "values": values}


def _estuary(metric: str, values: str, task: str = MATERIALIZATION) -> dict[str, str]:
    return {"series": f'{metric}{{job="estuary",task="{task}"}}', "values": values}


CAPTURES_WRITING = _estuary(
    "captured_out_docs_total", "0+10x120", task="Pay_Ready/hubspot/source-hubspot-native"
)
CAPTURES_QUIET = _estuary(
    "captured_out_docs_total", "500x120", task="Pay_Ready/hubspot/source-hubspot-native"
)


def _firing(alert: str, severity: str, slo: str, **labels: str) -> list[dict[str, Any]]:
    return [{"exp_labels": {"severity": severity, "slo": slo, **labels}}]


CASES: list[tuple[str, str, list[dict[str, str]], str, list[dict[str, Any]]]] = [
    # 2% of requests fail for an hour: 20x the 0.1% budget, above 14.4x on the 1h and 5m windows.
    (
        "availability fast burn fires",
        "McpAvailabilityFastBurn",
        [_requests("200", 980, 70), _requests("503", 20, 70)],
        "65m",
        _firing("McpAvailabilityFastBurn", "page", "McpAvailability", **SERVER_LABELS),
    ),
    # 0.59% fail: a steady ratio is the same on every window, so the page's boundary is its lower row, 6x.
    (
        "availability fast burn stays silent just under 6x",
        "McpAvailabilityFastBurn",
        [_requests("200", 9941, 70), _requests("503", 59, 70)],
        "65m",
        [],
    ),
    # 0.2% fail for three days: twice the budget rate, a ticket; far from paging.
    (
        "availability slow burn fires",
        "McpAvailabilitySlowBurn",
        [_requests("200", 9980, 440), _requests("503", 20, 440)],
        "4330m",
        _firing("McpAvailabilitySlowBurn", "ticket", "McpAvailability", **SERVER_LABELS),
    ),
    (
        "availability slow burn stays silent just under the budget rate",
        "McpAvailabilitySlowBurn",
        [_requests("200", 100000, 440), _requests("503", 90, 440)],
        "4330m",
        [],
    ),
    # 80% of requests are slower than 200 ms: above 14.4 x 5% = 72%.
    (
        "latency fast burn fires",
        "McpLatencyFastBurn",
        [_durations("0.2", 200, 70), _duration_count(1000, 70)],
        "65m",
        _firing("McpLatencyFastBurn", "page", "McpLatency", **SERVER_LABELS),
    ),
    (
        "latency fast burn stays silent at 29% slow, under 6 x 5%",
        "McpLatencyFastBurn",
        [_durations("0.2", 710, 70), _duration_count(1000, 70)],
        "65m",
        [],
    ),
    (
        "latency slow burn fires",
        "McpLatencySlowBurn",
        [_durations("0.2", 9300, 440), _duration_count(10000, 440)],
        "4330m",
        _firing("McpLatencySlowBurn", "ticket", "McpLatency", **SERVER_LABELS),
    ),
    (
        "latency slow burn stays silent just inside the 95% objective",
        "McpLatencySlowBurn",
        [_durations("0.2", 9510, 440), _duration_count(10000, 440)],
        "4330m",
        [],
    ),
    (
        "a controller without the threshold's bucket is reported",
        "McpLatencySliMissing",
        [_requests("200", 100, 40), _durations("0.25", 100, 40)],
        "30m",
        _firing("McpLatencySliMissing", "ticket", "McpLatency"),
    ),
    (
        "a controller with the threshold's bucket is fine",
        "McpLatencySliMissing",
        [_requests("200", 100, 40), _durations("0.2", 100, 40)],
        "30m",
        [],
    ),
    (
        "an idle pool is oversized",
        "GpuPoolOversized",
        [_gpu("DCGM_FI_DEV_GPU_UTIL", "30x480")],
        "7h30m",
        _firing("GpuPoolOversized", "ticket", "GpuUtilisation"),
    ),
    (
        "a pool at the waste threshold is not",
        "GpuPoolOversized",
        [_gpu("DCGM_FI_DEV_GPU_UTIL", "40x480")],
        "7h30m",
        [],
    ),
    (
        "a GPU busy above 95% for 45 minutes is saturated",
        "GpuSaturated",
        [_gpu("DCGM_FI_DEV_GPU_UTIL", "99x60")],
        "50m",
        _firing("GpuSaturated", "ticket", "GpuUtilisation", **GPU_LABELS),
    ),
    (
        "a GPU at 95% is not",
        "GpuSaturated",
        [_gpu("DCGM_FI_DEV_GPU_UTIL", "95x60")],
        "50m",
        [],
    ),
    (
        "time slices that fill GPU memory page",
        "GpuMemoryNearlyFull",
        [_gpu("DCGM_FI_DEV_FB_USED", "22000x30"), _gpu("DCGM_FI_DEV_FB_FREE", "1000x30")],
        "20m",
        _firing("GpuMemoryNearlyFull", "page", "GpuUtilisation", **GPU_LABELS),
    ),
    (
        "90% GPU memory does not",
        "GpuMemoryNearlyFull",
        [_gpu("DCGM_FI_DEV_FB_USED", "9000x30"), _gpu("DCGM_FI_DEV_FB_FREE", "1000x30")],
        "20m",
        [],
    ),
    (
        "a GPU pod pending for ten minutes means the pool is undersized",
        "GpuSlicesExhausted",
        [
            {
                "series": 'kube_pod_container_resource_requests{namespace="mcp",pod="ai-memory-0",'
                'container="mcp-server",resource="nvidia_com_gpu",unit="integer"}',
                "values": "1x30",
            },
            {
                "series": 'kube_pod_status_phase{namespace="mcp",pod="ai-memory-0",phase="Pending"}',
                "values": "1x30",
            },
        ],
        "20m",
        _firing("GpuSlicesExhausted", "page", "GpuSlices", namespace="mcp", pod="ai-memory-0"),
    ),
    (
        "a pending pod that asks no GPU is not the pool's problem",
        "GpuSlicesExhausted",
        [
            {
                "series": 'kube_pod_container_resource_requests{namespace="mcp",pod="web-0",'
                'container="web",resource="cpu",unit="core"}',
                "values": "1x30",
            },
            {
                "series": 'kube_pod_status_phase{namespace="mcp",pod="web-0",phase="Pending"}',
                "values": "1x30",
            },
        ],
        "20m",
        [],
    ),
    (
        "data older than sync + margin while captures write is stale",
        "EstuaryMaterializationStale",
        [_estuary("materialized_last_source_published_at_time_seconds", "0x120"), CAPTURES_WRITING],
        "40m",
        _firing("EstuaryMaterializationStale", "page", "EstuaryFreshness", task=MATERIALIZATION),
    ),
    (
        "quiet sources do not make the materialization stale",
        "EstuaryMaterializationStale",
        [_estuary("materialized_last_source_published_at_time_seconds", "0x120"), CAPTURES_QUIET],
        "40m",
        [],
    ),
    (
        "fresh data within the limit is not stale",
        "EstuaryMaterializationStale",
        [_estuary("materialized_last_source_published_at_time_seconds", "0+60x120"), CAPTURES_WRITING],
        "40m",
        [],
    ),
    (
        "no transaction in two sync periods while captures write",
        "EstuaryMaterializationStopped",
        [_estuary("txn_count_total", "7x120"), CAPTURES_WRITING],
        "60m",
        _firing(
            "EstuaryMaterializationStopped", "page", "EstuaryFreshness", job="estuary", task=MATERIALIZATION
        ),
    ),
    (
        "a materialization committing every sync is running",
        "EstuaryMaterializationStopped",
        [_estuary("txn_count_total", "0x14 1x14 2x14 3x14 4x14 5x14 6x14 7x14"), CAPTURES_WRITING],
        "60m",
        [],
    ),
    (
        "2% 401/403 at the edge alerts",
        "McpAuthenticationFailures",
        [_requests("200", 980, 40), _requests("401", 20, 40)],
        "30m",
        _firing("McpAuthenticationFailures", "ticket", "McpAuthentication", **SERVER_LABELS),
    ),
    (
        "0.9% stays under the 1% threshold",
        "McpAuthenticationFailures",
        [_requests("200", 991, 40), _requests("403", 9, 40)],
        "30m",
        [],
    ),
]


def test_every_alert_has_a_firing_and_a_silent_case(groups: list[dict[str, Any]]) -> None:
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    firing = {alert for _, alert, _, _, expected in CASES if expected}
    silent = {alert for _, alert, _, _, expected in CASES if not expected}
    assert firing == alerts and silent == alerts


def _run_case(
    rule_file: Path,
    tmp_path: Path,
    case: str,
    alert: str,
    series: list[dict[str, str]],
    at: str,
    expected: Any,
) -> None:
    interval = SLOW_INTERVAL if alert in SLOW_CASES else "1m"
    tests = {
        "rule_files": [str(rule_file)],
        "evaluation_interval": interval,
        "tests": [
            {
                "name": case,
                "interval": interval,
                "input_series": series,
                "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": expected}],
            }
        ],
    }
    path = tmp_path / "test.yaml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    result = _promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("case", "alert", "series", "at", "expected"), CASES, ids=[case[0] for case in CASES]
)
def test_alert_on_synthetic_series(
    rule_file_without_annotations: Path,
    tmp_path: Path,
    case: str,
    alert: str,
    series: list[dict[str, str]],
    at: str,
    expected: list[dict[str, Any]],
) -> None:
    _run_case(rule_file_without_annotations, tmp_path, case, alert, series, at, expected)


def test_a_page_names_the_server_the_windows_and_what_to_check(rule_file: Path, tmp_path: Path) -> None:
    expected = _firing("McpAvailabilityFastBurn", "page", "McpAvailability", **SERVER_LABELS)
    expected[0]["exp_annotations"] = {
        "summary": "MCP server ai-memory is burning its availability error budget",
        "description": (
            "Availability objective 99.9% over 30 days; the budget burns faster than 1h/5m at 14.4x, "
            "6h/30m at 6x (long/short windows). 5xx answers at the Ingress: check the server's pods, its "
            "logs and its GPU node."
        ),
    }
    series = [_requests("200", 980, 70), _requests("503", 20, 70)]
    _run_case(rule_file, tmp_path, "page text", "McpAvailabilityFastBurn", series, "65m", expected)
