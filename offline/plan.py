"""The recorded plan: every resource the program registered, as the engine would see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.unknown import UNKNOWN, UNKNOWN_SENTINEL, Unknown

__all__ = [
    "REDACTED",
    "UNKNOWN",
    "UNKNOWN_SENTINEL",
    "Plan",
    "ResourcePlan",
    "Secret",
    "Unknown",
    "Unrendered",
    "redact",
]

REDACTED = "[secret]"


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret; it stays wrapped until it is sent to the policy pack."""

    value: Any

    def __repr__(self) -> str:
        return "Secret([secret])"


@dataclass
class ResourcePlan:
    """One RegisterResource request, with its inputs as sent (secrets wrapped, unknowns marked)."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Unrendered:
    """A component whose children the provider renders and the offline engine could not, and why."""

    urn: str
    type: str
    name: str
    reason: str


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[ResourcePlan] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    # Rendering components whose children are missing from `resources`: the gate refuses the plan over each.
    unrendered: list[Unrendered] = field(default_factory=list)

    def by_urn(self) -> dict[str, ResourcePlan]:
        return {resource.urn: resource for resource in self.resources}


def redact(value: Any) -> Any:
    """A JSON-ready copy with every secret replaced by "[secret]" and unknowns shown as such."""
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, Unknown):
        return "[unknown]"
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value
