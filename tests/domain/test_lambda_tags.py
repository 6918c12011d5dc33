"""Lambda instance tags: the keys the stack sets, checked against the rule Lambda's API applies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.lambda_tags import (
    GPU_POOL_TAG,
    MAX_TAG_KEY_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    InvalidTag,
    check_tags,
    gpu_pool_tags,
    tag_problems,
)


def test_the_pool_tags_are_keys_lambda_accepts() -> None:
    tags = gpu_pool_tags("lambda-gpu")
    assert tags == {"sophia-ai:gpu-pool": "lambda-gpu", "managed-by": "pulumi"}
    assert tag_problems(tags) == []


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("sophia.ai/gpu-pool", "lower-case letter"),  # a Kubernetes label key: '.' and '/' are refused
        ("Sophia-ai:pool", "lower-case letter"),
        ("9pool", "lower-case letter"),
        ("p", "lower-case letter"),  # the pattern's `+` asks for two characters at least
        ("pool_name", "lower-case letter"),
        ("pool\n", "lower-case letter"),
        ("p" * (MAX_TAG_KEY_LENGTH + 1), f"Lambda allows {MAX_TAG_KEY_LENGTH}"),
    ],
)
def test_keys_outside_the_spec_are_refused_with_the_rule(key: str, why: str) -> None:
    (problem,) = tag_problems({key: "x"})
    assert repr(key) in problem and why in problem
    with pytest.raises(InvalidTag, match="tag key"):
        check_tags({key: "x"})


def test_values_longer_than_the_spec_allows_are_refused() -> None:
    assert tag_problems({GPU_POOL_TAG: "v" * MAX_TAG_VALUE_LENGTH}) == []
    (problem,) = tag_problems({GPU_POOL_TAG: "v" * (MAX_TAG_VALUE_LENGTH + 1)})
    assert f"Lambda allows {MAX_TAG_VALUE_LENGTH}" in problem
    with pytest.raises(InvalidTag):
        gpu_pool_tags("p" * (MAX_TAG_VALUE_LENGTH + 1))


def test_every_problem_is_reported_at_once() -> None:
    assert len(tag_problems({"sophia.ai/gpu-pool": "x" * 200, "Bad": "y"})) == 3


@given(st.from_regex(r"[a-z][a-z0-9\-:]{1,54}", fullmatch=True), st.text(max_size=MAX_TAG_VALUE_LENGTH))
def test_every_key_and_value_the_spec_allows_passes(key: str, value: str) -> None:
    assert tag_problems({key: value}) == []
