"""What a policy pack said about a plan: its violations, the policies that did not apply, its own logs."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["UNRENDERED_DESCRIPTION", "UNRENDERED_POLICY", "GateResult", "NotApplicable", "Violation"]

# The gate's own verdict, beside the pack's: a component whose children it could not render is never clean.
UNRENDERED_POLICY = "offline-rendering"
UNRENDERED_DESCRIPTION = (
    "The offline gate renders the children of Helm v4 charts, yaml/v2 ConfigFiles and ConfigGroups and "
    "kustomize/v2 Directories as the provider does, and refuses a plan where it cannot, since a real preview "
    "would check those children."
)


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str
    message: str


@dataclass(frozen=True)
class NotApplicable:
    policy: str
    urn: str
    reason: str


@dataclass
class GateResult:
    pack: str
    version: str
    violations: list[Violation] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)
    resources: int = 0
    logs: list[str] = field(default_factory=list)

    @property
    def mandatory_count(self) -> int:
        return sum(1 for violation in self.violations if violation.level == "mandatory")
