"""`pulumi up`, `preview`, `refresh` and `destroy` of the cluster half: the real CLI on a real API server.

The program is testkit/harness/cluster_program.py: __main__.py's own wiring (components/wiring.py) of the GPU
pool, the MCP servers, their authenticated edge and the monitoring, with the Snowflake names as plain values,
on a local backend. Its Lambda client talks to the loopback fake (`lambdaApiBaseUrl`), its kubernetes provider
and PoolNode resources to the test control plane (`clusterKubeconfig`, inline as k3s writes it). The instances
become Nodes as their cloud-init would make them (testkit/harness/lambda_nodes.py), and kwok runs the pods the
real scheduler places (no image is pulled). The cluster is taken as one that already runs the GPU Operator
(`clusterGpuOperatorInstalled`: its chart repository is out of reach) and kube-prometheus-stack: the harness
plays the device plugin, the operators' namespaces and the Prometheus Operator's CRDs (from its Go module,
testkit/harness/crds.py) exist before the stack runs, a k3s server Node takes the pods that need no GPU, and
the Ingresses' address is published as ingress-nginx would (testkit/harness/ingress_controller.py).

The tests share one stack and run in file order: up, the Monitoring objects read back whole, no drift, an
image update, a refused resize, a pool shrunk by fewer replicas, destroy, an apply that fails halfway and is
finished by the next up, a preempted instance replaced, and a destroy that refuses a protected instance until
it is unprotected.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.mcp_servers import INGRESS_NAME, SNOWFLAKE_KEY_SECRET_NAME, SNOWFLAKE_SECRET_NAME
from components.monitoring import MONITORING_API, SCRAPE_CONFIG_API
from domain.cloud_init import ADDRESS_CA_FILE, ADDRESS_SOURCE_FILE, ADDRESS_TOKEN_FILE, PUBLIC_IPV4_SCRIPT
from domain.gpu import GPU_RESOURCE
from domain.gpu_pool import OPERATOR_NAMESPACE, POOL_LABEL, TIME_SLICING_CONFIG_MAP, runtime_class_name
from domain.mcp_edge import METADATA_SERVICE_NAME, OAUTH2_PROXY_NAME
from fakes.lambda_cloud_api import FakeLambdaCloud
from harness.control_plane import (
    ApiError,
    ControlPlane,
    KubeClient,
    NodeCapacity,
    create_fake_node,
    delete_node,
    wait_for,
)
from harness.crds import install_crds, monitoring_crd_files
from harness.ingress_controller import PublishedIngresses
from harness.lambda_nodes import InstanceNodes
from harness.real_engine import (
    CLUSTER_PROGRAM,
    PROJECT_DIR,
    STACK,
    EngineProject,
    Preview,
    Toolchain,
    Verdict,
    esc_test_values,
    offline_verdict,
    toolchain_or_skip,
)

LAMBDA_API_KEY = esc_test_values()["sophia-ai:lambdaApiKey"]
MCP_NAMESPACE = "mcp"
# Where kube-prometheus-stack runs and the Monitoring objects go: the project's default.
MONITORING_NAMESPACE = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"][
    "monitoringNamespace"
]["default"]
# A real boot takes minutes; on the fake's clock 180 s become 1.8 s.
FAKE_TIME_SCALE = 0.01
UP_TIMEOUT_S = 900
LAMBDA_INSTANCE = "pulumi-python:dynamic/lambdacloud:Instance"
MONITORING_TYPE_PREFIX = "kubernetes:monitoring.coreos.com/"
# The kinds components/monitoring.py creates, and where the API serves them.
MONITORING_COLLECTIONS = {
    "ServiceMonitor": (MONITORING_API, "servicemonitors"),
    "PodMonitor": (MONITORING_API, "podmonitors"),
    "PrometheusRule": (MONITORING_API, "prometheusrules"),
    "ScrapeConfig": (SCRAPE_CONFIG_API, "scrapeconfigs"),
}
METRICS_PORT = 9464
SERVER_NODE = "k3s-server"
# The roles k3s labels its server Node with (k3s pkg/nodeconfig; docs.k3s.io/architecture).
SERVER_NODE_LABELS = {
    "node-role.kubernetes.io/control-plane": "true",
    "node-role.kubernetes.io/master": "true",
}
# The chart labels every MCP server's pods so (charts/sophia-mcp/templates/_helpers.tpl); the edge's pods
# share the namespace.
MCP_PODS = f"/api/v1/namespaces/{MCP_NAMESPACE}/pods?labelSelector=app.kubernetes.io%2Fcomponent%3Dmcp-server"


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

    def state_resources(self) -> list[dict[str, Any]]:
        result = self.project.pulumi("stack", "export", "--stack", STACK)
        resources: list[dict[str, Any]] = json.loads(result.stdout)["deployment"].get("resources") or []
        return resources

    def state_ids(self, type_token: str) -> list[str]:
        return [str(r["id"]) for r in self.state_resources() if r.get("type") == type_token and r.get("id")]

    def items(self, path: str) -> list[dict[str, Any]]:
        listed: dict[str, Any] = self.kube.get(path)
        return list(listed.get("items") or [])

    def edit_servers(self, edit: Callable[[list[dict[str, Any]]], None]) -> None:
        """Change the stack file's `mcpServers` list in place (a reviewed config change)."""
        path = self.project.dir / f"Pulumi.{STACK}.yaml"
        stack_file = yaml.safe_load(path.read_text())
        edit(stack_file["config"]["sophia-ai:mcpServers"])
        path.write_text(yaml.safe_dump(stack_file, sort_keys=False))

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
    # What a cluster that already runs the GPU Operator and kube-prometheus-stack has: their namespaces and
    # the Prometheus Operator's CRDs.
    install_crds(kube, monitoring_crd_files())
    for namespace in (OPERATOR_NAMESPACE, MONITORING_NAMESPACE):
        kube.create_unless_exists("/api/v1/namespaces", {"metadata": {"name": namespace}})
    # The k3s server the agents join: untainted, so the edge's CPU pods (oauth2-proxy, the metadata nginx)
    # run there as on the real cluster, while the MCP servers go to the GPU pool.
    create_fake_node(
        kube, SERVER_NODE, SERVER_NODE_LABELS, taints=[], capacity=NodeCapacity(cpu="8", memory="32Gi")
    )
    with FakeLambdaCloud(LAMBDA_API_KEY, time_scale=FAKE_TIME_SCALE) as fake:
        watcher = InstanceNodes(fake, kube)
        with watcher.running(), PublishedIngresses(kube).running():
            root = tmp_path_factory.mktemp("cluster-up")
            project = EngineProject(toolchain, root, main=CLUSTER_PROGRAM)
            project.init_stack(
                {
                    "sophia-ai:clusterGpuOperatorInstalled": True,
                    "sophia-ai:lambdaApiBaseUrl": fake.base_url,
                }
            )
            project.pulumi(
                "config", "set", "--stack", STACK, "--secret", "sophia-ai:lambdaApiKey", LAMBDA_API_KEY
            )
            project.pulumi(
                "config", "set", "--stack", STACK, "--secret", "sophia-ai:clusterKubeconfig",
                inline_kubeconfig(control_plane),
            )  # fmt: skip
            stack = ClusterStack(project, fake, watcher, kube, control_plane, {})
            # One server serves metrics on a port of its own, so the stack has a PodMonitor too.
            stack.edit_servers(lambda servers: servers[0].update(metricsPort=METRICS_PORT))
            yield stack
            if stack.state_ids(LAMBDA_INSTANCE) or stack.fake.live_instance_ids():
                # Leave nothing running on the fake or the control plane, even after a failed test.
                stack.project.pulumi("state", "unprotect", "--all", "--yes", "--stack", STACK, check=False)
                stack.run("destroy", "--yes", "--skip-preview")
            print(f"\nengine timings: {json.dumps({k: round(v, 1) for k, v in stack.timings.items()})}")
    delete_node(kube, SERVER_NODE)


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
    assert sorted(str(stack.nodes.node_of(i)) for i in fake.launch_ids) == sorted(
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
    stack.kube.get(f"/api/v1/namespaces/{MCP_NAMESPACE}/secrets/{SNOWFLAKE_KEY_SECRET_NAME}")
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

    pods = stack.items(MCP_PODS)
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

    # The edge runs beside the servers, on the k3s server (its pods ask for no GPU and tolerate no taint).
    for name in (OAUTH2_PROXY_NAME, METADATA_SERVICE_NAME):
        edge_pods = stack.items(
            f"/api/v1/namespaces/{MCP_NAMESPACE}/pods?labelSelector=app.kubernetes.io%2Fname%3D{name}"
        )
        assert edge_pods and all(p["status"]["phase"] == "Running" for p in edge_pods), name
        assert {p["spec"]["nodeName"] for p in edge_pods} == {SERVER_NODE}, name


def _boot_script_address(tmp_path: Path, source: dict[str, Any], interface_address: str) -> Any:
    """Run the node's boot script with `source` as its settings and `interface_address` on its interface."""
    script = tmp_path / "sophia-public-ipv4"
    script.write_text(PUBLIC_IPV4_SCRIPT)
    fake_ip = tmp_path / "bin" / "ip"
    fake_ip.parent.mkdir(exist_ok=True)
    fake_ip.write_text(f"#!/bin/sh\necho '2: eth0    inet {interface_address}/24 scope global eth0'\n")
    fake_ip.chmod(0o755)
    settings = tmp_path / "address-source.json"
    settings.write_text(json.dumps(source))
    return subprocess.run(
        [sys.executable, str(script), str(settings)],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{fake_ip.parent}:{os.environ['PATH']}"},
        timeout=120,
        check=False,
    )


def test_a_node_behind_nat_reads_the_address_lambda_reported_with_a_token_for_that_alone(
    stack: ClusterStack, up: Preview, tmp_path: Path
) -> None:
    """The real controller mints the reader's token, RBAC lets it read the address ConfigMap and nothing
    else, and the boot script, finding only the private address on its interface, gets the public one."""
    (instance,) = [r for r in stack.state_resources() if r.get("type") == LAMBDA_INSTANCE][:1]
    reported = instance["outputs"]
    user_data = stack.fake.instances[str(instance["id"])].user_data or ""
    files = {entry["path"]: entry["content"] for entry in yaml.safe_load(user_data)["write_files"]}
    source = json.loads(files[ADDRESS_SOURCE_FILE])
    (tmp_path / "token").write_text(files[ADDRESS_TOKEN_FILE])
    (tmp_path / "ca.crt").write_text(files[ADDRESS_CA_FILE])
    # The node reaches the API server at the k3s server's public address; here, the loopback control plane.
    path = urllib.parse.urlsplit(source["url"]).path
    local = {
        **source,
        "url": stack.plane.server + path,
        "token_file": str(tmp_path / "token"),
        "ca_file": str(tmp_path / "ca.crt"),
        "wait_s": 60,
        "poll_s": 1,
    }
    result = _boot_script_address(tmp_path, local, reported["private_ip"])
    assert (result.returncode, result.stdout) == (0, reported["ip"] + "\n"), result.stderr

    # The same token reads no other object, not even another ConfigMap in the namespace.
    elsewhere = {
        **local,
        "url": stack.plane.server + "/api/v1/namespaces/kube-system/configmaps/kube-root-ca.crt",
    }
    refused = _boot_script_address(tmp_path, {**elsewhere, "wait_s": 2}, reported["private_ip"])
    assert refused.returncode == 1 and "it answered HTTP 403" in refused.stderr, refused.stderr


def _dropped(sent: Any, stored: Any, path: str) -> list[str]:
    """Where `stored` lacks or changed what `sent` holds (the API server may add defaults, never drop)."""
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            return [path]
        return [p for key, value in sent.items() for p in _dropped(value, stored.get(key), f"{path}.{key}")]
    if isinstance(sent, list):
        if not isinstance(stored, list) or len(stored) != len(sent):
            return [path]
        return [
            p
            for i, (a, b) in enumerate(zip(sent, stored, strict=True))
            for p in _dropped(a, b, f"{path}[{i}]")
        ]
    return [] if sent == stored else [path]


def test_the_monitoring_objects_are_stored_whole_under_the_operators_schemas(
    stack: ClusterStack, up: Preview
) -> None:
    # A structural CRD schema prunes fields it does not know without an error: read every Monitoring object
    # back and compare it with what the program sent.
    sent = [r for r in stack.state_resources() if str(r.get("type", "")).startswith(MONITORING_TYPE_PREFIX)]
    kinds = {r["inputs"]["kind"] for r in sent}
    assert kinds == set(MONITORING_COLLECTIONS), kinds
    for resource in sent:
        inputs = resource["inputs"]
        kind, metadata = inputs["kind"], inputs["metadata"]
        api_version, plural = MONITORING_COLLECTIONS[kind]
        assert inputs["apiVersion"] == api_version, kind
        stored = stack.kube.get(
            f"/apis/{api_version}/namespaces/{metadata['namespace']}/{plural}/{metadata['name']}"
        )
        assert _dropped(inputs["spec"], stored["spec"], "spec") == [], (kind, metadata["name"])
    dashboards = stack.items(
        f"/api/v1/namespaces/{MONITORING_NAMESPACE}/configmaps?labelSelector=grafana_dashboard%3D1"
    )
    assert len(dashboards) == 1


def test_a_second_preview_and_a_refresh_show_no_drift(stack: ClusterStack, up: Preview) -> None:
    preview = stack.run("preview", "--expect-no-changes", *stack.policy_args())
    assert preview.returncode == 0, preview.output
    refresh = stack.run("refresh", "--yes", "--skip-preview", "--expect-no-changes")
    assert refresh.returncode == 0, refresh.output


def _images(stack: ClusterStack) -> dict[str, str]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in stack.items(f"/apis/apps/v1/namespaces/{MCP_NAMESPACE}/deployments")
    }


