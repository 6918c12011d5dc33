"""domain/pool_nodes.py: which Node is an instance's, readiness verdicts, what a drain evicts."""

from __future__ import annotations

from typing import Any

import pytest

from domain.pool_nodes import instance_nodes, is_instance_node, pods_to_evict, readiness_problem
from fakes.kubernetes_api import node, pod

AGENT = "sophia-lambda-gpu-0"
IPS = ["198.51.100.2", "10.0.2.100"]


@pytest.mark.parametrize(
    ("name", "external_ip", "internal_ip", "expected"),
    [
        (f"{AGENT}-0123abcd", "198.51.100.2", "10.0.2.100", True),
        (f"{AGENT}-0123abcd", None, "10.0.2.100", True),  # found by its private address alone
        (f"{AGENT}-0123abcd", "198.51.100.9", "10.0.2.9", False),  # a replaced instance's node
        (f"{AGENT}-0123abcdef", "198.51.100.2", "10.0.2.100", False),  # not k3s's 8-digit id
        (f"{AGENT}1-0123abcd", "198.51.100.2", "10.0.2.100", False),  # another pool node's name
        (AGENT, "198.51.100.2", "10.0.2.100", False),  # registered without --with-node-id
    ],
)
def test_the_instances_node_is_named_with_its_id_and_has_one_of_its_addresses(
    name: str, external_ip: str | None, internal_ip: str, expected: bool
) -> None:
    candidate = node(name, external_ip=external_ip, internal_ip=internal_ip)
    assert is_instance_node(candidate, AGENT, IPS) is expected


def test_no_addresses_yet_matches_nothing() -> None:
    assert instance_nodes([node(f"{AGENT}-0123abcd")], AGENT, ["", ""]) == []


def test_a_ready_node_with_its_slices_and_address_has_no_problem() -> None:
    assert readiness_problem(node(f"{AGENT}-0123abcd", gpus=4), 4, "198.51.100.2") is None


def test_a_cordoned_node_is_not_ready_for_new_replicas() -> None:
    cordoned: dict[str, Any] = {**node(f"{AGENT}-0123abcd"), "spec": {"unschedulable": True}}
    assert "cordoned" in str(readiness_problem(cordoned, 4, "198.51.100.2"))


def test_a_node_without_a_ready_condition_says_so() -> None:
    fresh = node(f"{AGENT}-0123abcd")
    fresh["status"]["conditions"] = []
    assert readiness_problem(fresh, 4, None) == "is not Ready (no Ready condition yet)"


def test_a_drain_leaves_daemonset_mirror_and_finished_pods() -> None:
    mirror = pod("kube-system", "static", "n", owner_kind=None)
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    finished = pod("mcp", "job-1", "n")
    finished["status"]["phase"] = "Succeeded"
    served = pod("mcp", "ai-memory-1", "n")
    daemon = pod("gpu-operator", "device-plugin", "n", owner_kind="DaemonSet")
    assert pods_to_evict([mirror, finished, served, daemon]) == [served]
