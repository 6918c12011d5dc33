"""Children the Kubernetes provider renders (Helm v4 charts, yaml/v2 ConfigFile and ConfigGroup, kustomize/v2
Directory) reach the pack as a real preview registers them, or the gate refuses the component naming it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import pytest
import yaml

from harness import helm_tool
from harness.paths import PROJECT_DIR
from offline import render
from offline.engine import record
from offline.plan import UNKNOWN, Plan, ResourcePlan, Secret
from offline.policy_gate import PolicyPackSession
from offline.render import render_children
from offline.stack_files import StackSettings
from offline.verdicts import UNRENDERED_POLICY
from tests.policies.plans import (
    MCP_LABELS,
    PROJECT,
    STACK,
    gpu_pool,
    mcp_pod_spec,
    mcp_values,
    of_policy,
    resource,
)

REPO_ROOT = PROJECT_DIR
GPU_POLICY = "mcp-servers-require-gpu"


def mcp_deployment_yaml(name: str, pod_spec: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "mcp"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name, **MCP_LABELS}}, "spec": pod_spec},
            },
        }
    )


GPU_LESS = mcp_pod_spec(
    containers=[{"name": "mcp-server", "image": "ghcr.io/sophia-ai/mcp-linear:2.0.1", "resources": {}}]
)


def recorded(build: Callable[[pulumi.ResourceOptions], object]) -> Plan:
    """Run `build` as the program, with an explicit Kubernetes provider, and add a GPU pool for capacity."""

    def program() -> None:
        provider = kubernetes.Provider("cluster", kubeconfig=pulumi.Output.secret("kubeconfig"))
        build(pulumi.ResourceOptions(provider=provider))

    plan = record(program, StackSettings(PROJECT, STACK, {}, [], project_dir=REPO_ROOT))
    plan.resources += gpu_pool()
    return plan


def child(plan: Plan, resource_type: str) -> ResourcePlan:
    [found] = [resource for resource in plan.resources if resource.type == resource_type and resource.parent]
    return found


def gpu_refusals(pack: PolicyPackSession, plan: Plan) -> list[str]:
    """The resources mcp-servers-require-gpu refuses."""
    result = pack.evaluate(plan, None)
    return sorted({v.urn for v in of_policy(result, GPU_POLICY) if v.level == "mandatory"})


def test_a_gpu_less_mcp_deployment_inside_a_config_group_is_refused_by_name(pack: PolicyPackSession) -> None:
    plan = recorded(
        lambda opts: kubernetes.yaml.v2.ConfigGroup(
            "extras", yaml=mcp_deployment_yaml("rogue", GPU_LESS), opts=opts
        )
    )
    deployment = child(plan, "kubernetes:apps/v1:Deployment")
    group = next(resource for resource in plan.resources if resource.type == "kubernetes:yaml/v2:ConfigGroup")
    assert deployment.name == "extras:mcp/rogue"
    assert deployment.parent == group.urn
    assert deployment.provider == group.provider and deployment.provider
    assert gpu_refusals(pack, plan) == [deployment.urn]


def test_a_gpu_less_mcp_deployment_in_a_config_file_is_refused(
    pack: PolicyPackSession, tmp_path: Path
) -> None:
    manifest = tmp_path / "rogue.yaml"
    manifest.write_text(mcp_deployment_yaml("rogue", GPU_LESS))
    plan = recorded(lambda opts: kubernetes.yaml.v2.ConfigFile("rogue-file", file=str(manifest), opts=opts))
    deployment = child(plan, "kubernetes:apps/v1:Deployment")
    assert deployment.name == "rogue-file:mcp/rogue"
    assert gpu_refusals(pack, plan) == [deployment.urn]


@pytest.fixture(scope="module")
def helm() -> str:
    # The renderer finds the pinned helm where this installs it (.tools/bin) when none is on PATH.
    return helm_tool.helm_binary()


def test_a_helm_v4_chart_of_sophia_mcp_off_the_gpu_pool_is_refused_naming_its_deployment(
    pack: PolicyPackSession, helm: str
) -> None:
    # The chart's own defaults: a GPU limit, but no toleration and no pool selector, so never a GPU.
    plan = recorded(
        lambda opts: kubernetes.helm.v4.Chart(
            "linear", chart="charts/sophia-mcp", namespace="mcp", values={"nodeSelector": {}}, opts=opts
        )
    )
    deployment = child(plan, "kubernetes:apps/v1:Deployment")
    assert deployment.name == "linear:mcp/linear-sophia-mcp"
    kinds = {resource.type for resource in plan.resources if resource.parent == deployment.parent}
    assert "kubernetes:core/v1:Service" in kinds
    assert gpu_refusals(pack, plan) == [deployment.urn]


def test_a_chart_the_schema_refuses_is_refused_naming_the_chart(pack: PolicyPackSession, helm: str) -> None:
    # null removes the chart's default GPU limit (helm deletes a key set to null); the chart's schema refuses.
    values = {"resources": {"limits": {"memory": "1Gi", "nvidia.com/gpu": None}}}
    plan = recorded(
        lambda opts: kubernetes.helm.v4.Chart(
            "ai-memory", chart="charts/sophia-mcp", namespace="mcp", values=values, opts=opts
        )
    )
    result = pack.evaluate(plan, None)
    [refusal] = of_policy(result, UNRENDERED_POLICY)
    assert refusal.level == "mandatory"
    assert refusal.urn.endswith("kubernetes:helm.sh/v4:Chart::ai-memory")
    assert "kubernetes:helm.sh/v4:Chart ai-memory" in refusal.message
    assert "nvidia.com/gpu" in refusal.message


def test_a_remote_chart_is_refused_without_reaching_the_network(pack: PolicyPackSession) -> None:
    plan = recorded(
        lambda opts: kubernetes.helm.v4.Chart(
            "metrics",
            chart="metrics-server",
            repository_opts=kubernetes.helm.v4.RepositoryOptsArgs(repo="https://charts.example.com"),
            opts=opts,
        )
    )
    [refusal] = of_policy(pack.evaluate(plan, None), UNRENDERED_POLICY)
    assert "https://charts.example.com" in refusal.message
    assert "vendor the chart" in refusal.message


def test_kustomize_without_a_kustomize_binary_is_refused(
    pack: PolicyPackSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "kustomize_binary", lambda: None)
    plan = recorded(
        lambda opts: kubernetes.kustomize.v2.Directory("overlay", directory="deploy/overlay", opts=opts)
    )
    [refusal] = of_policy(pack.evaluate(plan, None), UNRENDERED_POLICY)
    assert refusal.level == "mandatory"
    assert "kubernetes:kustomize/v2:Directory overlay" in refusal.message
    assert "no kustomize binary" in refusal.message and "install-kustomize.sh" in refusal.message


@pytest.fixture(scope="module")
def kustomize() -> str:
    installed = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "install-kustomize.sh")],
        capture_output=True, text=True, check=False, timeout=1200,
    )  # fmt: skip
    if installed.returncode != 0 and "Go is missing" in installed.stderr:
        pytest.skip("neither kustomize nor Go to build it is installed here")
    assert installed.returncode == 0, installed.stderr
    return installed.stdout.strip().splitlines()[-1]


def test_a_gpu_less_mcp_deployment_in_a_kustomize_directory_is_refused(
    pack: PolicyPackSession, kustomize: str, tmp_path: Path
) -> None:
    (tmp_path / "rogue.yaml").write_text(mcp_deployment_yaml("rogue", GPU_LESS))
    (tmp_path / "kustomization.yaml").write_text("resources:\n- rogue.yaml\nnamePrefix: team-\n")
    plan = recorded(
        lambda opts: kubernetes.kustomize.v2.Directory("overlay", directory=str(tmp_path), opts=opts)
    )
    assert not plan.unrendered
    deployment = child(plan, "kubernetes:apps/v1:Deployment")
    assert deployment.name == "overlay:mcp/team-rogue"
    assert gpu_refusals(pack, plan) == [deployment.urn]


def test_gpu_workloads_on_the_pool_in_a_config_group_and_a_chart_pass(
    pack: PolicyPackSession, helm: str
) -> None:
    values = mcp_values(image={"repository": "ghcr.io/sophia-ai/mcp-linear", "tag": "2.0.1"})

    def build(opts: pulumi.ResourceOptions) -> None:
        kubernetes.yaml.v2.ConfigGroup("extras", yaml=mcp_deployment_yaml("gong", mcp_pod_spec()), opts=opts)
        kubernetes.helm.v4.Chart(
            "linear", chart="charts/sophia-mcp", namespace="mcp", values=values, opts=opts
        )

    plan = recorded(build)
    assert len([r for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment"]) == 2
    result = pack.evaluate(plan, None)
    assert result.mandatory_count == 0, [v.message for v in result.violations]
    assert not plan.unrendered


# The SDK's own rendering components call the provider's invokes and register the children in the program.


def test_a_gpu_less_mcp_deployment_in_a_v1_config_group_is_refused(pack: PolicyPackSession) -> None:
    plan = recorded(
        lambda opts: kubernetes.yaml.ConfigGroup(
            "legacy", yaml=[mcp_deployment_yaml("rogue", GPU_LESS)], opts=opts
        )
    )
    deployment = child(plan, "kubernetes:apps/v1:Deployment")
    assert deployment.inputs["metadata"]["name"] == "rogue"
    assert gpu_refusals(pack, plan) == [deployment.urn]


def test_a_helm_v3_chart_off_the_gpu_pool_is_refused_naming_its_deployment(
    pack: PolicyPackSession, helm: str
) -> None:
    chart = kubernetes.helm.v3.LocalChartOpts(
        path="charts/sophia-mcp", namespace="mcp", values={"nodeSelector": {}}
    )
    plan = recorded(lambda opts: kubernetes.helm.v3.Chart("linear", chart, opts=opts))
    deployment = child(plan, "kubernetes:apps/v1:Deployment")
    assert deployment.inputs["metadata"] == {**deployment.inputs["metadata"], "name": "linear-sophia-mcp"}
    assert deployment.inputs["metadata"]["namespace"] == "mcp"
    assert gpu_refusals(pack, plan) == [deployment.urn]


def test_a_helm_v3_chart_from_a_repository_is_refused_naming_it(pack: PolicyPackSession) -> None:
    chart = kubernetes.helm.v3.ChartOpts(
        chart="metrics-server", fetch_opts=kubernetes.helm.v3.FetchOpts(repo="https://charts.example.com")
    )
    plan = recorded(lambda opts: kubernetes.helm.v3.Chart("metrics", chart, opts=opts))
    [refusal] = of_policy(pack.evaluate(plan, None), UNRENDERED_POLICY)
    assert refusal.level == "mandatory"
    assert "kubernetes:helm.sh/v3:Chart metrics" in refusal.message
    assert "https://charts.example.com" in refusal.message


# The provider's naming and normalisation, without the pack.


def component(resource_type: str, name: str, inputs: dict[str, Any], **options: Any) -> ResourcePlan:
    return resource(resource_type, name, inputs, custom=False, **options)


def mock_urn(parent: str, resource_type: str, name: str) -> str:
    parent_type = parent.split("::")[2].split("$")[-1]
    return f"urn:pulumi:{STACK}::{PROJECT}::{parent_type}${resource_type}::{name}"


MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: tools}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {a: b}}
- {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: reader}}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: tools}
stringData: {token: abc}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crontabs.stable.example.com}
spec: {group: stable.example.com, scope: Namespaced, names: {kind: CronTab, plural: crontabs}, versions: []}
---
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: nightly}
---
apiVersion: other.example.com/v1
kind: Widget
metadata: {name: w}
"""