def test_one_image_tag_change_updates_only_its_release(stack: ClusterStack, up: Preview) -> None:
    before = _images(stack)

    def bump(servers: list[dict[str, Any]]) -> None:
        servers[0]["tag"] = "9.9.9"

    stack.edit_servers(bump)
    result = stack.up()
    assert result.returncode == 0, result.output
    assert "~ 1 updated" in result.output, result.output
    assert "kubernetes:helm.sh/v3:Release mcp-ai-memory updated" in result.output, result.output
    after = _images(stack)
    changed = {name for name in after if after[name] != before.get(name)}
    assert len(changed) == 1 and after[changed.pop()].endswith(":9.9.9"), (before, after)


def test_more_replicas_than_the_pool_holds_are_refused_before_anything_is_applied(
    stack: ClusterStack, up: Preview
) -> None:
    """Refused by the offline gate, the real `pulumi preview --policy-pack` and `pulumi up` alike.

    All three stop at the program's plan (domain/gpu_pool.py, the function the gpu-capacity policy applies
    to registered resources too), so no resource is registered, let alone applied.
    """
    launches, images = list(stack.fake.launch_ids), _images(stack)
    path = stack.project.dir / f"Pulumi.{STACK}.yaml"
    committed = path.read_text()
    stack_file = yaml.safe_load(committed)
    # A fixed pool of 3 single-GPU nodes (12 slices) and 13 replicas.
    stack_file["config"]["sophia-ai:gpuPoolNodeCount"] = "3"
    stack_file["config"]["sophia-ai:mcpServers"][0]["replicas"] = 5
    path.write_text(yaml.safe_dump(stack_file, sort_keys=False))
    try:
        gate = offline_verdict(stack.project)
        preview = stack.run("preview", *stack.policy_args())
        result = stack.up()
    finally:
        path.write_text(committed)
    assert gate == Verdict("config")
    for refused in (preview, result):
        assert refused.returncode != 0, refused.output
        assert "13" in refused.output and "12" in refused.output, refused.output
    print("refused:", "\n".join(line for line in result.output.splitlines() if "13" in line))
    assert stack.fake.launch_ids == launches
    assert _images(stack) == images
    assert len(stack.items(MCP_PODS)) == 10


