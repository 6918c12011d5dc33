"""What a policy pack said about a plan: its violations, the policies that did not apply, its own logs."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GateResult", "NotApplicable", "Violation"]


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
