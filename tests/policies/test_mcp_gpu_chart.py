"""The GPU verdict a policy gives a sophia-mcp release from its values equals the verdict on the pods the
chart really renders from them (`helm template`): a policy sees only the values, so the two must not drift."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.guardrails.gpu_quantities import gpu_quantity_problems
from policies.guardrails.mcp_gpu import pod_spec_gpu_problems, release_gpu_problems
from tests.policies.plans import GPU_NODE_SELECTOR, GPU_TOLERATION

helm_tool = pytest.importorskip(
    "harness.helm_tool", reason="testkit/harness/helm_tool.py (helm_template) is not importable yet"
)

RELEASE = "ai-memory"
# None removes the chart's default GPU limit (helm deletes a key set to null), i.e. "no GPU limit".
GPU_QUANTITIES = [None, 0, 1, 2, "1", "2", "0", "1000m", "2000m", 0.25, "500m", "1.5", "250m"]
SAME_AS_LIMIT = "same as limit"
GPU_REQUESTS = ["no request", SAME_AS_LIMIT, 1, "1000m", 2]
TOLERATIONS = [
    [],
    [GPU_TOLERATION],
    [{"key": "nvidia.com/gpu", "operator": "Exists"}],
    [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}],
    [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "absent", "effect": "NoSchedule"}],
    [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}],
    [{"key": "dedicated", "operator": "Exists"}],
]
NODE_SELECTORS = [{}, GPU_NODE_SELECTOR, {"nvidia.com/gpu.present": "true"}]


@st.composite
def release_values(draw: st.DrawFn) -> dict[str, Any]:
    limit = draw(st.sampled_from(GPU_QUANTITIES))
    request = draw(st.sampled_from(GPU_REQUESTS))
    resources: dict[str, Any] = {"limits": {"memory": "2Gi", "nvidia.com/gpu": limit}}
    if request != "no request":
        resources["requests"] = {
            "cpu": "250m",
            "nvidia.com/gpu": limit if request == SAME_AS_LIMIT else request,
        }
    return {
        "resources": resources,
        "tolerations": draw(st.sampled_from(TOLERATIONS)),
        "nodeSelector": draw(st.sampled_from(NODE_SELECTORS)),
    }


def accepted(tree: dict[str, Any], problems: list[Any]) -> bool:
    return not problems and not list(gpu_quantity_problems(tree))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=release_values())
def test_values_verdict_matches_the_rendered_pods(values: dict[str, Any]) -> None:
    values_accepted = accepted(values, release_gpu_problems(values, RELEASE))
    try:
        manifests = helm_tool.helm_template(values, release=RELEASE, namespace="mcp")
    except helm_tool.HelmError as error:
        assert not values_accepted, f"the chart refuses values the policy accepts: {values}\n{error}"
        return
    pod_specs = [doc["spec"]["template"]["spec"] for doc in manifests if doc.get("kind") == "Deployment"]
    assert pod_specs, "the chart rendered no Deployment"
    pods_accepted = all(accepted(spec, pod_spec_gpu_problems(spec)) for spec in pod_specs)
    assert pods_accepted == values_accepted, (values, pod_specs)
