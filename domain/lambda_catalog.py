"""Lambda Cloud instance types as data, and the capacity and cost arithmetic of a time-sliced GPU pool.

The catalog (`lambda_instance_types.json` beside this module) holds the types the stack may use with the
prices read on the date in `PRICES_READ`. Lambda's prices move; the live truth is `price_cents_per_hour` in
the API's `GET instance-types`, so these figures are for planning and previews, not for billing.

A pool of `nodes` instances with `gpus_per_node` GPUs each, whose device plugin advertises every GPU as
`replicas` time slices, offers `nodes * gpus_per_node * replicas` schedulable `nvidia.com/gpu` units.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

_CATALOG_FILE = Path(__file__).with_name("lambda_instance_types.json")
_CENT = Decimal("0.01")


class UnknownInstanceType(ValueError):
    """An instance type the catalog does not list."""


@dataclass(frozen=True)
class InstanceTypeSpec:
    """One Lambda instance type: its hardware and its on-demand price per instance-hour."""

    name: str
    gpus: int
    vcpus: int
    memory_gib: int
    price_per_hour_usd: Decimal
    gpu_description: str

    @property
    def price_per_gpu_hour_usd(self) -> Decimal:
        return (self.price_per_hour_usd / self.gpus).quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Catalog:
    prices_read: str
    instance_types: Mapping[str, InstanceTypeSpec]


def _positive_int(type_name: str, field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{_CATALOG_FILE.name}: {type_name}.{field} must be a positive integer, got {value!r}"
        )
    return value


def _spec(type_name: str, raw: Mapping[str, Any]) -> InstanceTypeSpec:
    price = raw["price_per_hour_usd"]
    if not isinstance(price, Decimal) or price <= 0:
        raise ValueError(f"{_CATALOG_FILE.name}: {type_name}.price_per_hour_usd must be a positive number")
    return InstanceTypeSpec(
        name=type_name,
        gpus=_positive_int(type_name, "gpus", raw["gpus"]),
        vcpus=_positive_int(type_name, "vcpus", raw["vcpus"]),
        memory_gib=_positive_int(type_name, "memory_gib", raw["memory_gib"]),
        price_per_hour_usd=price,
        gpu_description=str(raw["gpu_description"]),
    )


@cache
def load_catalog() -> Catalog:
    """The instance catalog shipped with the project (read once per process)."""
    # Decimal keeps prices exact: a pool's cost is a product of prices and counts, and floats drift by cents.
    raw = json.loads(_CATALOG_FILE.read_text(encoding="utf-8"), parse_float=Decimal)
    types = {name: _spec(name, spec) for name, spec in sorted(raw["instance_types"].items())}
    return Catalog(prices_read=str(raw["prices_read"]), instance_types=MappingProxyType(types))


PRICES_READ: str = load_catalog().prices_read


def instance_type_spec(instance_type: str) -> InstanceTypeSpec:
    """The catalog entry for `instance_type`; the error lists the types that are known."""
    types = load_catalog().instance_types
    try:
        return types[instance_type]
    except KeyError:
        known = ", ".join(types)
        raise UnknownInstanceType(
            f"unknown Lambda instance type {instance_type!r}; the catalog knows {known} "
            f"(add new types to domain/{_CATALOG_FILE.name} with their price)"
        ) from None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def slice_capacity(nodes: int, gpus_per_node: int, replicas: int) -> int:
    """Schedulable `nvidia.com/gpu` units of a pool: every physical GPU is advertised `replicas` times."""
    _require(nodes >= 0, f"nodes must be 0 or more, got {nodes}")
    _require(gpus_per_node >= 1, f"gpus_per_node must be at least 1, got {gpus_per_node}")
    _require(replicas >= 1, f"time-slicing replicas must be at least 1, got {replicas}")
    return nodes * gpus_per_node * replicas


def auto_node_count(demand_slices: int, headroom_slices: int, gpus_per_node: int, replicas: int) -> int:
    """The fewest nodes whose slice capacity covers the demand plus the headroom.

    Headroom is what a rolling update needs: a surge pod asks for its slice before the old pod lets go.
    """
    _require(demand_slices >= 0, f"demand_slices must be 0 or more, got {demand_slices}")
    _require(headroom_slices >= 0, f"headroom_slices must be 0 or more, got {headroom_slices}")
    per_node = slice_capacity(1, gpus_per_node, replicas)
    return math.ceil((demand_slices + headroom_slices) / per_node)


def hourly_cost_usd(instance_type: str, nodes: int) -> Decimal:
    """On-demand cost per hour of `nodes` instances of `instance_type`, at the catalog's prices."""
    _require(nodes >= 0, f"nodes must be 0 or more, got {nodes}")
    return (instance_type_spec(instance_type).price_per_hour_usd * nodes).quantize(
        _CENT, rounding=ROUND_HALF_UP
    )


def whole_gpu_node_count(mcp_replicas: int, gpus_per_node: int) -> int:
    """Nodes needed if every MCP replica had a physical GPU of its own (no time-slicing)."""
    _require(mcp_replicas >= 0, f"mcp_replicas must be 0 or more, got {mcp_replicas}")
    return auto_node_count(mcp_replicas, 0, gpus_per_node, 1)


def whole_gpu_per_replica_hourly_cost_usd(mcp_replicas: int, instance_type: str) -> Decimal:
    """What the pool would cost per hour with one whole GPU per MCP replica: the baseline slicing is measured
    against."""
    spec = instance_type_spec(instance_type)
    return hourly_cost_usd(instance_type, whole_gpu_node_count(mcp_replicas, spec.gpus))
