"""production-data-protected, through the real pack process: on the production stack (PULUMI_STACK of the pack
process) a Snowflake database must be protected and keep Time Travel; other stacks are not held to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from offline.plan import UNKNOWN, ResourcePlan
from offline.policy_gate import PolicyPackSession, format_violations
from tests.policies.conftest import PACK_DIR, Evaluate
from tests.policies.plans import PROJECT, on_resource, plan, resource

NAME = "production-data-protected"


def database(*, protect: bool = True, stack: str = "production", **inputs: Any) -> ResourcePlan:
    properties = {"name": "SOPHIA_AI", "dataRetentionTimeInDays": 1, "isTransient": False} | inputs
    return resource(
        "snowflake:index/database:Database",
        "snowflake-database",
        {key: value for key, value in properties.items() if value is not None},
        protect=protect,
        stack=stack,
    )


def test_protected_database_with_time_travel_passes(evaluate: Evaluate) -> None:
    target = database(dataRetentionTimeInDays=7)
    result = evaluate(plan(target))
    assert on_resource(result, NAME, target) == [], format_violations(result)


def test_unprotected_production_database_is_rejected(evaluate: Evaluate) -> None:
    target = database(protect=False)
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert violation.level == "mandatory"
    assert '"snowflake-database"' in violation.message
    assert "is not protected on stack 'production'" in violation.message


@pytest.mark.parametrize(
    ("retention", "expected"),
    [(0, "is 0"), (-1, "is -1"), (None, "is not set"), (UNKNOWN, "not known during preview")],
    ids=["zero", "account default (-1)", "missing", "unknown"],
)
def test_production_database_needs_time_travel(evaluate: Evaluate, retention: Any, expected: str) -> None:
    target = database(dataRetentionTimeInDays=retention)
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert "dataRetentionTimeInDays" in violation.message
    assert expected in violation.message


def test_transient_production_database_is_rejected(evaluate: Evaluate) -> None:
    target = database(isTransient=True)
    [violation] = on_resource(evaluate(plan(target)), NAME, target)
    assert "isTransient is true" in violation.message


def test_minimum_retention_and_stacks_come_from_config(evaluate: Evaluate) -> None:
    target = database(dataRetentionTimeInDays=1)
    [violation] = on_resource(evaluate(plan(target), {NAME: {"minimumRetentionDays": 7}}), NAME, target)
    assert "at least 7 day(s)" in violation.message
    elsewhere = evaluate(plan(database(protect=False)), {NAME: {"stacks": ["production-eu"]}})
    assert [v for v in elsewhere.violations if v.policy == NAME] == []
    assert [skip.policy for skip in elsewhere.not_applicable if skip.policy == NAME] == [NAME]


@pytest.fixture(scope="module")
def dev_pack() -> Iterator[PolicyPackSession]:
    with PolicyPackSession(PACK_DIR, project=PROJECT, stack="dev") as session:
        yield session


def test_other_stacks_may_drop_their_databases(dev_pack: PolicyPackSession) -> None:
    target = database(protect=False, dataRetentionTimeInDays=0, stack="dev")
    result = dev_pack.evaluate(plan(target, stack="dev"), None)
    assert on_resource(result, NAME, target) == []
    [skipped] = [skip for skip in result.not_applicable if skip.policy == NAME]
    assert "'dev'" in skipped.reason
