"""resolve_unknowns: SDK properties as plain data, every unknown marked, whatever the nesting."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    unknown_checking_proxy,
)

from domain.unknown import UNKNOWN
from policies.guardrails.known import resolve_unknowns

SENTINELS = [
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
values = st.recursive(
    st.one_of(scalars, st.sampled_from(SENTINELS)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)


def _marked(value: Any) -> Any:
    """What the properties mean: the same data with each sentinel read as UNKNOWN."""
    if isinstance(value, dict):
        return {key: _marked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_marked(item) for item in value]
    return UNKNOWN if value in SENTINELS else value


@given(st.dictionaries(st.text(max_size=6), values, max_size=5))
def test_the_sdks_proxy_resolves_to_the_data_it_wraps_with_unknowns_marked(props: dict[str, Any]) -> None:
    assert resolve_unknowns(unknown_checking_proxy(props)) == _marked(props)


def test_plain_data_resolves_alike() -> None:
    props = {"spec": {"replicas": UNKNOWN_NUMBER_VALUE, "hosts": ["a", UNKNOWN_STRING_VALUE]}}
    assert resolve_unknowns(props) == {"spec": {"replicas": UNKNOWN, "hosts": ["a", UNKNOWN]}}
