"""The test control plane is a real one: its admission, scheduler and controllers do what a cluster's do.

Three kwok GPU nodes labelled and tainted as the GPU pool's agents are, a RuntimeClass carrying the pool's
scheduling, a `restricted` namespace: ten replicas asking one `nvidia.com/gpu` each land on the pool (through
the RuntimeClass's node selector and toleration, merged in by the RuntimeClass admission plugin) and run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from domain.gpu import GPU_RESOURCE, GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE, NVIDIA_RUNTIME_CLASS
from domain.gpu_pool import POOL_LABEL, POOL_TAINT
from harness.control_plane import (
    ApiError,
    ControlPlane,
    KubeClient,
    NodeCapacity,
    create_fake_node,
    delete_node,
    set_node_gpus,
    wait_for,
)

POOL = "smoke"
NODES = [f"sophia-gpu-{POOL}-{index}" for index in range(3)]
SLICES_PER_NODE = 4  # one GPU per node, time-sliced four ways
REPLICAS = 10
NAMESPACE = "mcp-smoke"
RUNTIME_CLASS = f"{NVIDIA_RUNTIME_CLASS}-{POOL}"
NODE_TAINT = {"key": GPU_TAINT_KEY, "value": GPU_TAINT_VALUE, "effect": GPU_TAINT_EFFECT}

# What the `restricted` Pod Security level asks of every container.
RESTRICTED_CONTAINER_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _pod(
    name: str, gpu: str, security: dict[str, Any] | None = RESTRICTED_CONTAINER_SECURITY
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "server",
        "image": "registry.invalid/sophia-mcp:1.0.0",
        "resources": {"limits": {GPU_RESOURCE: gpu}},
    }
    if security is not None:
        container["securityContext"] = security
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [container]},
    }


@pytest.fixture(scope="module")
def gpu_pool(control_plane: ControlPlane) -> Iterator[KubeClient]:
    """Three Ready GPU nodes of the pool, its RuntimeClass and a restricted namespace; removed afterwards."""
    client = control_plane.client()
    try:
        for name in NODES:
            node = create_fake_node(
                client,
                name,
                {POOL_LABEL: POOL},
                [POOL_TAINT],  # as the pool writes it for the k3s agent: key=value:Effect
                NodeCapacity(cpu="30", memory="200Gi", pods=110),
            )
            assert GPU_RESOURCE not in node["status"]["capacity"]  # no device plugin yet
            # What the device plugin does once time-slicing is configured.
            set_node_gpus(client, name, SLICES_PER_NODE)
        client.create(
            "/apis/node.k8s.io/v1/runtimeclasses",
            {
                "apiVersion": "node.k8s.io/v1",
                "kind": "RuntimeClass",
                "metadata": {"name": RUNTIME_CLASS},
                "handler": NVIDIA_RUNTIME_CLASS,
                "scheduling": {
                    "nodeSelector": {POOL_LABEL: POOL},
                    "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": GPU_TAINT_EFFECT}],
                },
            },
        )
        client.create(
            "/api/v1/namespaces",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": NAMESPACE,
                    "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
                },
            },
        )
        yield client
    finally:
        for path in (
            f"/api/v1/namespaces/{NAMESPACE}",
            f"/apis/node.k8s.io/v1/runtimeclasses/{RUNTIME_CLASS}",
        ):
            try:
                client.delete(path)
            except ApiError as error:
                if error.status != 404:
                    raise
        for name in NODES:
            delete_node(client, name)


def test_control_plane_reports_its_version_and_startup(
    control_plane: ControlPlane, record_property: Any
) -> None:
    version = control_plane.client().get("/version")
    assert version["gitVersion"].startswith("v1.")
    # The built kubectl talks to it through the kubeconfig the fixture wrote, and both carry the release.
    both = json.loads(control_plane.kubectl("version", "--output=json").stdout)
    assert both["clientVersion"]["gitVersion"] == both["serverVersion"]["gitVersion"] == version["gitVersion"]
    record_property("control_plane_startup_seconds", round(control_plane.startup_seconds, 1))
    print(f"control plane {version['gitVersion']} started in {control_plane.startup_seconds:.1f}s")


def test_kwok_keeps_the_capacity_a_node_was_created_with(gpu_pool: KubeClient) -> None:
    node = gpu_pool.get(f"/api/v1/nodes/{NODES[0]}")
    expected = {"cpu": "30", "memory": "200Gi", "pods": "110", GPU_RESOURCE: str(SLICES_PER_NODE)}
    assert node["status"]["capacity"] == expected
    assert node["status"]["allocatable"] == expected
    assert node["spec"]["taints"] == [NODE_TAINT]


def test_ten_gpu_replicas_are_scheduled_on_the_pool_and_run(gpu_pool: KubeClient) -> None:
    template = _pod("unused", "1")
    template["metadata"] = {"labels": {"app": "mcp-smoke"}}
    template["spec"]["runtimeClassName"] = RUNTIME_CLASS
    template.pop("apiVersion")
    template.pop("kind")
    gpu_pool.create(
        f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "mcp-smoke"},
            "spec": {
                "replicas": REPLICAS,
                "selector": {"matchLabels": {"app": "mcp-smoke"}},
                "template": template,
            },
        },
    )

    def all_running() -> list[dict[str, Any]] | None:
        pods = gpu_pool.get(f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=app%3Dmcp-smoke")["items"]
        running = [pod for pod in pods if pod.get("status", {}).get("phase") == "Running"]
        return running if len(running) == REPLICAS else None

    pods = wait_for(f"{REPLICAS} Running replicas", all_running, timeout=120)

    per_node = Counter(pod["spec"]["nodeName"] for pod in pods)
    assert set(per_node) <= set(NODES)
    assert all(count <= SLICES_PER_NODE for count in per_node.values())
    for pod in pods:
        # The RuntimeClass admission plugin merged the pool's scheduling into each Pod.
        assert pod["spec"]["nodeSelector"] == {POOL_LABEL: POOL}
        toleration = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": GPU_TAINT_EFFECT}
        assert toleration in pod["spec"]["tolerations"]
        assert pod["spec"]["containers"][0]["resources"]["requests"] == {GPU_RESOURCE: "1"}

    def deployment_available() -> dict[str, Any] | None:
        deployment = gpu_pool.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/mcp-smoke")
        return deployment if deployment.get("status", {}).get("availableReplicas") == REPLICAS else None

    wait_for("the Deployment to report every replica available", deployment_available, timeout=60)


def test_restricted_namespace_refuses_a_pod_that_may_escalate(gpu_pool: KubeClient) -> None:
    with pytest.raises(ApiError) as refused:
        gpu_pool.create(f"/api/v1/namespaces/{NAMESPACE}/pods", _pod("escalates", "1", security=None))
    assert refused.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in refused.value.message


def test_api_server_refuses_a_fractional_gpu(control_plane: ControlPlane) -> None:
    with pytest.raises(ApiError) as refused:
        control_plane.client().create("/api/v1/namespaces/default/pods", _pod("quarter-gpu", "0.25"))
    assert refused.value.status == 422
    # pkg/apis/core/validation ValidateResourceQuantityValue: integer resources take whole quantities only.
    assert refused.value.message == (
        'Pod "quarter-gpu" is invalid: ['
        'spec.containers[0].resources.limits[nvidia.com/gpu]: Invalid value: "250m": must be an integer, '
        'spec.containers[0].resources.requests[nvidia.com/gpu]: Invalid value: "250m": must be an integer]'
    )
