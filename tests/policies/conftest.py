"""One policy pack process per test module, started as the Pulumi CLI starts it and reused by its tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from harness.paths import PROJECT_DIR
from offline.plan import Plan
from offline.policy_gate import GateResult, PolicyPackSession
from tests.policies.plans import PROJECT, STACK

PACK_DIR = PROJECT_DIR / "policies"

Evaluate = Callable[..., GateResult]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "production_stack: runs the real program through offline.engine.preview and the policy gate",
    )


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackSession]:
    with PolicyPackSession(PACK_DIR, project=PROJECT, stack=STACK) as session:
        yield session


@pytest.fixture
def evaluate(pack: PolicyPackSession) -> Evaluate:
    def run(plan: Plan, config: Mapping[str, Any] | None = None) -> GateResult:
        return pack.evaluate(plan, config)

    return run
