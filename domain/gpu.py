"""GPU quantities and time-sliced GPU shares.

`nvidia.com/gpu` is an extended resource: Kubernetes accepts only whole quantities, set in limits, and a
request (if any) equal to the limit (kubernetes.io "Schedule GPUs", "Consuming extended resources").
Sharing one physical GPU is done by the device plugin's time-slicing, which advertises each GPU as
`replicas` schedulable `nvidia.com/gpu` units (NVIDIA k8s-device-plugin README, "Shared Access to GPUs").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT_EFFECT = "NoSchedule"
NVIDIA_RUNTIME_CLASS = "nvidia"

# Kubernetes resource.Quantity: a signed decimal number with an optional binary/decimal SI suffix or exponent.
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$"
)
_SUFFIX_FACTOR: dict[str, Fraction] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}


class InvalidQuantity(ValueError):
    """A value that is not a Kubernetes quantity, or not one an extended resource accepts."""


def parse_quantity(value: object) -> Fraction:
    """Parse a Kubernetes quantity (int, float or string such as "2", "500m", "1e3") exactly."""
    if isinstance(value, bool):
        raise InvalidQuantity(f"{value!r} is a boolean, not a quantity")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        try:
            return Fraction(Decimal(repr(value)))
        except (InvalidOperation, ValueError):
            raise InvalidQuantity(f"{value!r} is not a finite number") from None
    if not isinstance(value, str):
        raise InvalidQuantity(f'{value!r} is not a quantity (expected a number or a string like "1")')
    match = _QUANTITY.match(value.strip())
    if not match:
        raise InvalidQuantity(f"{value!r} is not a Kubernetes quantity")
    number = Fraction(Decimal(match["number"]))
    suffix = match["suffix"] or ""
    if suffix[:1] in ("e", "E"):
        return number * Fraction(10) ** int(suffix[1:])
    return number * _SUFFIX_FACTOR[suffix]


def whole_gpu_count(value: object) -> int:
    """The number of GPUs a quantity asks for; refuses fractions, which the API server rejects."""
    quantity = parse_quantity(value)
    if quantity.denominator != 1:
        raise InvalidQuantity(
            f"{GPU_RESOURCE} {value!r} is fractional; Kubernetes accepts only whole GPUs. To share a GPU, "
            "enable time-slicing on the node pool and ask for 1 slice"
        )
    if quantity < 0:
        raise InvalidQuantity(f"{GPU_RESOURCE} {value!r} is negative")
    return int(quantity)


def slices_for_share(gpu_share: float | str | Fraction, replicas_per_gpu: int) -> int:
    """Turn a share of one GPU (e.g. 0.25) into whole time-sliced units on a pool with `replicas_per_gpu`.

    0.25 of a GPU on a pool that advertises each GPU 4 times is 1 unit; a share that does not land on a
    whole number of units (0.3 with 4 replicas) cannot be scheduled as asked and is refused.
    """
    if replicas_per_gpu < 1:
        raise ValueError(f"time-slicing replicas must be at least 1, got {replicas_per_gpu}")
    share = Fraction(str(gpu_share)) if not isinstance(gpu_share, Fraction) else gpu_share
    if share <= 0:
        raise ValueError(f"a GPU share must be greater than 0, got {gpu_share}")
    units = share * replicas_per_gpu
    if units.denominator != 1:
        allowed = ", ".join(str(float(Fraction(n, replicas_per_gpu))) for n in range(1, replicas_per_gpu + 1))
        raise ValueError(
            f"a GPU share of {gpu_share} is not a whole number of time slices on a pool with "
            f"{replicas_per_gpu} slices per GPU; use one of {allowed} (or a multiple of 1)"
        )
    return int(units)


@dataclass(frozen=True)
class GpuPoolScheduling:
    """What a workload needs to land on a GPU pool, and how many time-sliced units the pool offers.

    The GPU node pool produces it from its configuration; the MCP servers consume it. Every field is known
    at plan time, so scheduling and capacity can be checked before anything is deployed.
    """

    pool_name: str
    node_label_key: str
    node_label_value: str
    runtime_class: str
    replicas_per_gpu: int
    slice_capacity: int
    taint_key: str = GPU_TAINT_KEY
    taint_value: str = GPU_TAINT_VALUE
    taint_effect: str = GPU_TAINT_EFFECT

    @property
    def node_selector(self) -> dict[str, str]:
        return {self.node_label_key: self.node_label_value}

    @property
    def tolerations(self) -> list[dict[str, str]]:
        return [{"key": self.taint_key, "operator": "Exists", "effect": self.taint_effect}]