def _terminations(stack: ClusterStack) -> list[str]:
    """Every instance id the stack has asked the fake to terminate, in order."""
    requests = stack.fake.requests_to("POST", "instance-operations/terminate")
    return [instance_id for request in requests for instance_id in request.body["instance_ids"]]


def test_fewer_replicas_shrink_the_pool_draining_the_node_that_goes(stack: ClusterStack, up: Preview) -> None:
    """6 replicas need 8 slices with the headroom: `auto` sizes the pool to 2 nodes, so one instance goes.

    Its PoolNode drains it first through the Eviction API (the two-replica server's PodDisruptionBudget
    allows one pod away at a time), then the instance is terminated and its Node deleted.
    """
    path = stack.project.dir / f"Pulumi.{STACK}.yaml"
    committed = path.read_text()
    before = {i: stack.nodes.node_of(i) for i in stack.state_ids(LAMBDA_INSTANCE)}
    asked_before = len(_terminations(stack))

    def shrink(servers: list[dict[str, Any]]) -> None:
        for server in servers[1:]:
            server["replicas"] = 1

    stack.edit_servers(shrink)
    try:
        result = stack.up()
        plan = stack.outputs()["gpuPlan"]
    finally:
        path.write_text(committed)
    assert result.returncode == 0, result.output
    assert plan["nodes"] == 2, plan
    remaining = stack.state_ids(LAMBDA_INSTANCE)
    (gone,) = set(before) - set(remaining)
    assert _terminations(stack)[asked_before:] == [gone]
    assert sorted(stack.fake.live_instance_ids()) == sorted(remaining)
    names = {n["metadata"]["name"] for n in stack.pool_nodes()}
    assert names == {before[i] for i in remaining} and before[gone] not in names

    def settled() -> list[dict[str, Any]] | None:
        # The scaled-down releases' pods are deleted asynchronously; wait for the 6 that stay.
        pods = stack.items(MCP_PODS)
        running = [
            p for p in pods if p["status"].get("phase") == "Running" and p["spec"].get("nodeName") in names
        ]
        return pods if len(running) == len(pods) == 6 else None

    wait_for("6 MCP pods Running on the 2 remaining nodes", settled, timeout=60)


