"""`pulumi preview --policy-pack policies` under the real Pulumi CLI, local backend, no cloud reachable.

Built by `make toolchain`: the CLI (pkg/v3), the Python language host, the kubernetes provider, the sdk's
dynamic-provider host, and in place of the Snowflake and command plugins the proxy cannot serve,
terraform-provider-snowflake v1.2.3 bridged by pulumi-terraform-bridge and a command:local:Command stand-in,
loaded as project plugins (testkit/toolchain/build.py). So:

* the whole production program, and the staging stack, are previewed through every real Check (Snowflake's
  with its own validators and schema) and the real policy pack, and must pass on the committed config;
* the cluster half of the program (testkit/harness/cluster_program.py: the GPU pool with its Lambda dynamic
  resources, the GPU Operator release and the MCP servers' Helm releases) is previewed whole too, and must
  pass on the production config and fail on edits the pack refuses, with the same verdict as the offline gate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.real_engine import (
    CLOSED_LOOPBACK,
    CLUSTER_PROGRAM,
    OPERATOR_INSTALLED,
    EngineProject,
    Toolchain,
    project_plugin_or_skip,
    toolchain_or_skip,
)


@pytest.fixture(scope="module")
def toolchain() -> Toolchain:
    return toolchain_or_skip()


@pytest.fixture(scope="module")
def cluster_project(
    toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineProject]:
    project = EngineProject(toolchain, tmp_path_factory.mktemp("cluster"), main=CLUSTER_PROGRAM)
    project.init_stack(OPERATOR_INSTALLED)
    yield project


# One resource of each Snowflake kind the program creates, and the Estuary publish command (as the CLI prints
# their types): each went through its provider's Check.
WHOLE_PROGRAM_CREATES = (
    "snowflake:index:Warehouse",
    "snowflake:index:NetworkRule",
    "snowflake:index:NetworkPolicy",
    "snowflake:index:ServiceUser",
    "snowflake:index:GrantPrivilegesToAccountRole",
    "snowflake:index:ResourceMonitor",
    "command:local:Command",
)


@pytest.mark.parametrize("stack", ["production", "staging"])
def test_whole_program_previews_clean_through_every_provider_and_the_policy_pack(
    toolchain: Toolchain, tmp_path: Path, stack: str
) -> None:
    assert not toolchain.missing, f"plugins the toolchain could not build: {toolchain.missing}"
    project_plugin_or_skip(toolchain, "snowflake")
    project = EngineProject(toolchain, tmp_path, stack=stack)
    project.init_stack(OPERATOR_INSTALLED)
    result = project.preview()
    assert result.returncode == 0, result.output
    assert "sophia-guardrails" in result.output
    for kind in WHOLE_PROGRAM_CREATES:
        assert re.search(rf"\+\s+{re.escape(kind)} \S+ create", result.output), f"{kind}:\n{result.output}"
    # The plugins the engine loaded are the project plugins, at their own versions.
    for name, path in toolchain.project_plugins.items():
        assert (path / f"pulumi-resource-{name}").is_file()
    assert "resource plugin snowflake is expected to have version >=2.22.0, but has 1.2.3" in result.output


def test_cluster_half_previews_clean_through_the_real_providers_and_policy_pack(
    cluster_project: EngineProject,
) -> None:
    result = cluster_project.preview()
    assert result.returncode == 0, result.output
    assert "sophia-guardrails" in result.output
    # Every resource of the half went through its provider's Check: the Lambda instances in the dynamic
    # provider host, the MCP releases with the chart read from charts/sophia-mcp. With the API server
    # unreachable the kubernetes provider says nothing and previews every object as a create.
    for created in (
        "pulumi-python:dynamic/lambdacloud:Instance gpu-pool-node-0 create",
        "kubernetes:helm.sh/v3:Release mcp-ai-memory create",
        "kubernetes:node.k8s.io/v1:RuntimeClass gpu-pool-runtime-class create",
    ):
        assert created in result.output, result.output
    assert "gpu-pool-gpu-operator" not in result.output


def test_the_gpu_operator_chart_is_looked_up_in_its_repository_during_check(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    project = EngineProject(toolchain, tmp_path, main=CLUSTER_PROGRAM)
    project.init_stack()
    result = project.preview()
    assert result.returncode != 0
    assert (
        "kubernetes:helm.sh/v3:Release resource 'gpu-pool-gpu-operator': property chart value {gpu-operator} "
        'has a problem: looks like "https://helm.ngc.nvidia.com/nvidia" is not a valid chart repository or '
        "cannot be reached"
    ) in result.output, result.output
    # ... through the loopback proxy every engine run gets, so the lookup never left the machine.
    assert f"proxyconnect tcp: dial tcp {CLOSED_LOOPBACK}" in result.output