def test_children_are_named_typed_and_namespaced_as_the_provider_registers_them() -> None:
    provider = resource("pulumi:providers:kubernetes", "cluster", {"namespace": "tools"})
    group = component(
        "kubernetes:yaml/v2:ConfigGroup", "extras", {"yaml": MANIFESTS}, provider=provider.urn, protect=True
    )
    rendering = render_children([provider, group], REPO_ROOT, mock_urn)
    assert rendering.unrendered == []
    by_name = {resource.name: resource for resource in rendering.children}
    assert {name: resource.type for name, resource in by_name.items()} == {
        "extras:tools": "kubernetes:core/v1:Namespace",
        "extras:tools/settings": "kubernetes:core/v1:ConfigMap",
        "extras:reader": "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "extras:tools/token": "kubernetes:core/v1:Secret",
        "extras:crontabs.stable.example.com": "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
        "extras:tools/nightly": "kubernetes:stable.example.com/v1:CronTab",
        # No CRD and no cluster to ask: the provider leaves the namespace unset.
        "extras:w": "kubernetes:other.example.com/v1:Widget",
    }
    settings = by_name["extras:tools/settings"]
    assert settings.urn == (
        f"urn:pulumi:{STACK}::{PROJECT}::kubernetes:yaml/v2:ConfigGroup$kubernetes:core/v1:ConfigMap::"
        "extras:tools/settings"
    )
    assert (settings.parent, settings.provider, settings.protect) == (group.urn, provider.urn, True)
    assert settings.dependencies == [by_name["extras:tools"].urn]
    assert by_name["extras:tools/nightly"].dependencies == [
        by_name["extras:tools"].urn,
        by_name["extras:crontabs.stable.example.com"].urn,
    ]
    assert by_name["extras:tools/token"].inputs["stringData"] == Secret({"token": "abc"})


