"""The Lambda instance-type catalog: specs, prices and the pool arithmetic built on them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.lambda_catalog import (
    PRICES_READ,
    UnknownInstanceType,
    auto_node_count,
    hourly_cost_usd,
    instance_type_spec,
    load_catalog,
    slice_capacity,
    whole_gpu_node_count,
    whole_gpu_per_replica_hourly_cost_usd,
)


def test_catalog_carries_the_dated_prices_per_gpu_hour() -> None:
    assert PRICES_READ == "2026-09"
    per_gpu_hour = {name: spec.price_per_gpu_hour_usd for name, spec in load_catalog().instance_types.items()}
    assert per_gpu_hour == {
        "gpu_1x_a10": Decimal("1.29"),
        "gpu_1x_gh200": Decimal("2.29"),
        "gpu_1x_h100_pcie": Decimal("3.29"),
        "gpu_1x_h100_sxm5": Decimal("4.29"),
        "gpu_8x_a100_80gb_sxm4": Decimal("2.79"),
        "gpu_8x_h100_sxm5": Decimal("3.99"),
    }


def test_gpu_count_matches_the_type_name() -> None:
    for name, spec in load_catalog().instance_types.items():
        assert name.startswith(f"gpu_{spec.gpus}x_"), name


def test_unknown_type_error_lists_the_known_types() -> None:
    with pytest.raises(UnknownInstanceType) as raised:
        instance_type_spec("gpu_1x_b200")
    assert "gpu_1x_b200" in str(raised.value)
    assert "gpu_1x_a10" in str(raised.value) and "gpu_8x_h100_sxm5" in str(raised.value)


def test_slice_capacity_is_nodes_times_gpus_times_replicas() -> None:
    assert slice_capacity(3, 8, 4) == 96
    assert slice_capacity(0, 1, 4) == 0


@pytest.mark.parametrize(
    ("nodes", "gpus", "replicas"),
    [(-1, 1, 1), (1, 0, 1), (1, 1, 0)],
)
def test_slice_capacity_refuses_impossible_pools(nodes: int, gpus: int, replicas: int) -> None:
    with pytest.raises(ValueError):
        slice_capacity(nodes, gpus, replicas)


def test_auto_node_count_rounds_up_to_whole_nodes() -> None:
    # Five servers x 2 replicas x 1 slice = 10 slices, plus 2 headroom, on 1-GPU nodes with 4 slices each.
    assert auto_node_count(10, 2, 1, 4) == 3
    assert auto_node_count(12, 0, 1, 4) == 3
    assert auto_node_count(13, 0, 1, 4) == 4
    assert auto_node_count(0, 0, 8, 4) == 0


def test_auto_node_count_refuses_negative_demand() -> None:
    with pytest.raises(ValueError, match="demand_slices"):
        auto_node_count(-1, 0, 1, 4)
    with pytest.raises(ValueError, match="headroom_slices"):
        auto_node_count(1, -2, 1, 4)


@given(
    demand=st.integers(0, 2000),
    headroom=st.integers(0, 200),
    gpus=st.sampled_from([1, 2, 4, 8]),
    replicas=st.integers(1, 48),
)
def test_auto_node_count_is_the_smallest_pool_that_fits(
    demand: int, headroom: int, gpus: int, replicas: int
) -> None:
    nodes = auto_node_count(demand, headroom, gpus, replicas)
    assert slice_capacity(nodes, gpus, replicas) >= demand + headroom
    if nodes > 0:
        assert slice_capacity(nodes - 1, gpus, replicas) < demand + headroom


def test_hourly_cost_multiplies_the_instance_price() -> None:
    assert hourly_cost_usd("gpu_1x_a10", 3) == Decimal("3.87")
    assert hourly_cost_usd("gpu_8x_h100_sxm5", 2) == Decimal("63.84")
    assert hourly_cost_usd("gpu_1x_a10", 0) == Decimal("0.00")


def test_whole_gpu_per_replica_costs_more_than_time_slicing() -> None:
    # 10 MCP replicas on A10s: one GPU each needs 10 nodes; 4-way slicing needs 3 (with 2 slices of headroom).
    assert whole_gpu_node_count(10, 1) == 10
    assert whole_gpu_per_replica_hourly_cost_usd(10, "gpu_1x_a10") == Decimal("12.90")
    sliced = hourly_cost_usd("gpu_1x_a10", auto_node_count(10, 2, 1, 4))
    assert sliced == Decimal("3.87")


def test_whole_gpu_comparison_packs_replicas_onto_multi_gpu_nodes() -> None:
    assert whole_gpu_node_count(10, 8) == 2
    assert whole_gpu_per_replica_hourly_cost_usd(10, "gpu_8x_a100_80gb_sxm4") == Decimal("44.64")
