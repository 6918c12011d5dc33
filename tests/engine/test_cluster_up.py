"""`pulumi up`, `preview`, `refresh` and `destroy` of the cluster half: the real CLI on a real API server.

The program is tests/engine/cluster_program.py (the real GpuNodePool and McpServers, Snowflake names as plain
values) on a local backend. Its Lambda client talks to the loopback fake (`lambdaApiBaseUrl`), its kubernetes
provider and PoolNode resources to the test control plane (`clusterKubeconfig`, inline as k3s writes it). The
instances become Nodes as their cloud-init would make them (tests/harness/lambda_nodes.py), and kwok runs the
pods the real scheduler places (no image is pulled). The cluster is taken as one that already runs the GPU
Operator (`clusterGpuOperatorInstalled`: its chart repository is out of reach), so the harness plays the
device plugin and the `gpu-operator` namespace exists before the stack runs; tests/harness/ingress_controller.py
publishes the Ingress's address as ingress-nginx would.

The tests share one stack and run in file order: up, no drift, destroy.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.mcp_servers import INGRESS_NAME, SNOWFLAKE_SECRET_NAME
from domain.gpu import GPU_RESOURCE
from domain.gpu_pool import OPERATOR_NAMESPACE, POOL_LABEL, TIME_SLICING_CONFIG_MAP, runtime_class_name
from tests.engine.real_engine import (
    STACK,
    EngineProject,
    Preview,
    Toolchain,
    esc_test_values,
    toolchain_or_skip,
)
from tests.fakes.lambda_cloud_api import FakeLambdaCloud
from tests.harness.control_plane import ApiError, ControlPlane, KubeClient
from tests.harness.ingress_controller import PublishedIngresses
from tests.harness.lambda_nodes import InstanceNodes

CLUSTER_PROGRAM = Path(__file__).parent / "cluster_program.py"
LAMBDA_API_KEY = esc_test_values()["sophia-ai:lambdaApiKey"]
MCP_NAMESPACE = "mcp"
# A real boot takes minutes; on the fake's clock 180 s become 1.8 s.
FAKE_TIME_SCALE = 0.01
UP_TIMEOUT_S = 900


def inline_kubeconfig(plane: ControlPlane) -> str:
    """The admin kubeconfig with the CA and client certificate inline, the shape k3s writes."""

    def data(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "test",
                    "cluster": {
                        "server": plane.server,
                        "certificate-authority-data": data(plane.pki.ca_cert),
                    },
                }
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate-data": data(plane.pki.cert("admin")),
                        "client-key-data": data(plane.pki.key("admin")),
                    },
                }
            ],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin"}}],
            "current-context": "test",
        }
    )


@dataclass
class ClusterStack:
    project: EngineProject
    fake: FakeLambdaCloud
    nodes: InstanceNodes
    kube: KubeClient
    plane: ControlPlane
    timings: dict[str, float]

    def run(self, *args: str, timeout: float = UP_TIMEOUT_S) -> Preview:
        started = time.monotonic()
        result = self.project.pulumi(*args, "--stack", STACK, check=False, timeout=timeout)
        self.timings[args[0]] = time.monotonic() - started
        print(f"\npulumi {args[0]}: {self.timings[args[0]]:.1f}s (exit {result.returncode})")
        return result

    def policy_args(self) -> list[str]:
        policies = self.project.dir / "policies"
        return [
            "--policy-pack",
            str(policies),
            "--policy-pack-config",
            str(policies / "config" / "production.json"),
        ]

    def up(self) -> Preview:
        return self.run("up", "--yes", "--skip-preview", *self.policy_args())

    def outputs(self) -> dict[str, Any]:
        result = self.project.pulumi("stack", "output", "--json", "--show-secrets", "--stack", STACK)
        outputs: dict[str, Any] = json.loads(result.stdout)
        return outputs

    def state_ids(self, type_token: str) -> list[str]:
        result = self.project.pulumi("stack", "export", "--stack", STACK)
        resources = json.loads(result.stdout)["deployment"].get("resources") or []
        return [str(r["id"]) for r in resources if r.get("type") == type_token and r.get("id")]

    def items(self, path: str) -> list[dict[str, Any]]:
        listed: dict[str, Any] = self.kube.get(path)
        return list(listed.get("items") or [])

    def pool_nodes(self) -> list[dict[str, Any]]:
        return [
            node for node in self.items("/api/v1/nodes") if POOL_LABEL in node["metadata"].get("labels", {})
        ]


@pytest.fixture(scope="module")
def toolchain() -> Toolchain:
    return toolchain_or_skip()


@pytest.fixture(scope="module")
def stack(
    toolchain: Toolchain, control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClusterStack]:
    kube = control_plane.client()
    # The operator's namespace, as on a cluster that already runs the GPU Operator.
    try:
        kube.create("/api/v1/namespaces", {"metadata": {"name": OPERATOR_NAMESPACE}})
    except ApiError as error:
        if error.status != 409:
            raise
    with FakeLambdaCloud(LAMBDA_API_KEY, time_scale=FAKE_TIME_SCALE) as fake:
        watcher = InstanceNodes(fake, kube)
        with watcher.running(), PublishedIngresses(kube).running():
            project = EngineProject(toolchain, tmp_path_factory.mktemp("cluster-up"), main=CLUSTER_PROGRAM)
            project.init_stack(
                {
                    "sophia-ai:clusterGpuOperatorInstalled": True,
                    "sophia-ai:lambdaApiBaseUrl": fake.base_url,
                }
            )
            project.pulumi(
                "config", "set", "--stack", STACK, "--secret", "sophia-ai:clusterKubeconfig",
                inline_kubeconfig(control_plane),
            )  # fmt: skip
            stack = ClusterStack(project, fake, watcher, kube, control_plane, {})
            yield stack
            if stack.state_ids("pulumi-python:dynamic:Resource") or stack.fake.live_instance_ids():
                # A test stopped halfway: leave nothing running on the fake or the control plane.
                stack.run("destroy", "--yes", "--skip-preview")
            print(f"\nengine timings: {json.dumps({k: round(v, 1) for k, v in stack.timings.items()})}")


@pytest.fixture(scope="module")
def up(stack: ClusterStack) -> Preview:
    result = stack.up()
    assert result.returncode == 0, result.output
    return result


def test_up_launches_the_pool_on_lambda_and_runs_every_mcp_server_on_it(
    stack: ClusterStack, up: Preview
) -> None:
    outputs = stack.outputs()
    plan = outputs["gpuPlan"]
    fake = stack.fake
    # One launch per node through the dynamic-provider host, each instance active, nothing launched twice.
    assert len(fake.launch_ids) == plan["nodes"] == 3, up.output
    assert sorted(fake.live_instance_ids()) == sorted(fake.launch_ids)
    assert fake.names_launched_more_than_once() == []

    nodes = stack.pool_nodes()
    assert sorted(stack.nodes.node_of(i) for i in fake.launch_ids) == sorted(
        n["metadata"]["name"] for n in nodes
    )
    slices_per_node = plan["gpusPerNode"] * plan["replicasPerGpu"]
    for node in nodes:
        conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
        assert conditions["Ready"] == "True"
        assert node["status"]["allocatable"][GPU_RESOURCE] == str(slices_per_node)

    runtime_class = stack.kube.get(f"/apis/node.k8s.io/v1/runtimeclasses/{runtime_class_name(plan['pool'])}")
    config_map = stack.kube.get(
        f"/api/v1/namespaces/{OPERATOR_NAMESPACE}/configmaps/{TIME_SLICING_CONFIG_MAP}"
    )
    assert config_map["metadata"]["labels"][POOL_LABEL] == plan["pool"]
    namespace = stack.kube.get(f"/api/v1/namespaces/{MCP_NAMESPACE}")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    stack.kube.get(f"/api/v1/namespaces/{MCP_NAMESPACE}/secrets/{SNOWFLAKE_SECRET_NAME}")
    stack.kube.get(f"/apis/networking.k8s.io/v1/namespaces/{MCP_NAMESPACE}/ingresses/{INGRESS_NAME}")

    # The provider's Helm installed one release per server (Helm keeps each release as a Secret).
    releases = {
        s["metadata"]["labels"]["name"]
        for s in stack.items(f"/api/v1/namespaces/{MCP_NAMESPACE}/secrets?labelSelector=owner%3Dhelm")
    }
    servers = [server["name"] for server in plan["servers"]]
    assert releases == set(servers)
    for deployment in stack.items(f"/apis/apps/v1/namespaces/{MCP_NAMESPACE}/deployments"):
        status = deployment["status"]
        assert status.get("readyReplicas") == status.get("replicas") == deployment["spec"]["replicas"]

    pods = stack.items(f"/api/v1/namespaces/{MCP_NAMESPACE}/pods")
    pool_node_names = {n["metadata"]["name"] for n in nodes}
    scheduling = runtime_class["scheduling"]
    allocated = 0
    for pod in pods:
        spec = pod["spec"]
        assert pod["status"]["phase"] == "Running", pod["metadata"]["name"]
        assert spec["nodeName"] in pool_node_names
        # Merged in by the RuntimeClass admission plugin from the RuntimeClass's scheduling.
        assert scheduling["nodeSelector"].items() <= spec["nodeSelector"].items()
        for toleration in scheduling["tolerations"]:
            assert toleration in spec["tolerations"]
        allocated += sum(int(c["resources"]["limits"].get(GPU_RESOURCE, 0)) for c in spec["containers"])
    assert len(pods) == sum(server["replicas"] for server in plan["servers"]) == 10
    assert (allocated, len(nodes) * slices_per_node) == (10, 12)


def test_a_second_preview_and_a_refresh_show_no_drift(stack: ClusterStack, up: Preview) -> None:
    preview = stack.run("preview", "--expect-no-changes", *stack.policy_args())
    assert preview.returncode == 0, preview.output
    refresh = stack.run("refresh", "--yes", "--skip-preview", "--expect-no-changes")
    assert refresh.returncode == 0, refresh.output


def test_destroy_terminates_every_instance_and_removes_the_pool_and_its_nodes(
    stack: ClusterStack, up: Preview
) -> None:
    launched = list(stack.fake.launch_ids)
    result = stack.run("destroy", "--yes", "--skip-preview")
    assert result.returncode == 0, result.output
    fake = stack.fake
    assert fake.live_instance_ids() == []
    assert {fake.status_of(i) for i in launched} <= {"terminating", "terminated"}
    # One terminate per instance: none leaked, none asked twice.
    asked = [
        i for r in fake.requests_to("POST", "instance-operations/terminate") for i in r.body["instance_ids"]
    ]
    assert sorted(asked) == sorted(launched)
    assert stack.pool_nodes() == []
    for path in (
        f"/api/v1/namespaces/{OPERATOR_NAMESPACE}/configmaps/{TIME_SLICING_CONFIG_MAP}",
        f"/api/v1/namespaces/{MCP_NAMESPACE}/secrets/{SNOWFLAKE_SECRET_NAME}",
        f"/apis/networking.k8s.io/v1/namespaces/{MCP_NAMESPACE}/ingresses/{INGRESS_NAME}",
    ):
        with pytest.raises(ApiError) as gone:
            stack.kube.get(path)
        assert gone.value.status == 404, path
    assert fake.rulesets == {}
