"""The labelled corpus, judged by the real pack process and by the pure rule functions in-process.

Each case is a few resources and the measured policies that must refuse them. The test prints precision and
recall per policy (run with `-s` to see the table) and fails below 100% on either, naming the cases that
were missed or refused wrongly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from offline.plan import Secret
from policies.guardrails.gpu_slices import Registered, stack_problems
from policies.guardrails.mcp_gpu import resource_gpu_problems
from policies.guardrails.snowflake_accounts import Accounts, resource_findings
from tests.policies.conftest import Evaluate
from tests.policies.corpus.cases import MEASURED, Case, all_cases
from tests.policies.plans import plan

CASES = all_cases()


@dataclass
class Score:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        flagged = self.true_positive + self.false_positive
        return self.true_positive / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positive + self.false_negative
        return self.true_positive / expected if expected else 1.0


def scores(cases: Iterable[Case], judge: Callable[[Case], set[str]]) -> dict[str, Score]:
    table = {policy: Score() for policy in MEASURED}
    for case in cases:
        refused = judge(case)
        for policy, score in table.items():
            expected, got = policy in case.expect, policy in refused
            if expected and got:
                score.true_positive += 1
            elif got:
                score.false_positive += 1
                score.wrong.append(f"refused but clean: {case.id}")
            elif expected:
                score.false_negative += 1
                score.wrong.append(f"missed: {case.id}")
            else:
                score.true_negative += 1
    return table


def report(title: str, table: dict[str, Score]) -> None:
    print(f"\n{title}: {len(CASES)} cases")
    print(f"{'policy':<28} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4} {'precision':>10} {'recall':>8}")
    for policy, score in table.items():
        print(
            f"{policy:<28} {score.true_positive:>4} {score.false_positive:>4} {score.false_negative:>4} "
            f"{score.true_negative:>4} {score.precision:>10.1%} {score.recall:>8.1%}"
        )
    wrong = [f"{policy}: {line}" for policy, score in table.items() for line in score.wrong]
    assert all(score.precision == 1.0 and score.recall == 1.0 for score in table.values()), "\n".join(wrong)


def test_the_corpus_is_large_and_labelled_both_ways() -> None:
    assert len(CASES) >= 150
    assert {case.origin for case in CASES} == {"hand-written", "generated"}
    assert sum(1 for case in CASES if case.origin == "hand-written") >= 40
    for policy in MEASURED:
        assert any(policy in case.expect for case in CASES), f"no case must be refused by {policy}"
    assert sum(1 for case in CASES if not case.expect) >= 60


def test_the_pack_process_has_full_precision_and_recall_on_the_corpus(evaluate: Evaluate) -> None:
    def judge(case: Case) -> set[str]:
        result = evaluate(plan(*case.resources))
        urns = {resource.urn for resource in case.resources}
        return {
            violation.policy
            for violation in result.violations
            if violation.level == "mandatory" and (violation.urn in urns or violation.urn is None)
        }

    report("pack process", scores(CASES, judge))


def _unwrapped(value: Any) -> Any:
    if isinstance(value, Secret):
        return _unwrapped(value.value)
    if isinstance(value, dict):
        return {key: _unwrapped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrapped(item) for item in value]
    return value


def judge_in_process(case: Case) -> set[str]:
    """The pure rule functions on the inputs the pack receives (secrets unwrapped, as the SDK hands them)."""
    accounts = Accounts({})
    refused: set[str] = set()
    by_urn = {resource.urn: resource for resource in case.resources}
    for resource in case.resources:
        props = _unwrapped(resource.inputs)
        provider = by_urn.get(resource.provider or "")
        provider_props = _unwrapped(provider.inputs) if provider else None
        if resource_findings(
            resource.type, props, provider.type if provider else None, provider_props, accounts
        ):
            refused.add("snowflake-account-allowed")
        verdict = resource_gpu_problems(resource.type, resource.name, props)
        if verdict.undecidable or verdict.problems:
            refused.add("mcp-servers-require-gpu")
    registered = [Registered(item.type, item.name, _unwrapped(item.inputs)) for item in case.resources]
    if any(True for _ in stack_problems(registered)):
        refused.add("gpu-slices-admitted")
    return refused


def test_the_pure_rules_have_full_precision_and_recall_on_the_corpus() -> None:
    report("in-process rules", scores(CASES, judge_in_process))


@pytest.mark.parametrize(
    "case", [case for case in CASES if case.origin == "hand-written"], ids=lambda c: c.id
)
def test_each_hand_written_case(case: Case) -> None:
    assert judge_in_process(case) == set(case.expect)
