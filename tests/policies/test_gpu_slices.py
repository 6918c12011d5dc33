"""gpu-slices-admitted (stack policy), through the real pack process: a container asking a strict
time-sliced pool for more than one slice is refused at preview, with the device plugin's reason."""

from __future__ import annotations

from offline.plan import ResourcePlan
from offline.policy_gate import format_violations
from tests.policies.conftest import Evaluate
from tests.policies.plans import (
    gpu_pool,
    mcp_deployment,
    mcp_pod_spec,
    mcp_release,
    mcp_values,
    of_policy,
    plan,
    resource,
)

NAME = "gpu-slices-admitted"


def two_slices() -> dict:
    return {"requests": {"nvidia.com/gpu": 2}, "limits": {"memory": "4Gi", "nvidia.com/gpu": 2}}


def test_one_slice_per_container_passes(evaluate: Evaluate) -> None:
    result = evaluate(plan(mcp_release(), mcp_deployment(), *gpu_pool(replicas=4)))
    assert of_policy(result, NAME) == [], format_violations(result)


def test_a_release_asking_for_two_slices_is_refused_with_the_device_plugin_reason(evaluate: Evaluate) -> None:
    release = mcp_release(values=mcp_values(resources=two_slices()))
    [violation] = of_policy(evaluate(plan(release, *gpu_pool(replicas=4))), NAME)
    assert violation.level == "mandatory"
    assert violation.urn == release.urn
    assert 'values.resources.limits["nvidia.com/gpu"]' in violation.message
    assert "failRequestsGreaterThanOne: true" in violation.message
    assert "at admission" in violation.message
    assert "'lambda-gpu' (4 slices per GPU)" in violation.message


def test_a_workload_pinned_to_the_pool_asking_for_two_slices_is_refused(evaluate: Evaluate) -> None:
    spec = mcp_pod_spec()
    spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "2"
    workload = mcp_deployment(pod_spec=spec)
    [violation] = of_policy(evaluate(plan(workload, *gpu_pool(replicas=2))), NAME)
    assert 'spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"]' in violation.message
    assert "is pinned to" in violation.message


def test_an_unpinned_pod_may_land_on_the_strict_pool(evaluate: Evaluate) -> None:
    pod = resource(
        "kubernetes:core/v1:Pod",
        "trainer",
        {"spec": {"containers": [{"name": "t", "resources": {"limits": {"nvidia.com/gpu": 4}}}]}},
    )
    [violation] = of_policy(evaluate(plan(pod, *gpu_pool(replicas=4))), NAME)
    assert "may land on" in violation.message


def test_unshared_or_lenient_pools_and_other_pools_accept_several_gpus(evaluate: Evaluate) -> None:
    release = mcp_release(values=mcp_values(resources=two_slices()))
    unshared = gpu_pool(replicas=1)
    assert of_policy(evaluate(plan(release, *unshared)), NAME) == []
    lenient = gpu_pool(replicas=4)
    config_map = lenient[0]
    config_map.inputs["data"]["config.yaml"] = config_map.inputs["data"]["config.yaml"].replace(
        "failRequestsGreaterThanOne: true", "failRequestsGreaterThanOne: false"
    )
    assert of_policy(evaluate(plan(release, *lenient)), NAME) == []
    elsewhere = mcp_release(
        values=mcp_values(resources=two_slices(), nodeSelector={"sophia.ai/gpu-pool": "big"})
    )
    assert of_policy(evaluate(plan(elsewhere, *gpu_pool(replicas=4))), NAME) == []


def _operator(config_map: str, default_key: str) -> ResourcePlan:
    return resource(
        "kubernetes:helm.sh/v3:Release",
        "gpu-operator",
        {
            "chart": "gpu-operator",
            "values": {"devicePlugin": {"config": {"name": config_map, "default": default_key}}},
        },
    )


def test_the_config_is_read_under_the_key_the_operator_selects(evaluate: Evaluate) -> None:
    release = mcp_release(values=mcp_values(resources=two_slices()))
    pool = gpu_pool(replicas=4)
    config_map = pool[0]
    strict = config_map.inputs["data"].pop("config.yaml")
    config_map.inputs["data"] |= {"any": strict.replace("replicas: 4", "replicas: 1"), "a10": strict}
    name = config_map.inputs["metadata"]["name"]
    [violation] = of_policy(evaluate(plan(release, *pool, _operator(name, "a10"))), NAME)
    assert "'lambda-gpu' (4 slices per GPU)" in violation.message
    assert of_policy(evaluate(plan(release, *pool, _operator(name, "any"))), NAME) == []


def test_a_multi_gpu_request_in_any_charts_values_is_refused(evaluate: Evaluate) -> None:
    other_chart = resource(
        "kubernetes:helm.sh/v3:Release",
        "vllm",
        {
            "chart": "vllm-stack",
            "values": {
                "servingEngineSpec": {
                    "resources": {"limits": {"nvidia.com/gpu": 2}},
                    "nodeSelector": {"sophia.ai/gpu-pool": "lambda-gpu"},
                }
            },
        },
    )
    [violation] = of_policy(evaluate(plan(other_chart, *gpu_pool(replicas=4))), NAME)
    assert 'values.servingEngineSpec.resources.limits["nvidia.com/gpu"]' in violation.message
    assert "is pinned to" in violation.message


def test_a_pod_whose_affinity_keeps_it_off_the_strict_pool_is_not_refused(evaluate: Evaluate) -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "sophia.ai/gpu-pool", "operator": "In", "values": ["big"]}]}
                ]
            }
        }
    }
    pod = resource(
        "kubernetes:core/v1:Pod",
        "trainer",
        {
            "spec": {
                "containers": [{"name": "t", "resources": {"limits": {"nvidia.com/gpu": 4}}}],
                "affinity": affinity,
            }
        },
    )
    assert of_policy(evaluate(plan(pod, *gpu_pool(replicas=4))), NAME) == []
