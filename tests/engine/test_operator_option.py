"""clusterGpuOperatorInstalled: the pool leaves the GPU Operator to a cluster that already runs it."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as kubernetes

from components.config import load_stack_config
from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs, plan_gpu_pool
from domain.gpu_pool import POOL_LABEL
from harness.real_engine import PROJECT_DIR, STACK
from offline.engine import record
from offline.plan import Plan
from offline.stack_files import load_stack_settings


def pool_plan(operator_installed: bool) -> Plan:
    def program() -> None:
        config = load_stack_config()
        plan = plan_gpu_pool(config.gpu_pool, list(config.mcp.servers), config.lambda_cloud.region)
        provider = kubernetes.Provider("cluster", kubeconfig=config.cluster.kubeconfig)
        GpuNodePool(
            "gpu",
            GpuNodePoolArgs(plan, config.lambda_cloud, config.cluster),
            pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )

    overrides = {"clusterGpuOperatorInstalled": operator_installed}
    return record(program, load_stack_settings(PROJECT_DIR, STACK, overrides))


def kinds(plan: Plan) -> list[str]:
    return [resource.type for resource in plan.resources]


def test_by_default_the_pool_installs_the_operator_in_its_own_namespace() -> None:
    plan = pool_plan(operator_installed=False)
    assert "kubernetes:helm.sh/v3:Release" in kinds(plan)
    assert "kubernetes:core/v1:Namespace" in kinds(plan)


def test_on_a_cluster_that_runs_the_operator_only_the_time_slicing_config_map_is_added() -> None:
    plan = pool_plan(operator_installed=True)
    assert "kubernetes:helm.sh/v3:Release" not in kinds(plan)
    assert "kubernetes:core/v1:Namespace" not in kinds(plan)
    # The time-slicing config (labelled with the pool) goes into the operator's namespace; the pool's
    # address ConfigMap, which every pool has, lives in kube-system.
    config_maps = [r for r in plan.resources if r.type == "kubernetes:core/v1:ConfigMap"]
    (config_map,) = (r for r in config_maps if POOL_LABEL in r.inputs["metadata"].get("labels", {}))
    assert config_map.inputs["metadata"]["namespace"] == "gpu-operator"
    assert {r.inputs["metadata"]["namespace"] for r in config_maps} == {"gpu-operator", "kube-system"}
    (runtime_class,) = (r for r in plan.resources if r.type == "kubernetes:node.k8s.io/v1:RuntimeClass")
    # The pool's last step still waits for the device plugin's configuration.
    assert config_map.urn in runtime_class.dependencies
