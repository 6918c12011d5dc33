"""gpu-quantities-valid, through the real pack process: only whole GPU quantities in limits, with any request
equal to the limit, in any workload or any release's values."""

from __future__ import annotations

from typing import Any

import pytest

from offline.plan import UNKNOWN
from offline.policy_gate import format_violations
from tests.policies.conftest import Evaluate
from tests.policies.plans import mcp_deployment, mcp_pod_spec, on_resource, plan, resource

NAME = "gpu-quantities-valid"


def release_with(resources: dict[str, Any], chart: str = "vllm") -> Any:
    # Any chart: a bad GPU quantity fails the install whatever the chart is.
    return resource(
        "kubernetes:helm.sh/v3:Release",
        "inference",
        {"chart": chart, "values": {"server": {"resources": resources}}},
    )


@pytest.mark.parametrize(
    "resources",
    [
        {"limits": {"nvidia.com/gpu": 1}},
        {"limits": {"nvidia.com/gpu": "2"}},
        {"limits": {"nvidia.com/gpu": "1000m"}},
        {"limits": {"nvidia.com/gpu": 1}, "requests": {"nvidia.com/gpu": "1000m"}},
        {"limits": {"nvidia.com/gpu.shared": 1}, "requests": {"nvidia.com/gpu.shared": 1}},
        {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "250m"}},
    ],
    ids=["1", '"2"', '"1000m"', "request equals limit", "shared slice", "no GPU at all"],
)
def test_whole_quantities_in_limits_pass(evaluate: Evaluate, resources: dict[str, Any]) -> None:
    release = release_with(resources)
    result = evaluate(plan(release))
    assert on_resource(result, NAME, release) == [], format_violations(result)


@pytest.mark.parametrize(
    ("resources", "field", "expected"),
    [
        ({"limits": {"nvidia.com/gpu": 0.25}}, "limits", "fractional"),
        ({"limits": {"nvidia.com/gpu": "500m"}}, "limits", "fractional"),
        ({"limits": {"nvidia.com/gpu": "1.5"}}, "limits", "fractional"),
        ({"limits": {"nvidia.com/gpu": "one"}}, "limits", "not a Kubernetes quantity"),
        ({"requests": {"nvidia.com/gpu": 1}}, "requests", "requested without a limit"),
        (
            {"limits": {"nvidia.com/gpu": 2}, "requests": {"nvidia.com/gpu": 1}},
            "requests",
            "differs from limit",
        ),
        ({"limits": {"nvidia.com/gpu": 1}, "requests": {"nvidia.com/gpu": 0.5}}, "requests", "fractional"),
        ({"limits": {"nvidia.com/gpu.shared": "250m"}}, "limits", "fractional"),
    ],
    ids=[
        "0.25",
        '"500m"',
        '"1.5"',
        "not a quantity",
        "request without limit",
        "request below limit",
        "fractional request",
        "fractional shared slice",
    ],
)
def test_quantities_the_api_server_rejects_are_violations(
    evaluate: Evaluate, resources: dict[str, Any], field: str, expected: str
) -> None:
    release = release_with(resources)
    [violation] = on_resource(evaluate(plan(release)), NAME, release)
    assert violation.level == "mandatory"
    assert f"values.server.resources.{field}" in violation.message
    assert expected in violation.message


def test_any_container_of_any_workload_is_checked(evaluate: Evaluate) -> None:
    spec = mcp_pod_spec()
    spec["initContainers"] = [{"name": "warmup", "resources": {"limits": {"nvidia.com/gpu": "500m"}}}]
    workload = mcp_deployment(pod_spec=spec)
    [violation] = on_resource(evaluate(plan(workload)), NAME, workload)
    assert 'spec.template.spec.initContainers[0].resources.limits["nvidia.com/gpu"]' in violation.message


def test_an_unknown_quantity_is_a_violation_not_a_silent_pass(evaluate: Evaluate) -> None:
    release = release_with({"limits": {"nvidia.com/gpu": UNKNOWN}})
    [violation] = on_resource(evaluate(plan(release)), NAME, release)
    assert "not known during preview" in violation.message
