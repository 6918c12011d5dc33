"""mcp-servers-require-gpu, through the real pack process: MCP workloads and sophia-mcp releases without a
whole GPU, without the GPU toleration or without GPU-pool placement are mandatory violations."""

from __future__ import annotations

from typing import Any

import pytest

from offline.plan import UNKNOWN
from offline.policy_gate import format_violations
from tests.policies.conftest import Evaluate
from tests.policies.plans import (
    GPU_TOLERATION,
    mcp_deployment,
    mcp_pod_spec,
    mcp_release,
    mcp_values,
    on_resource,
    plan,
    resource,
)

NAME = "mcp-servers-require-gpu"
GPU_LIMIT = 'values.resources.limits["nvidia.com/gpu"]'


def test_production_release_and_workloads_pass(evaluate: Evaluate) -> None:
    targets = [
        mcp_release(),
        mcp_deployment(),
        mcp_deployment("gong", kind="StatefulSet"),
        mcp_deployment("asana-sync", kind="CronJob"),
        mcp_deployment("backfill", kind="Job"),
    ]
    result = evaluate(plan(*targets))
    assert [violation for violation in result.violations if violation.policy == NAME] == [], (
        format_violations(result)
    )


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"memory": "4Gi"}, "has no nvidia.com/gpu limit"),
        ({"memory": "4Gi", "nvidia.com/gpu": 0}, "needs at least 1"),
        ({"memory": "4Gi", "nvidia.com/gpu": 0.25}, "is fractional"),
        ({"memory": "4Gi", "nvidia.com/gpu": "500m"}, "is fractional"),
        ({"memory": "4Gi", "nvidia.com/gpu": "1.5"}, "is fractional"),
    ],
    ids=["no GPU", "zero GPU", "0.25 GPU", "500m GPU", "1.5 GPU"],
)
def test_release_without_a_whole_gpu_is_rejected(
    evaluate: Evaluate, limits: dict[str, Any], expected: str
) -> None:
    release = mcp_release(values=mcp_values(resources={"requests": {"nvidia.com/gpu": None}, "limits": None}))
    release.inputs["values"]["resources"]["limits"] = limits
    [violation] = on_resource(evaluate(plan(release)), NAME, release)
    assert violation.level == "mandatory"
    assert f'"{release.name}"' in violation.message
    assert GPU_LIMIT in violation.message
    assert expected in violation.message


@pytest.mark.parametrize(
    ("gpu", "expected"),
    [(None, "has no nvidia.com/gpu limit"), (0.25, "is fractional"), (0, "needs at least 1")],
    ids=["GPU-less", "fractional", "zero"],
)
@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Pod"])
def test_mcp_workload_without_a_whole_gpu_is_rejected(
    evaluate: Evaluate, kind: str, gpu: Any, expected: str
) -> None:
    spec = mcp_pod_spec()
    spec["containers"][0]["resources"]["limits"] = {"memory": "2Gi"} | (
        {} if gpu is None else {"nvidia.com/gpu": gpu}
    )
    if kind == "Pod":
        workload = resource(
            "kubernetes:core/v1:Pod",
            "linear",
            {"metadata": {"labels": {"app.kubernetes.io/component": "mcp-server"}}, "spec": spec},
        )
        field = 'spec.containers[0].resources.limits["nvidia.com/gpu"]'
    else:
        workload = mcp_deployment(pod_spec=spec, kind=kind)
        template = "spec.jobTemplate.spec.template" if kind == "CronJob" else "spec.template"
        field = f'{template}.spec.containers[0].resources.limits["nvidia.com/gpu"]'
    [violation] = on_resource(evaluate(plan(workload)), NAME, workload)
    assert field in violation.message
    assert expected in violation.message


def test_every_container_serving_mcp_needs_its_gpu(evaluate: Evaluate) -> None:
    spec = mcp_pod_spec()
    spec["containers"].append({"name": "metrics", "image": "ghcr.io/sophia-ai/metrics:1.0.0"})
    workload = mcp_deployment(pod_spec=spec)
    [violation] = on_resource(evaluate(plan(workload)), NAME, workload)
    assert "containers[1]" in violation.message


