"""`python -m bench`: offline preview and policy gate cost against the SDK floor, for N MCP servers.

For each N the production stack is generated with N MCP servers (the GPU pool sized `auto`), then, in this
one process: the offline preview (config, components, registration), the floor (the same plan replayed
through the bare SDK), and the policy gate (the real pack process over gRPC) are each timed several times.
Results go to testkit/bench/results.md and stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.floor import replay
from bench.real_preview import real_preview_line
from offline import policy_gate
from offline.engine import run_program
from offline.plan import Plan
from offline.stack_files import StackSettings, load_stack_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
RESULTS = PROJECT_DIR / "testkit" / "bench" / "results.md"
SIZES = (5, 50, 200, 500)


def generated_servers(count: int) -> list[dict[str, Any]]:
    """N MCP servers shaped like production's: two replicas, a quarter GPU each, pinned images."""
    return [
        {
            "name": f"mcp-{index:04d}",
            "image": f"ghcr.io/pay-ready/mcp-{index:04d}",
            "tag": "1.0.0",
            "port": 3000 + index,
            "replicas": 2,
            "gpuShare": 0.25,
        }
        for index in range(count)
    ]


def stack_settings(count: int) -> StackSettings:
    if count == 5:
        return load_stack_settings(PROJECT_DIR, "production")
    return load_stack_settings(
        PROJECT_DIR, "production", {"mcpServers": generated_servers(count), "gpuPoolNodeCount": "auto"}
    )


@dataclass
class Timing:
    median: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.median * 1000:.0f} ({self.low * 1000:.0f}-{self.high * 1000:.0f})"


def timed(action: Callable[[], object], repetitions: int) -> tuple[Timing, object]:
    samples = []
    result: object = None
    for _ in range(repetitions):
        started = time.perf_counter()
        result = action()
        samples.append(time.perf_counter() - started)
    return Timing(statistics.median(samples), min(samples), max(samples)), result


def peak_memory_mb(action: Callable[[], object]) -> float:
    tracemalloc.start()
    action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def cold_start_seconds() -> float:
    """Wall time of the production gate as a user runs it: a new interpreter, imports included."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "offline",
            "preview",
            "--stack",
            "production",
            "--policy-pack",
            "policies",
            "--quiet",
        ],
        cwd=PROJECT_DIR,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def import_seconds(module: str) -> float:
    """Time to import one provider SDK in a new interpreter (what every cold start pays before our code)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(result.stdout)


