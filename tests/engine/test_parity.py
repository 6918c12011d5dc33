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
from collections.abc import Callable, Iterator
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


# --- Cluster half: the stack file as the CLI reads it, Secrets as the provider checks them, chart tags ---
#
# Each case edits the stack file's text, so it can write what `yaml.safe_dump` never would (a key twice, an
# unquoted date, `yes`). Without offline/cli_yaml.py the gate said clean (or crashed) on the first three;
# without policies/guardrails/secret_data.py the real preview let the Secret through (the provider's Check
# leaves only base64 `data`); without domain/image_tags.py's chart rule both passed a tag Helm refuses at up.


def with_config(**edits: Any) -> Callable[[str], str]:
    """A text edit that sets stack-file config keys (given without the `sophia-ai:` prefix)."""

    def edit(text: str) -> str:
        document = yaml.safe_load(text)
        document["config"].update({f"sophia-ai:{key}": value for key, value in edits.items()})
        return yaml.safe_dump(document, sort_keys=False)

    return edit


def replaced(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, f"the initialised stack file has no {old!r}"
        return text.replace(old, new, 1)

    return edit


CLUSTER_CASES: list[tuple[str, Callable[[str], str], Verdict]] = [
    (
        "stack-file-key-set-twice",
        replaced("config:\n", "config:\n  sophia-ai:gpuPoolInstanceType: gpu_8x_a100\n"),
        Verdict("config"),
    ),
    (
        "stack-file-yes-for-a-boolean",
        replaced("sophia-ai:clusterGpuOperatorInstalled: true", "sophia-ai:clusterGpuOperatorInstalled: yes"),
        Verdict("config"),
    ),
    ("stack-file-unquoted-date-tag", replaced("tag: 1.6.2", "tag: 2026-05-01"), Verdict("config")),
    (
        "stack-file-integer-written-1e3",
        replaced("config:\n", "config:\n  sophia-ai:snowflakeMonthlyCreditQuota: 1e3\n"),
        Verdict("clean"),
    ),
    (
        "secret-names-staging-service-user",
        with_config(snowflakeServiceNamePrefix="SOPHIA_STAGING"),
        Verdict("policy", frozenset({"stack-isolation"})),
    ),
    ("mcp-tag-trailing-dash", with_config(mcpServers=servers_with(0, tag="1.0.8-")), Verdict("config")),
    ("mcp-tag-64-characters", with_config(mcpServers=servers_with(1, tag="1" * 64)), Verdict("config")),
]


@pytest.mark.parametrize(
    ("edit", "expected"), [c[1:] for c in CLUSTER_CASES], ids=[c[0] for c in CLUSTER_CASES]
)
def test_offline_gate_and_real_preview_agree_on_the_stack_file_text(
    project: EngineProject, edit: Callable[[str], str], expected: Verdict
) -> None:
    stack_file = project.dir / f"Pulumi.{STACK}.yaml"
    initialised = stack_file.read_text()
    stack_file.write_text(edit(initialised))
    try:
        offline, real = offline_verdict(project), real_verdict(project)
    finally:
        stack_file.write_text(initialised)
    assert offline == real, f"offline gate said {offline}, the real preview {real}"
    assert real.kind == expected.kind
    assert expected.mandatory <= real.mandatory
