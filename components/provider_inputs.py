"""How the project's dynamic providers read their inputs: plain values, never a wrapped secret.

The engine strips secrets before calling a provider that does not accept them, but a wrapped value must never
reach an API as a dict; every provider reads its props through these two functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.runtime.rpc import unwrap_rpc_secret


def unwrap_secret(value: Any) -> Any:
    """The value itself, with a secret the engine passed wrapped taken out of its wrapper."""
    return unwrap_rpc_secret(value)


def number(props: Mapping[str, Any], key: str, default: float) -> float:
    """A numeric input (timeouts, intervals), or `default` when it is not set."""
    value = unwrap_secret(props.get(key))
    return default if value is None else float(value)
