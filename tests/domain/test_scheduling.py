"""domain/scheduling.py: node selection judged as kube-scheduler judges it, on pool and other nodes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.gpu_pool import POOL_LABEL
from domain.scheduling import (
    NODE_OUTSIDE_POOL,
    InvalidSelector,
    Requirement,
    UnknownSelector,
    node_selection,
    placement,
    pool_node,
)
from domain.unknown import UNKNOWN


def affinity(*terms: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": list(term)} for term in terms]
                }
            }
        }
    }


def expression(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator} | ({"values": list(values)} if values else {})


@pytest.mark.parametrize(
    ("pod_spec", "on_pool"),
    [
        ({"nodeSelector": {POOL_LABEL: "gpu"}}, True),
        (affinity([expression(POOL_LABEL, "In", "gpu")]), True),
        (affinity([expression(POOL_LABEL, "Exists")]), True),
        (affinity([expression("nvidia.com/gpu.present", "In", "true")]), True),
        (affinity([expression("nvidia.com/gpu.count", "Gt", "0")]), True),
        # other labels only: a CPU node fits as well
        ({"nodeSelector": {"kubernetes.io/os": "linux"}}, False),
        (affinity([expression("kubernetes.io/arch", "In", "amd64")]), False),
        # NotIn and DoesNotExist also match a node without the pool label
        (affinity([expression(POOL_LABEL, "NotIn", "cpu")]), False),
        (affinity([expression(POOL_LABEL, "DoesNotExist")]), False),
        # one term pins, the other does not: the terms are ORed
        (
            affinity([expression(POOL_LABEL, "In", "gpu")], [expression("kubernetes.io/os", "In", "linux")]),
            False,
        ),
        # a term the pool's nodes fail: the pod never schedules on the pool
        ({"nodeSelector": {POOL_LABEL: "gpu", "disktype": "ssd"}}, False),
        (
            affinity([expression(POOL_LABEL, "In", "gpu"), expression("kubernetes.io/os", "In", "windows")]),
            False,
        ),
        # nodeSelector AND the affinity term
        (
            {"nodeSelector": {"kubernetes.io/os": "linux"}} | affinity([expression(POOL_LABEL, "In", "gpu")]),
            True,
        ),
        # an empty term matches no node
        (affinity([]), False),
    ],
)
def test_placement_on_the_pool(pod_spec: dict[str, Any], on_pool: bool) -> None:
    assert placement(node_selection(pod_spec)).on_pool is on_pool


def test_the_pools_a_selection_may_land_on() -> None:
    pinned = node_selection({"nodeSelector": {POOL_LABEL: "a10"}})
    either = node_selection(affinity([expression(POOL_LABEL, "In", "a10", "h100")]))
    any_gpu = node_selection(affinity([expression("nvidia.com/gpu.present", "In", "true")]))
    assert pinned.pools_it_may_land_on(["a10", "h100"]) == ["a10"]
    assert either.pools_it_may_land_on(["a10", "h100"]) == ["a10", "h100"]
    assert any_gpu.pools_it_may_land_on(["a10", "h100"]) == ["a10", "h100"]


@pytest.mark.parametrize(
    ("pod_spec", "error"),
    [
        ({"nodeSelector": UNKNOWN}, UnknownSelector),
        ({"nodeSelector": {POOL_LABEL: UNKNOWN}}, UnknownSelector),
        (affinity([expression(POOL_LABEL, "In", UNKNOWN)]), UnknownSelector),  # type: ignore[arg-type]
        (affinity([expression(POOL_LABEL, "Equals", "gpu")]), InvalidSelector),
        (affinity([expression("nvidia.com/gpu.count", "Gt", "one")]), InvalidSelector),
        (affinity([expression(POOL_LABEL, "In")]), InvalidSelector),
    ],
)
def test_unknown_and_invalid_selections_are_told_apart(pod_spec: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        node_selection(pod_spec)


KEYS = st.sampled_from([POOL_LABEL, "kubernetes.io/os", "nvidia.com/gpu.count", "disktype"])
VALUES = st.sampled_from(["gpu", "linux", "0", "4", "ssd"])


@st.composite
def requirements(draw: st.DrawFn) -> dict[str, Any]:
    operator = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]))
    key = draw(KEYS)
    if operator in ("Exists", "DoesNotExist"):
        return expression(key, operator)
    if operator in ("Gt", "Lt"):
        return expression(key, operator, str(draw(st.integers(-2, 6))))
    return expression(key, operator, *draw(st.lists(VALUES, min_size=1, max_size=3, unique=True)))


TERMS = st.lists(st.lists(requirements(), min_size=1, max_size=3), min_size=1, max_size=3)
NODE_LABELS = st.dictionaries(KEYS, VALUES, max_size=4)


def matches_like_the_scheduler(labels: dict[str, str], terms: list[list[dict[str, Any]]]) -> bool:
    """An independent reading of the NodeAffinity plugin: one term whose every requirement holds."""

    def holds(item: dict[str, Any]) -> bool:
        value = labels.get(item["key"])
        operator, values = item["operator"], item.get("values", [])
        if operator == "In":
            return value in values
        if operator == "NotIn":
            return value not in values
        if operator == "Exists":
            return value is not None
        if operator == "DoesNotExist":
            return value is None
        if value is None or not value.lstrip("-").isdigit():
            return False
        return int(value) > int(values[0]) if operator == "Gt" else int(value) < int(values[0])

    return any(all(holds(item) for item in term) for term in terms)


@settings(max_examples=300, deadline=None)
@given(TERMS, NODE_LABELS)
def test_any_pod_whose_affinity_cannot_exclude_a_non_pool_node_is_refused(
    terms: list[list[dict[str, Any]]], labels: dict[str, str]
) -> None:
    """Whenever some concrete node without the pool label fits, the pod is not placed on the pool."""
    outside = {
        key: value for key, value in labels.items() if key != POOL_LABEL and not key.startswith("nvidia")
    }
    decided = placement(node_selection(affinity(*terms)))
    if matches_like_the_scheduler(outside, terms):
        assert decided.escapes_pool
        assert not decided.on_pool


@settings(max_examples=300, deadline=None)
@given(TERMS, st.sampled_from(["0", "1", "4"]))
def test_a_pool_node_that_fits_is_found(terms: list[list[dict[str, Any]]], count: str) -> None:
    """Whenever a concrete node of the pool fits, the model says the pool fits."""
    node = {POOL_LABEL: "gpu", "kubernetes.io/os": "linux", "nvidia.com/gpu.count": count}
    selection = node_selection(affinity(*terms))
    if matches_like_the_scheduler(node, terms):
        assert selection.fits(pool_node("gpu"))


def test_requirements_read_as_the_api_documents_them() -> None:
    assert Requirement("k", "NotIn", ("a",)).matches(None)
    assert not Requirement("k", "Gt", ("3",)).matches("three")
    assert Requirement("k", "Lt", ("3",)).matches("2")
    assert NODE_OUTSIDE_POOL.label(POOL_LABEL) is None
