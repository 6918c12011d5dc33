"""Test data and runs several test modules share, stated once: a GPU pool's scheduling, the GPU toleration the
pool's taint needs, and a program run on the production stack's config under Pulumi's mocks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain.gpu import GpuPoolScheduling
from harness.paths import PROJECT_DIR
from offline.engine import record
from offline.plan import Plan
from offline.stack_files import load_stack_settings

# A 4-slice pool of 4 GPUs, as the chart and component tests place servers on it.
SCHEDULING = GpuPoolScheduling(
    pool_name="lambda-gpu",
    node_label_key="sophia.ai/gpu-pool",
    node_label_value="lambda-gpu",
    runtime_class="nvidia",
    replicas_per_gpu=4,
    slice_capacity=16,
)
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def record_on_production(program: Callable[[], object], overrides: Mapping[str, Any] | None = None) -> Plan:
    """Run `program` under the mocks with the production stack's config (plus `overrides`) and record it."""
    return record(program, load_stack_settings(PROJECT_DIR, "production", dict(overrides or {})))