@pytest.mark.parametrize(
    ("tolerations", "passes"),
    [
        ([GPU_TOLERATION], True),
        ([{"key": "nvidia.com/gpu", "operator": "Exists"}], True),
        ([{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}], True),
        ([{"key": "nvidia.com/gpu", "value": "present"}], True),
        ([{"key": "nvidia.com/gpu", "operator": "Equal", "value": "absent", "effect": "NoSchedule"}], False),
        ([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}], False),
        ([{"key": "dedicated", "operator": "Exists"}], False),
        ([{"operator": "Exists"}], True),
        ([{"operator": "Exists", "effect": "NoSchedule"}], True),
        ([{"key": "", "operator": "Exists"}], True),
        ([{"operator": "Exists", "effect": "NoExecute"}], False),
        ([{"operator": "Equal", "value": "present"}], False),
        ([], False),
    ],
)
def test_the_gpu_taint_must_be_tolerated(
    evaluate: Evaluate, tolerations: list[dict[str, str]], passes: bool
) -> None:
    release = mcp_release(values=mcp_values(tolerations=tolerations))
    found = on_resource(evaluate(plan(release)), NAME, release)
    if passes:
        assert found == []
    else:
        [violation] = found
        assert "values.tolerations" in violation.message
        assert "nvidia.com/gpu=present:NoSchedule" in violation.message


def test_placement_on_a_gpu_pool_is_required(evaluate: Evaluate) -> None:
    unplaced = mcp_release("gong", values=mcp_values(nodeSelector=None))
    empty_selector = mcp_deployment("asana", pod_spec=mcp_pod_spec() | {"nodeSelector": {}})
    required_affinity = mcp_deployment(
        "linear",
        pod_spec=mcp_pod_spec(
            nodeSelector=None,
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}
                                ]
                            }
                        ]
                    }
                }
            },
        ),
    )
    preferred_only = mcp_deployment(
        "snowflake-admin",
        pod_spec=mcp_pod_spec(
            nodeSelector=None,
            affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}]}},
        ),
    )
    result = evaluate(plan(unplaced, empty_selector, required_affinity, preferred_only))
    assert on_resource(result, NAME, required_affinity) == []
    for target, field in (
        (unplaced, "values.nodeSelector"),
        (empty_selector, "spec.template.spec.nodeSelector"),
        (preferred_only, "spec.template.spec.nodeSelector"),
    ):
        [violation] = on_resource(result, NAME, target)
        assert field in violation.message
        assert "not pinned to a GPU pool" in violation.message


@pytest.mark.parametrize(
    "chart",
    [
        "sophia-mcp",
        "./charts/sophia-mcp/",
        "oci://ghcr.io/sophia-ai/charts/sophia-mcp",
        "sophia-mcp-0.3.1.tgz",
    ],
)
def test_every_way_of_naming_the_chart_is_an_mcp_release(evaluate: Evaluate, chart: str) -> None:
    release = mcp_release(values=mcp_values(resources={"limits": {"nvidia.com/gpu": None}}), chart=chart)
    assert len(on_resource(evaluate(plan(release)), NAME, release)) == 1


def test_other_workloads_and_charts_need_no_gpu(evaluate: Evaluate) -> None:
    web = resource(
        "kubernetes:apps/v1:Deployment",
        "web",
        {
            "spec": {
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web"}]},
                }
            }
        },
    )
    operator = resource(
        "kubernetes:helm.sh/v3:Release", "gpu-operator", {"chart": "gpu-operator", "values": {}}
    )
    mcp_named = resource(
        "kubernetes:helm.sh/v3:Release", "tools", {"chart": "sophia-mcp-tools", "values": {}}
    )
    result = evaluate(plan(web, operator, mcp_named))
    assert [violation for violation in result.violations if violation.policy == NAME] == []


def test_exempted_servers_are_reported_not_applicable(evaluate: Evaluate) -> None:
    cpu_only = mcp_release("linear", values=mcp_values(resources={"limits": {"nvidia.com/gpu": None}}))
    result = evaluate(plan(cpu_only), {NAME: {"exemptions": ["linear"]}})
    assert on_resource(result, NAME, cpu_only) == []
    skipped = [(skip.policy, skip.urn) for skip in result.not_applicable if skip.policy == NAME]
    assert skipped == [(NAME, cpu_only.urn)]
    assert on_resource(evaluate(plan(cpu_only)), NAME, cpu_only), "without the exemption it is a violation"


def test_unknown_gpu_limit_and_labels_are_violations_not_silent_passes(evaluate: Evaluate) -> None:
    release = mcp_release(values=mcp_values(resources={"limits": {"nvidia.com/gpu": UNKNOWN}}))
    spec = mcp_pod_spec()
    workload = mcp_deployment(pod_spec=spec)
    workload.inputs["spec"]["template"]["metadata"]["labels"] = UNKNOWN
    result = evaluate(plan(release, workload))
    [limit] = on_resource(result, NAME, release)
    assert GPU_LIMIT in limit.message
    assert "not known during preview" in limit.message
    assert limit.level == "mandatory"
    [labels] = on_resource(result, NAME, workload)
    assert "labels are not known during preview" in labels.message


def test_values_from_files_cannot_be_verified(evaluate: Evaluate) -> None:
    release = mcp_release(valueYamlFiles=["values/ai-memory.yaml"])
    [violation] = on_resource(evaluate(plan(release)), NAME, release)
    assert "valueYamlFiles" in violation.message