def test_the_prefix_defaults_to_the_component_name_and_an_empty_one_means_none(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n")
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n")
    named = component("kubernetes:yaml/v2:ConfigGroup", "g", {"files": ["*.yaml"]})
    bare = component(
        "kubernetes:yaml/v2:ConfigFile", "f", {"file": "a.yaml", "resourcePrefix": "", "skipAwait": True}
    )
    rendering = render_children([named, bare], tmp_path, mock_urn)
    names = [resource.name for resource in rendering.children]
    assert names == ["g:default/one", "g:default/two", "default/one"]
    annotations = [resource.inputs["metadata"].get("annotations") for resource in rendering.children]
    assert annotations == [None, None, {"pulumi.com/skipAwait": "true"}]


def test_a_component_with_an_unknown_input_or_a_remote_file_is_unrendered() -> None:
    unknown = component("kubernetes:yaml/v2:ConfigGroup", "later", {"yaml": UNKNOWN})
    remote = component("kubernetes:yaml/v2:ConfigFile", "far", {"file": "https://example.com/x.yaml"})
    rendering = render_children([unknown, remote], REPO_ROOT, mock_urn)
    assert rendering.children == []
    reasons = {item.name: item.reason for item in rendering.unrendered}
    assert "yaml is not known during preview" in reasons["later"]
    assert "over the network" in reasons["far"]


def test_values_given_as_secrets_stay_secret_in_the_children(helm: str) -> None:
    values = mcp_values(secretName=Secret("very-private-secret-name"))
    chart = component(
        "kubernetes:helm.sh/v4:Chart", "ai-memory", {"chart": "charts/sophia-mcp", "values": values}
    )
    rendering = render_children([chart], REPO_ROOT, mock_urn)
    assert rendering.unrendered == []
    deployment = next(r for r in rendering.children if r.type == "kubernetes:apps/v1:Deployment")
    assert isinstance(deployment.inputs["spec"], Secret)
    assert deployment.inputs["metadata"]["name"] == "ai-memory-sophia-mcp"