def test_destroy_terminates_every_instance_and_removes_the_pool_and_its_nodes(
    stack: ClusterStack, up: Preview
) -> None:
    launched = [i for i in stack.fake.launch_ids if stack.fake.status_of(i) == "active"]
    asked_before = len(_terminations(stack))
    result = stack.run("destroy", "--yes", "--skip-preview")
    assert result.returncode == 0, result.output
    fake = stack.fake
    assert fake.live_instance_ids() == []
    assert {fake.status_of(i) for i in launched} <= {"terminating", "terminated"}
    # One terminate per instance: none leaked, none asked twice.
    assert sorted(_terminations(stack)[asked_before:]) == sorted(launched)
    assert stack.pool_nodes() == []
    for path in (
        f"/api/v1/namespaces/{OPERATOR_NAMESPACE}/configmaps/{TIME_SLICING_CONFIG_MAP}",
        f"/api/v1/namespaces/{MCP_NAMESPACE}/secrets/{SNOWFLAKE_SECRET_NAME}",
        f"/api/v1/namespaces/{MCP_NAMESPACE}/secrets/{SNOWFLAKE_KEY_SECRET_NAME}",
        f"/apis/networking.k8s.io/v1/namespaces/{MCP_NAMESPACE}/ingresses/{INGRESS_NAME}",
    ):
        with pytest.raises(ApiError) as gone:
            stack.kube.get(path)
        assert gone.value.status == 404, path
    for kind, (api_version, plural) in MONITORING_COLLECTIONS.items():
        assert stack.items(f"/apis/{api_version}/namespaces/{MONITORING_NAMESPACE}/{plural}") == [], kind
    assert fake.rulesets == {}


