"""Hand-built plans for the policy tests: resources as the offline engine records them."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from domain.gpu_pool import POOL_LABEL, POOL_TAG_KEY, TIME_SLICING_CONFIG_KEY, time_slicing_config
from offline.plan import Plan, ResourcePlan
from offline.policy_gate import GateResult, Violation
from tests.samples import GPU_TOLERATION

PROJECT = "sophia-ai"
STACK = "production"
PACK_DIR_NAME = "policies"

GPU_POOL = "lambda-gpu"
GPU_NODE_SELECTOR = {POOL_LABEL: GPU_POOL}
MCP_LABELS = {
    "app.kubernetes.io/name": "sophia-mcp",
    "app.kubernetes.io/component": "mcp-server",
    "app.kubernetes.io/part-of": "sophia-mcp",
}


def urn(resource_type: str, name: str, stack: str = STACK) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{resource_type}::{name}"


def resource(
    resource_type: str,
    name: str,
    inputs: dict[str, Any],
    *,
    custom: bool = True,
    provider: str | None = None,
    protect: bool = False,
    parent: str | None = None,
    dependencies: Iterable[str] = (),
    property_dependencies: dict[str, list[str]] | None = None,
    stack: str = STACK,
) -> ResourcePlan:
    return ResourcePlan(
        urn=urn(resource_type, name, stack),
        type=resource_type,
        name=name,
        custom=custom,
        parent=parent,
        provider=provider,
        protect=protect,
        retain_on_delete=False,
        dependencies=list(dependencies),
        property_dependencies=property_dependencies or {},
        inputs=inputs,
    )


def plan(*resources: ResourcePlan, stack: str = STACK) -> Plan:
    return Plan(project=PROJECT, stack=stack, resources=list(resources))


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` with `override` merged in; a None in `override` deletes the key."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def mcp_values(**override: Any) -> dict[str, Any]:
    """sophia-mcp values a production server uses: one whole GPU slice on the pool, pinned image."""
    base = {
        "image": {"repository": "ghcr.io/sophia-ai/mcp-ai-memory", "tag": "1.4.2"},
        "replicaCount": 2,
        "service": {"port": 9000},
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": 1},
            "limits": {"memory": "4Gi", "nvidia.com/gpu": 1},
        },
        "nodeSelector": dict(GPU_NODE_SELECTOR),
        "tolerations": [dict(GPU_TOLERATION)],
        "runtimeClassName": "nvidia",
        "secretName": "ai-memory-snowflake",
    }
    return merged(base, override)


def mcp_release(name: str = "ai-memory", values: Any = None, **inputs: Any) -> ResourcePlan:
    return resource(
        "kubernetes:helm.sh/v3:Release",
        name,
        {
            "chart": "charts/sophia-mcp",
            "namespace": "mcp",
            "values": mcp_values() if values is None else values,
        }
        | inputs,
    )


def mcp_pod_spec(**override: Any) -> dict[str, Any]:
    base = {
        "containers": [
            {
                "name": "mcp-server",
                "image": "ghcr.io/sophia-ai/mcp-linear:2.0.1",
                "resources": {"limits": {"memory": "2Gi", "nvidia.com/gpu": 1}},
            }
        ],
        "nodeSelector": dict(GPU_NODE_SELECTOR),
        "tolerations": [dict(GPU_TOLERATION)],
    }
    return merged(base, override)


def mcp_deployment(
    name: str = "linear",
    pod_spec: dict[str, Any] | None = None,
    *,
    replicas: int = 1,
    kind: str = "Deployment",
) -> ResourcePlan:
    spec = mcp_pod_spec() if pod_spec is None else pod_spec
    template = {"metadata": {"labels": dict(MCP_LABELS)}, "spec": spec}
    group = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    if kind == "CronJob":
        body: dict[str, Any] = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "Job":
        body = {"template": template}
    else:
        body = {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template}
    return resource(f"kubernetes:{group}:{kind}", name, {"metadata": {"name": name}, "spec": body})


def gpu_pool(
    name: str = GPU_POOL, *, replicas: int = 4, instances: int = 1, instance_type: str = "gpu_1x_a10"
) -> list[ResourcePlan]:
    """What a GpuNodePool registers for the capacity rule: its time-slicing ConfigMap and its instances."""
    config_map = resource(
        "kubernetes:core/v1:ConfigMap",
        f"{name}-time-slicing",
        {
            "metadata": {"name": f"{name}-time-slicing", "labels": {POOL_LABEL: name}},
            # Written as the pool writes it, so the rule is held to what the pool really registers.
            "data": {TIME_SLICING_CONFIG_KEY: time_slicing_config(replicas)},
        },
    )
    nodes = [
        resource(
            "pulumi-python:dynamic/lambdacloud:Instance",
            f"{name}-node-{index}",
            {
                "instance_type": instance_type,
                "region": "us-east-1",
                "name": f"{name}-{index}",
                "tags": {POOL_TAG_KEY: name},
            },
        )
        for index in range(instances)
    ]
    return [config_map, *nodes]


def snowflake_provider(name: str = "snowflake", **inputs: Any) -> ResourcePlan:
    identity = {"organizationName": "UHDECNO", "accountName": "CVB64222", "user": "SOPHIA_AI_DEPLOYER"}
    return resource(
        "pulumi:providers:snowflake",
        name,
        {key: value for key, value in (identity | inputs).items() if value is not None},
    )


def of_policy(result: GateResult, policy: str) -> list[Violation]:
    return [violation for violation in result.violations if violation.policy == policy]


def on_resource(result: GateResult, policy: str, target: ResourcePlan) -> list[Violation]:
    return [violation for violation in of_policy(result, policy) if violation.urn == target.urn]
