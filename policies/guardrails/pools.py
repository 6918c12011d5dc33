"""Which device-plugin config each GPU pool's nodes run, as the GPU Operator picks it.

A pool registers its time-slicing ConfigMap labelled `sophia.ai/gpu-pool: <pool>`. The operator's device
plugin reads the ConfigMap named by its chart value `devicePlugin.config.name` and, on every node without
its own `nvidia.com/device-plugin.config` label, the data key named by `devicePlugin.config.default`
(GPU Operator docs, "Time-Slicing GPUs in Kubernetes"). So the key is the operator release's choice, not a
fixed name: without an operator release in the stack, `config.yaml` (what GpuNodePool writes), else the
ConfigMap's only key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.gpu_pool import POOL_LABEL, TIME_SLICING_CONFIG_KEY

from .known import UNKNOWN, get_path
from .resources import CONFIG_MAP

OPERATOR_CHART = "gpu-operator"
_HELM_TYPES = frozenset({"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"})


@dataclass(frozen=True)
class PoolConfig:
    """A pool's device-plugin config as its nodes read it: the ConfigMap's data key and its text."""

    pool: Any
    key: str
    text: Any


def operator_default_keys(resources: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """ConfigMap name -> the data key the GPU Operator's device plugin reads by default, from every operator
    release's `devicePlugin.config` values."""
    keys: dict[str, str] = {}
    for resource_type, props in resources:
        if resource_type not in _HELM_TYPES or not isinstance(props, Mapping):
            continue
        chart = props.get("chart")
        if not isinstance(chart, str) or chart.rstrip("/").rsplit("/", 1)[-1] != OPERATOR_CHART:
            continue
        config = get_path(props, "values", "devicePlugin", "config")
        name, default = get_path(config, "name"), get_path(config, "default")
        if isinstance(name, str) and isinstance(default, str):
            keys[name] = default
    return keys


def pool_config(resource_type: str, props: Any, default_keys: Mapping[str, str]) -> PoolConfig | None:
    """The config of the pool whose time-slicing ConfigMap this is; None for any other resource."""
    if resource_type != CONFIG_MAP:
        return None
    pool = get_path(props, "metadata", "labels", POOL_LABEL)
    if pool is None:
        return None
    data = get_path(props, "data")
    name = get_path(props, "metadata", "name")
    key = default_keys.get(name) if isinstance(name, str) else None
    if key is None:
        only = list(data) if isinstance(data, dict) and len(data) == 1 else []
        key = TIME_SLICING_CONFIG_KEY if not only or TIME_SLICING_CONFIG_KEY in only else only[0]
    text = UNKNOWN if data is UNKNOWN else get_path(data, key)
    return PoolConfig(pool, key, text)