def test_an_apply_that_fails_halfway_names_the_node_and_the_next_up_finishes(stack: ClusterStack) -> None:
    fake = stack.fake
    instance_type = stack.outputs().get("gpuPlan", {}).get("instanceType") or "gpu_1x_a10"
    launched_before = len(fake.launch_ids)
    refused = threading.Event()

    def refuse_the_third_launch() -> None:
        # Bounded: a launch every ~12 s, so the second comes well inside the limit.
        for _ in range(1200):
            if len(fake.launch_ids) >= launched_before + 2:
                fake.set_capacity(instance_type, [])
                refused.set()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=refuse_the_third_launch, daemon=True)
    watcher.start()
    try:
        failed = stack.up()
    finally:
        watcher.join(timeout=90)
        fake.set_capacity(instance_type, ["us-east-1", "us-west-1", "us-south-1", "europe-central-1"])
    assert refused.is_set()
    assert failed.returncode != 0, failed.output
    assert "gpu-pool-node-2" in failed.output and "capacity" in failed.output.lower(), failed.output
    # Nothing leaked: every instance still billed is one the state owns.
    assert fake.leaked_instance_ids(stack.state_ids(LAMBDA_INSTANCE)) == []
    assert len(fake.live_instance_ids()) == 2

    finished = stack.up()
    assert finished.returncode == 0, finished.output
    assert len(fake.live_instance_ids()) == 3
    assert fake.leaked_instance_ids(stack.state_ids(LAMBDA_INSTANCE)) == []
    assert fake.names_launched_more_than_once() == []
    names = {n["metadata"]["name"] for n in stack.pool_nodes()}
    pods = stack.items(MCP_PODS)
    assert (
        len([p for p in pods if p["status"].get("phase") == "Running" and p["spec"]["nodeName"] in names])
        == 10
    )


