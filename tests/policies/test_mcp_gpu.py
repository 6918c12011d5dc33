"""mcp-servers-require-gpu, through the real pack process: MCP workloads and sophia-mcp releases without a
whole GPU, without the GPU toleration or without GPU-pool placement are mandatory violations."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

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


def test_a_sidecar_beside_the_server_needs_no_gpu_but_the_server_does(evaluate: Evaluate) -> None:
    with_sidecar = mcp_pod_spec()
    with_sidecar["containers"].append({"name": "metrics", "image": "ghcr.io/sophia-ai/metrics:1.0.0"})
    served = mcp_deployment("served", pod_spec=with_sidecar)
    without_gpu = mcp_pod_spec()
    without_gpu["containers"][0]["resources"]["limits"] = {"memory": "2Gi"}
    without_gpu["containers"].append({"name": "metrics", "image": "ghcr.io/sophia-ai/metrics:1.0.0"})
    starved = mcp_deployment("starved", pod_spec=without_gpu)
    fractional_sidecar = mcp_pod_spec()
    fractional_sidecar["containers"].append(
        {"name": "metrics", "resources": {"limits": {"nvidia.com/gpu": "500m"}}}
    )
    refused_sidecar = mcp_deployment("refused-sidecar", pod_spec=fractional_sidecar)
    result = evaluate(plan(served, starved, refused_sidecar))
    assert on_resource(result, NAME, served) == []
    # With no GPU anywhere in the pod, no container can be told apart as the server: each is named.
    assert len(on_resource(result, NAME, starved)) == 2
    [fractional] = on_resource(result, NAME, refused_sidecar)
    assert "containers[1]" in fractional.message


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


def _required_affinity(*expressions: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": list(expressions)}]
            }
        }
    }


@pytest.mark.parametrize(
    ("pod_spec", "expected"),
    [
        ({"nodeSelector": {"kubernetes.io/os": "linux"}}, "a node outside the pools also fits"),
        (
            {
                "nodeSelector": None,
                "affinity": _required_affinity(
                    {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}
                ),
            },
            "a node outside the pools also fits",
        ),
        (
            {
                "nodeSelector": None,
                "affinity": _required_affinity(
                    {"key": "sophia.ai/gpu-pool", "operator": "NotIn", "values": ["cpu"]}
                ),
            },
            "a node outside the pools also fits",
        ),
        ({"nodeSelector": {"sophia.ai/gpu-pool": "lambda-gpu", "disktype": "ssd"}}, "never schedules"),
    ],
    ids=["selector-on-os", "affinity-on-arch", "pool-notin", "term-the-pool-fails"],
)
def test_a_selection_that_does_not_restrict_the_pod_to_the_pool_is_refused(
    evaluate: Evaluate, pod_spec: dict[str, Any], expected: str
) -> None:
    spec = mcp_pod_spec(nodeSelector=None) | {k: v for k, v in pod_spec.items() if v is not None}
    workload = mcp_deployment(pod_spec=spec)
    [violation] = on_resource(evaluate(plan(workload)), NAME, workload)
    assert "spec.template.spec" in violation.message
    assert expected in violation.message


def test_a_required_affinity_on_the_pool_label_places_the_pod(evaluate: Evaluate) -> None:
    workload = mcp_deployment(
        pod_spec=mcp_pod_spec(
            nodeSelector=None,
            affinity=_required_affinity(
                {"key": "sophia.ai/gpu-pool", "operator": "In", "values": ["lambda-gpu"]},
                {"key": "kubernetes.io/os", "operator": "NotIn", "values": ["windows"]},
            ),
        )
    )
    assert on_resource(evaluate(plan(workload)), NAME, workload) == []


def _template(spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"labels": {"app.kubernetes.io/component": "mcp-server"}}, "spec": spec}


def test_mcp_pods_are_found_wherever_they_are_written(evaluate: Evaluate) -> None:
    """Another chart's values, a manifest in a string, a custom resource and a `*List` kind."""
    no_gpu = mcp_pod_spec()
    no_gpu["containers"][0]["resources"]["limits"] = {"memory": "2Gi"}
    other_chart = resource(
        "kubernetes:helm.sh/v3:Release",
        "toolbox",
        {"chart": "toolbox", "values": {"worker": {"podTemplate": _template(no_gpu)}}},
    )
    manifest = yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {"replicas": 1, "template": _template(no_gpu)},
        }
    )
    in_a_string = resource(
        "kubernetes:helm.sh/v3:Release", "extras", {"chart": "common", "values": {"extraDeploy": [manifest]}}
    )
    rollout = resource(
        "kubernetes:argoproj.io/v1alpha1:Rollout", "rollout", {"spec": {"template": _template(no_gpu)}}
    )
    listed = resource(
        "kubernetes:apps/v1:DeploymentList",
        "listed",
        {"items": [{"spec": {"template": _template(no_gpu)}}]},
    )
    result = evaluate(plan(other_chart, in_a_string, rollout, listed))
    for target in (other_chart, in_a_string, rollout, listed):
        [violation] = on_resource(result, NAME, target)
        assert "has no nvidia.com/gpu limit" in violation.message
    assert "(as YAML/JSON)" in on_resource(result, NAME, in_a_string)[0].message
