"""domain/gpu_pool.py on its own: the time-slicing config both ways, demand, capacity and the plan."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

import pytest
import yaml

from domain.gpu import GpuPoolScheduling
from domain.gpu_pool import (
    POOL_LABEL,
    POOL_TAINT,
    InvalidTimeSlicingConfig,
    PoolPlanError,
    ServerDemand,
    check_capacity,
    node_name,
    offered_slices,
    plan_gpu_pool,
    pool_tags,
    server_demand,
    time_slicing_config,
    time_slicing_replicas,
)
from harness.paths import PROJECT_DIR


@dataclass(frozen=True)
class Pool:
    name: str = "lambda-gpu"
    instance_type: str = "gpu_1x_a10"
    node_count: int | Literal["auto"] = "auto"
    time_slicing_replicas: int = 4
    headroom_slices: int = 2


@dataclass(frozen=True)
class Server:
    name: str
    replicas: int = 2
    gpu_share: float = 0.25


SERVERS = [Server(name) for name in ("ai-memory", "snowflake-admin", "linear", "asana", "gong")]


def test_the_module_imports_neither_pulumi_nor_pydantic() -> None:
    # The policy pack's virtualenv has pulumi-policy, pulumi and PyYAML only; the pool's rules must load there
    # without pulling the program's dependencies in.
    probe = (
        "import sys, domain.gpu_pool; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('pulumi', 'pydantic', 'pulumi_kubernetes')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("replicas", [1, 2, 4, 8, 48])
def test_the_written_time_slicing_config_reads_back_as_its_replicas(replicas: int) -> None:
    text = time_slicing_config(replicas)
    assert time_slicing_replicas(text) == replicas
    sharing = yaml.safe_load(text)["sharing"]["timeSlicing"]
    assert sharing["failRequestsGreaterThanOne"] is True
    assert sharing["renameByDefault"] is False


def test_a_config_without_time_slicing_offers_one_unit_per_gpu() -> None:
    assert time_slicing_replicas("version: v1\nflags: {migStrategy: none}\n") == 1


_SLICED = "version: v1\nsharing: {{timeSlicing: {{resources: [{{name: {}, replicas: {}}}]}}}}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "has no data"),
        ("[unclosed", "is not YAML"),
        ("version: v2\n", "version: v1"),
        (_SLICED.format("nvidia.com/gpu", 0), ">= 1"),
        (_SLICED.format("nvidia.com/gpu", "true"), ">= 1"),
        (_SLICED.format("amd.com/gpu", 2), "no nvidia"),
    ],
)
def test_an_unreadable_time_slicing_config_says_why(text: str | None, reason: str) -> None:
    with pytest.raises(InvalidTimeSlicingConfig, match=reason):
        time_slicing_replicas(text)


def test_capacity_is_every_gpu_times_the_replicas() -> None:
    assert offered_slices([1, 1, 1], 4) == 12
    assert offered_slices([8, 1], 2) == 18
    assert offered_slices([], 4) == 0


def test_demand_is_one_slice_per_replica() -> None:
    demands = server_demand(SERVERS, 4)
    assert demands[0] == ServerDemand("ai-memory", 2, 0.25, 1)
    assert sum(demand.slices for demand in demands) == 10


@pytest.mark.parametrize(
    ("share", "fragment"), [(0.3, "not a whole number"), (0.5, "would be 2 time slices")]
)
def test_a_share_that_is_not_one_slice_names_the_server_and_both_settings(
    share: float, fragment: str
) -> None:
    servers = [*SERVERS[:2], Server("linear", gpu_share=share)]
    with pytest.raises(PoolPlanError) as raised:
        server_demand(servers, 4)
    error = raised.value
    assert (error.setting, error.server) == ("gpu_share", 2)
    assert fragment in str(error)
    rendered = error.render(lambda setting, index: f"<{setting}:{index}>")
    assert rendered.startswith("<gpu_share:2> (linear) is ")
    assert "<time_slicing_replicas:2>" in rendered
    assert "{" not in rendered


def test_capacity_above_the_pool_names_the_node_count() -> None:
    scheduling = GpuPoolScheduling("lambda-gpu", POOL_LABEL, "lambda-gpu", "nvidia-lambda-gpu", 4, 9)
    with pytest.raises(PoolPlanError, match="need 10 GPU time slices") as raised:
        check_capacity(server_demand(SERVERS, 4), scheduling)
    assert raised.value.setting == "node_count"
    enough = GpuPoolScheduling(**{**scheduling.__dict__, "slice_capacity": 10})
    check_capacity(server_demand(SERVERS, 4), enough)


def test_the_production_plan_is_three_a10_nodes() -> None:
    plan = plan_gpu_pool(Pool(), SERVERS, "us-east-1", 55)
    assert (plan.nodes, plan.slices_offered, plan.slices_used, plan.slices_per_node) == (3, 12, 10, 4)
    assert plan.node_names == ["sophia-lambda-gpu-0", "sophia-lambda-gpu-1", "sophia-lambda-gpu-2"]
    assert plan.scheduling.node_selector == {POOL_LABEL: "lambda-gpu"}
    assert plan.runtime_class == "nvidia-lambda-gpu"


def test_a_fixed_count_below_demand_says_what_is_needed() -> None:
    with pytest.raises(PoolPlanError, match="at least 3") as raised:
        plan_gpu_pool(Pool(node_count=2), SERVERS, "us-east-1", 55)
    assert raised.value.setting == "node_count"


def test_an_unknown_instance_type_names_its_setting() -> None:
    with pytest.raises(PoolPlanError, match="gpu_1x_b300") as raised:
        plan_gpu_pool(Pool(instance_type="gpu_1x_b300"), SERVERS, "us-east-1", 55)
    assert raised.value.setting == "instance_type"


def test_a_pool_name_too_long_for_the_node_names_names_its_setting() -> None:
    with pytest.raises(PoolPlanError) as raised:
        plan_gpu_pool(Pool(name="p" * 50), SERVERS, "us-east-1", 55)
    assert raised.value.setting == "pool_name"


def test_names_label_taint_and_tags_are_the_pools() -> None:
    assert node_name("lambda-gpu", 2) == "sophia-lambda-gpu-2"
    assert POOL_TAINT == "nvidia.com/gpu=present:NoSchedule"
    assert pool_tags("lambda-gpu")["managed-by"] == "pulumi"
