"""The offline gate and the real `pulumi preview --policy-pack` judge the same stack edits alike.

Each edit of the production stack file goes through both, on the same engine project (the cluster half of the
program, see test_real_preview.py): `python -m offline preview --policy-pack policies` and the real CLI. The
verdict is the class (clean, refused by the configuration before any resource, refused by a mandatory policy)
and the set of mandatory policies violated. Where the two differ the offline gate must be the stricter one
(it refuses what the real preview would let through), and the case says why. On this half of the stack every
bad edit below is refused by the typed configuration (or the CLI's own secret check) before the pack runs,
in both; the pack's verdicts on registered resources are covered by tests/policy.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from harness.real_engine import (
    CLUSTER_PROGRAM,
    OPERATOR_INSTALLED,
    PROJECT_DIR,
    STACK,
    EngineProject,
    Toolchain,
    Verdict,
    offline_verdict,
    toolchain_or_skip,
)

MANDATORY = re.compile(r"\[mandatory\](?:\s+\[severity:[^\]]*\])?\s+(\S+)")


def production_servers() -> list[dict[str, Any]]:
    stack = yaml.safe_load((PROJECT_DIR / f"Pulumi.{STACK}.yaml").read_text())
    return copy.deepcopy(stack["config"]["sophia-ai:mcpServers"])


def servers_with(index: int, **changes: Any) -> list[dict[str, Any]]:
    servers = production_servers()
    servers[index].update(changes)
    return servers


# (case id, stack-file edits, expected verdict). Keys are the stack file's, value None removes the key.
CASES: list[tuple[str, dict[str, Any], Verdict]] = [
    ("production-as-committed", {}, Verdict("clean")),
    ("mcp-tag-latest", {"sophia-ai:mcpServers": servers_with(0, tag="latest")}, Verdict("config")),
    ("mcp-gpu-share-zero", {"sophia-ai:mcpServers": servers_with(1, gpuShare=0)}, Verdict("config")),
    ("mcp-replicas-over-limit", {"sophia-ai:mcpServers": servers_with(2, replicas=51)}, Verdict("config")),
    ("mcp-privileged-port", {"sophia-ai:mcpServers": servers_with(3, port=80)}, Verdict("config")),
    (
        "mcp-image-uppercase",
        {"sophia-ai:mcpServers": servers_with(4, image="ghcr.io/pay-ready/MCP")},
        Verdict("config"),
    ),
    (
        "pool-one-node-for-ten-replicas",
        {"sophia-ai:gpuPoolNodeCount": 1},
        Verdict("config"),
    ),
    ("gpu-pool-cpu-instance", {"sophia-ai:gpuPoolInstanceType": "cpu_4x_general"}, Verdict("config")),
    ("time-slicing-zero", {"sophia-ai:gpuPoolTimeSlicingReplicas": 0}, Verdict("config")),
    ("lambda-region-malformed", {"sophia-ai:lambdaRegion": "mars"}, Verdict("config")),
    ("k3s-version-malformed", {"sophia-ai:clusterK3sVersion": "1.31"}, Verdict("config")),
    (
        "k3s-url-plain-http",
        {"sophia-ai:clusterK3sServerUrl": "http://k3s.sophia-ai.internal:6443"},
        Verdict("config"),
    ),
    ("ingress-host-uppercase", {"sophia-ai:mcpIngressHost": "MCP.sophia-ai.internal"}, Verdict("config")),
    ("plaintext-kubeconfig", {"sophia-ai:clusterKubeconfig": "apiVersion: v1"}, Verdict("config")),
    ("unknown-config-key", {"sophia-ai:gpuPoolNodeCont": 2}, Verdict("config")),
]


def real_verdict(project: EngineProject) -> Verdict:
    result = project.preview()
    mandatory = frozenset(MANDATORY.findall(result.output))
    if result.returncode == 0:
        return Verdict("clean", mandatory)
    if mandatory:
        return Verdict("policy", mandatory)
    # Refused before any policy ran: the CLI's own stack-config validation (a plaintext value for a key
    # Pulumi.yaml declares secret) or the program's typed config (components/config.py names the key).
    assert "validating stack config" in result.output or "sophia-ai:" in result.output, result.output
    return Verdict("config")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProject]:
    toolchain: Toolchain = toolchain_or_skip()
    engine_project = EngineProject(toolchain, tmp_path_factory.mktemp("parity"), main=CLUSTER_PROGRAM)
    engine_project.init_stack(OPERATOR_INSTALLED)
    yield engine_project


@pytest.mark.parametrize(("edits", "expected"), [(e, v) for _, e, v in CASES], ids=[c[0] for c in CASES])
def test_offline_gate_and_real_preview_agree(
    project: EngineProject, edits: dict[str, Any], expected: Verdict
) -> None:
    stack_file = project.dir / f"Pulumi.{STACK}.yaml"
    initialised = stack_file.read_text()
    edited = yaml.safe_load(initialised)
    for key, value in edits.items():
        if value is None:
            edited["config"].pop(key, None)
        else:
            edited["config"][key] = value
    stack_file.write_text(yaml.safe_dump(edited, sort_keys=False))
    try:
        offline, real = offline_verdict(project), real_verdict(project)
    finally:
        stack_file.write_text(initialised)
    assert offline == real, f"offline gate said {offline}, the real preview {real}"
    assert real.kind == expected.kind
    assert expected.mandatory <= real.mandatory