def typed_class_cost(count: int, repetitions: int) -> tuple[Timing, Timing]:
    """The same `count` Helm releases registered through pulumi-kubernetes' typed Release class and as
    generic CustomResources with identical inputs: what the provider SDK's classes cost by themselves.
    """
    import pulumi
    import pulumi_kubernetes as kubernetes

    from offline.engine import record

    settings = load_stack_settings(PROJECT_DIR, "production")
    values = {"image": {"repository": "ghcr.io/x/y", "tag": "1.0.0"}, "replicaCount": 2}

    def typed() -> None:
        provider = kubernetes.Provider("cluster", kubeconfig="offline")
        for index in range(count):
            kubernetes.helm.v3.Release(
                f"release-{index}",
                chart="charts/sophia-mcp",
                namespace="mcp",
                values=values,
                opts=pulumi.ResourceOptions(provider=provider),
            )

    def generic() -> None:
        provider = pulumi.ProviderResource("kubernetes", "cluster", {"kubeconfig": "offline"})
        for index in range(count):
            pulumi.CustomResource(
                "kubernetes:helm.sh/v3:Release",
                f"release-{index}",
                {"chart": "charts/sophia-mcp", "namespace": "mcp", "values": values},
                pulumi.ResourceOptions(provider=provider),
            )

    typed_time, _ = timed(lambda: record(typed, settings), repetitions)
    generic_time, _ = timed(lambda: record(generic, settings), repetitions)
    return typed_time, generic_time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args(argv)

    policy_config = policy_gate.load_policy_config(PROJECT_DIR / "policies" / "config" / "production.json")
    pack = policy_gate.PolicyPackSession(PROJECT_DIR / "policies", project="sophia-ai", stack="production")
    pack_start, _ = timed(pack.start, 1)
    rows = []
    previews: dict[int, float] = {}
    gates: dict[int, float] = {}
    for count in args.sizes:
        settings = stack_settings(count)
        repetitions = args.repetitions if count <= 200 else max(3, args.repetitions // 2)
        plan = run_program(settings)  # also warms imports and caches, so every size is timed alike

        def preview(settings: StackSettings = settings) -> Plan:
            return run_program(settings)

        def floor(plan: Plan = plan, settings: StackSettings = settings) -> Plan:
            return replay(plan, settings)

        def gate(plan: Plan = plan) -> policy_gate.GateResult:
            return pack.evaluate(plan, policy_config)

        preview_time, _ = timed(preview, repetitions)
        floor_time, _ = timed(floor, repetitions)
        gate_time, gate_result = timed(gate, max(3, repetitions // 2))
        mandatory = getattr(gate_result, "mandatory_count", "?")
        memory = peak_memory_mb(preview)
        resources = len(plan.resources)
        previews[count] = preview_time.median
        gates[count] = gate_time.median
        rows.append(
            {
                "servers": count,
                "resources": resources,
                "preview": preview_time,
                "floor": floor_time,
                "ratio": preview_time.median / floor_time.median,
                "gate": gate_time,
                "gate_per_resource_ms": gate_time.median / resources * 1000,
                "resources_per_s": resources / preview_time.median,
                "peak_mb": memory,
                "mandatory": mandatory,
            }
        )
        print(
            f"N={count}: {resources} resources, preview {preview_time} ms, floor {floor_time} ms", flush=True
        )

    pack.close()
    typed_time, generic_time = typed_class_cost(200, 3)
    colds = sorted(cold_start_seconds() for _ in range(3))
    imports = {
        module: import_seconds(module) for module in ("pulumi", "pulumi_kubernetes", "pulumi_snowflake")
    }
    lines = [
        "# Offline preview and policy gate benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}. Times in ms: median (min-max) over repetitions in one "
        "process, after one warm-up run.",
        "",
        "| MCP servers | resources | preview | floor (bare SDK) | preview/floor | gate | gate ms/resource "
        "| resources/s | peak MB | mandatory violations |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = [
            row["servers"],
            row["resources"],
            row["preview"],
            row["floor"],
            f"{row['ratio']:.2f}",
            row["gate"],
            f"{row['gate_per_resource_ms']:.2f}",
            f"{row['resources_per_s']:.0f}",
            f"{row['peak_mb']:.1f}",
            row["mandatory"],
        ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    if 50 in previews and 500 in previews:
        slope = (previews[500] - previews[50]) / 450 * 1000
        gate_slope = (gates[500] - gates[50]) / 450 * 1000
        lines += [
            "",
            f"Slope N=50 -> 500: preview {slope:.2f} ms per added server, gate {gate_slope:.2f} ms.",
        ]
    lines += [
        "",
        f"Policy pack start (process, imports, gRPC handshake; the CLI overlaps it with the preview): "
        f"{pack_start.median * 1000:.0f} ms. The gate column is the Analyze/AnalyzeStack evaluation.",
        "",
        f"Provider SDK classes alone: 200 Helm releases through pulumi_kubernetes.helm.v3.Release "
        f"{typed_time} ms vs the same inputs as generic CustomResources {generic_time} ms "
        f"({typed_time.median / generic_time.median:.1f}x).",
        "",
        "Cold start, `python -m offline preview --stack production --policy-pack policies` in a new "
        f"interpreter, imports included: median {colds[1]:.2f} s (min {colds[0]:.2f}, max {colds[2]:.2f}). "
        "Import alone in a new interpreter: "
        + ", ".join(f"{module} {seconds:.2f} s" for module, seconds in imports.items())
        + ".",
        "",
        real_preview_line(),
    ]
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
