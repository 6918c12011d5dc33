"""gpu-capacity (stack policy), through the real pack process: the slices MCP servers ask for fit in what the
pools' time-slicing ConfigMaps and instances offer."""

from __future__ import annotations

from offline.plan import UNKNOWN
from offline.policy_gate import GateResult, Violation, format_violations
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

NAME = "gpu-capacity"
SERVERS = ("ai-memory", "snowflake-admin", "linear", "asana", "gong")


def only(result: GateResult) -> Violation:
    found = of_policy(result, NAME)
    assert len(found) == 1, format_violations(result)
    assert found[0].level == "mandatory"
    return found[0]


def test_demand_that_fits_the_pool_passes(evaluate: Evaluate) -> None:
    # One A10 advertised 4 times, two servers with 2 replicas of 1 slice each.
    result = evaluate(plan(mcp_release("ai-memory"), mcp_release("linear"), *gpu_pool(replicas=4)))
    assert of_policy(result, NAME) == [], format_violations(result)


def test_demand_beyond_the_pool_is_rejected_naming_pool_and_consumers(evaluate: Evaluate) -> None:
    pool = gpu_pool(replicas=4)
    releases = [mcp_release(name) for name in SERVERS]
    violation = only(evaluate(plan(*releases, *pool)))
    assert violation.urn == pool[0].urn
    assert (
        "GPU pool 'lambda-gpu' offers 4 slices (1 GPUs on 1 instances x 4 time-slicing replicas)"
        in violation.message
    )
    assert "ask for 10" in violation.message
    assert all(f'"{name}"' in violation.message for name in SERVERS)


def test_capacity_counts_every_instance_and_its_gpus_from_the_catalog(evaluate: Evaluate) -> None:
    releases = [mcp_release(name) for name in SERVERS]
    three_a10s = gpu_pool(replicas=4, instances=3)
    assert of_policy(evaluate(plan(*releases, *three_a10s)), NAME) == []
    eight_gpus_unsliced = gpu_pool(replicas=1, instance_type="gpu_8x_a100_80gb_sxm4")
    assert of_policy(evaluate(plan(*releases, *eight_gpus_unsliced)), NAME) != []
    two_eight_gpu_nodes = gpu_pool(replicas=1, instances=2, instance_type="gpu_8x_a100_80gb_sxm4")
    assert of_policy(evaluate(plan(*releases, *two_eight_gpu_nodes)), NAME) == []


def test_autoscaled_servers_count_their_maximum(evaluate: Evaluate) -> None:
    autoscaled = mcp_release(
        values=mcp_values(autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 6})
    )
    violation = only(evaluate(plan(autoscaled, *gpu_pool(replicas=4))))
    assert "ask for 6" in violation.message


def test_workloads_count_their_replicas(evaluate: Evaluate) -> None:
    spec = mcp_pod_spec()
    spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = 2
    violation = only(evaluate(plan(mcp_deployment(pod_spec=spec, replicas=3), *gpu_pool(replicas=4))))
    assert "ask for 6" in violation.message


def test_a_pool_without_time_slicing_offers_one_slice_per_gpu(evaluate: Evaluate) -> None:
    pool = gpu_pool(instances=1)
    pool[0].inputs["data"]["config.yaml"] = "version: v1\nflags:\n  migStrategy: none\n"
    violation = only(evaluate(plan(mcp_release(), *pool)))
    assert "offers 1 slices" in violation.message


def test_servers_need_a_declared_pool(evaluate: Evaluate) -> None:
    release = mcp_release()
    nowhere = only(evaluate(plan(release)))
    assert "no GPU node pool declares any capacity" in nowhere.message
    elsewhere = mcp_release("gong", values=mcp_values(nodeSelector={"sophia.ai/gpu-pool": "h100"}))
    violation = only(evaluate(plan(elsewhere, *gpu_pool())))
    assert violation.urn == elsewhere.urn
    assert "names a pool no GpuNodePool declares" in violation.message


def test_what_cannot_be_counted_is_a_violation_not_a_silent_pass(evaluate: Evaluate) -> None:
    unknown_replicas = mcp_release("ai-memory", values=mcp_values(replicaCount=UNKNOWN))
    no_replicas = mcp_release("linear", values=mcp_values(replicaCount=None))
    odd_instance = resource(
        "pulumi-python:dynamic/lambdacloud:Instance",
        "lambda-gpu-node-9",
        {"instance_type": "gpu_2x_mystery", "tags": {"sophia-ai:gpu-pool": "lambda-gpu"}},
    )
    result = evaluate(plan(unknown_replicas, no_replicas, *gpu_pool(), odd_instance))
    messages = {violation.urn: violation.message for violation in of_policy(result, NAME)}
    assert "values.replicaCount is not known during preview" in messages[unknown_replicas.urn]
    assert "values.replicaCount is not set" in messages[no_replicas.urn]
    assert "unknown Lambda instance type 'gpu_2x_mystery'" in messages[odd_instance.urn]


def test_instances_of_types_the_catalog_lacks_can_declare_their_gpus(evaluate: Evaluate) -> None:
    instance = resource(
        "pulumi-python:dynamic/lambdacloud:Instance",
        "lambda-gpu-node-1",
        {
            "instance_type": "gpu_2x_mystery",
            "gpusPerInstance": 2,
            "tags": {"sophia-ai:gpu-pool": "lambda-gpu"},
        },
    )
    releases = [mcp_release(name) for name in SERVERS]
    assert of_policy(evaluate(plan(*releases, *gpu_pool(replicas=4), instance)), NAME) == []


def test_servers_not_pinned_to_a_pool_fit_only_in_what_pinned_servers_leave(evaluate: Evaluate) -> None:
    pinned = mcp_release("ai-memory")
    any_gpu_node = {"sophia.ai/gpu-pool": None, "nvidia.com/gpu.present": "true"}
    loose = [mcp_release(name, values=mcp_values(nodeSelector=any_gpu_node)) for name in ("linear", "gong")]
    assert of_policy(evaluate(plan(pinned, loose[0], *gpu_pool(replicas=4))), NAME) == []
    violation = only(evaluate(plan(pinned, *loose, *gpu_pool(replicas=4))))
    assert "not pinned to a pool ask for 4 GPU slices" in violation.message
    assert "the pools have 2 left" in violation.message