def test_a_preempted_instance_is_replaced_by_refresh_and_up_and_its_node_goes(
    stack: ClusterStack, up: Preview
) -> None:
    victim = stack.state_ids(LAMBDA_INSTANCE)
    victim_id = next(i for i in stack.fake.launch_ids if i in victim and stack.fake.status_of(i) == "active")
    old_node = stack.nodes.node_of(victim_id)
    stack.fake.preempt(victim_id)
    refresh = stack.run("refresh", "--yes", "--skip-preview")
    assert refresh.returncode == 0, refresh.output
    result = stack.up()
    assert result.returncode == 0, result.output
    fake = stack.fake
    assert len(fake.live_instance_ids()) == 3
    assert victim_id not in fake.live_instance_ids()
    names = {n["metadata"]["name"] for n in stack.pool_nodes()}
    assert old_node not in names and len(names) == 3
    pods = stack.items(MCP_PODS)
    running = [
        p for p in pods if p["status"].get("phase") == "Running" and p["spec"].get("nodeName") in names
    ]
    assert len(running) == 10, [(p["metadata"]["name"], p["spec"].get("nodeName")) for p in pods]


def test_destroy_refuses_a_protected_instance_and_once_unprotected_leaves_nothing(
    stack: ClusterStack, up: Preview
) -> None:
    """After the preemption above: the preempted instance let go of the firewall ruleset when it ended."""
    fake = stack.fake
    instances = [r for r in stack.state_resources() if r.get("type") == LAMBDA_INSTANCE]
    assert len(instances) == 3
    protected = instances[0]
    stack.project.pulumi("state", "protect", "--yes", "--stack", STACK, protected["urn"])

    refused = stack.run("destroy", "--yes", "--skip-preview")
    assert refused.returncode != 0, refused.output
    # Pulumi's own refusal (pkg/resource/deploy/step.go deleteProtectedError), naming the resource.
    assert "cannot be deleted" in refused.output and "because it is protected" in refused.output
    assert protected["urn"] in refused.output.replace("\n", ""), refused.output
    assert fake.status_of(str(protected["id"])) == "active"
    assert str(protected["id"]) in stack.state_ids(LAMBDA_INSTANCE)
    assert fake.leaked_instance_ids(stack.state_ids(LAMBDA_INSTANCE)) == []

    stack.project.pulumi("state", "unprotect", "--yes", "--stack", STACK, protected["urn"])
    finished = stack.run("destroy", "--yes", "--skip-preview")
    assert finished.returncode == 0, finished.output
    assert fake.live_instance_ids() == [] and stack.state_ids(LAMBDA_INSTANCE) == []
    assert fake.rulesets == {}
    assert stack.pool_nodes() == []
    # Over the whole module: every instance asked to terminate once at most, and none left running.
    asked = _terminations(stack)
    assert len(asked) == len(set(asked)), asked
    assert all(fake.status_of(i) in {"terminating", "terminated", "preempted"} for i in fake.launch_ids)
