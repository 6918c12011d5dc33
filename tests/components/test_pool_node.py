"""PoolNode against a loopback Kubernetes API: readiness on create, cordon/drain/delete on delete."""

from __future__ import annotations

import base64
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.pool_node import PoolNodeError, PoolNodeProvider
from fakes.kubernetes_api import TOKEN, FakeCluster, kubeconfig, make_tls, node, pod, serve
from kubeapi.client import KubeApiError, KubeClient

AGENT = "sophia-p-0"
NODE = f"{AGENT}-0123abcd"
PUBLIC_IP = "198.51.100.2"
PRIVATE_IP = "10.0.2.100"


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def config(cluster: FakeCluster) -> Iterator[str]:
    with serve(cluster) as served:
        yield served


def _props(config: str, **overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "kubeconfig": config,
        "instance_id": "0920582c7ff041399e34823a0be62549",
        "agent_name": AGENT,
        "instance_ips": [PUBLIC_IP, PRIVATE_IP],
        "external_ip": PUBLIC_IP,
        "expected_gpus": 4,
        # Bounded and short: every wait below either succeeds at once or is meant to run out.
        "ready_timeout_s": 0.3,
        "drain_timeout_s": 0.3,
        "poll_interval_s": 0.05,
    }
    props.update(overrides)
    return props


def _outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


def _create_error(config: str, **overrides: Any) -> str:
    with pytest.raises(PoolNodeError) as raised:
        PoolNodeProvider().create(_props(config, **overrides))
    return str(raised.value)


# --- readiness


def test_a_joined_ready_node_with_its_slices_is_ready(cluster: FakeCluster, config: str) -> None:
    cluster.add_node(node(NODE))
    outs = _outs(PoolNodeProvider().create(_props(config)))
    assert (outs["node_name"], outs["expected_gpus"]) == (NODE, 4)


def test_the_wait_sees_a_node_that_joins_later(cluster: FakeCluster, config: str) -> None:
    cluster.joins.append((2, node(NODE)))
    assert _outs(PoolNodeProvider().create(_props(config, ready_timeout_s=5)))["node_name"] == NODE
    assert cluster.node_lists == 3


def test_no_node_at_all_names_the_instance_and_where_to_look(config: str) -> None:
    message = _create_error(config)
    assert f"GPU node {AGENT} (Lambda instance 0920582c7ff041399e34823a0be62549" in message
    assert "has not joined the cluster after 0.3s" in message
    assert "cloud-init-output.log" in message


def test_a_not_ready_node_is_named_with_the_kubelets_reason(cluster: FakeCluster, config: str) -> None:
    cluster.add_node(node(NODE, ready=False))
    message = _create_error(config)
    assert message.startswith(f"GPU node {NODE} ")
    assert "is not Ready (KubeletNotReady: container runtime is down)" in message


@pytest.mark.parametrize(
    ("gpus", "fragment"),
    [
        (None, "advertises no allocatable nvidia.com/gpu"),
        (1, "advertises allocatable nvidia.com/gpu 1, expected 4"),
    ],
)
def test_missing_gpu_slices_are_named(
    cluster: FakeCluster, config: str, gpus: int | None, fragment: str
) -> None:
    cluster.add_node(node(NODE, gpus=gpus))
    message = _create_error(config)
    assert NODE in message
    assert fragment in message


def test_a_node_advertising_another_external_ip_is_not_ready(cluster: FakeCluster, config: str) -> None:
    cluster.add_node(node(NODE, external_ip=None, internal_ip=PUBLIC_IP))
    assert "advertises ExternalIP none, not the instance's public address" in _create_error(config)


def test_a_left_over_node_of_a_replaced_instance_is_not_taken_for_the_new_one(
    cluster: FakeCluster, config: str
) -> None:
    cluster.add_node(node(f"{AGENT}-ffffffff", external_ip="198.51.100.99", internal_ip="10.0.2.99"))
    assert "has not joined the cluster" in _create_error(config)


def test_an_unauthorised_kubeconfig_is_reported(cluster: FakeCluster, config: str) -> None:
    server = KubeClient.from_kubeconfig(config)._credentials.server
    message = _create_error(kubeconfig(server, token="wrong"))
    assert "the API server did not answer" in message
    assert "HTTP 401" in message


def test_a_new_expected_gpu_count_waits_again_in_place(cluster: FakeCluster, config: str) -> None:
    cluster.add_node(node(NODE, gpus=8))
    provider = PoolNodeProvider()
    olds = _props(config)
    news = _props(config, expected_gpus=8)
    diff = provider.diff("id", olds, news)
    assert diff.changes and not diff.replaces
    assert _outs(provider.update("id", olds, news))["node_name"] == NODE


def test_a_new_instance_replaces_the_membership() -> None:
    diff = PoolNodeProvider().diff("id", _props("k"), _props("k", instance_id="other"))
    assert diff.replaces == ["instance_id"]


# --- nodes left behind


def _pods(cluster: FakeCluster) -> set[str]:
    return {f"{item['metadata']['namespace']}/{item['metadata']['name']}" for item in cluster.pods}


def test_delete_cordons_drains_and_deletes_the_node(cluster: FakeCluster, config: str) -> None:
    cluster.add_node(node(NODE))
    cluster.add_node(node("other-node", external_ip="198.51.100.50", internal_ip="10.0.2.50"))
    cluster.pods += [
        pod("mcp", "ai-memory-1", NODE),
        pod("mcp", "linear-1", NODE),
        pod("gpu-operator", "nvidia-device-plugin-x", NODE, owner_kind="DaemonSet"),
        pod("mcp", "gong-1", "other-node"),
    ]
    # The MCP release's PodDisruptionBudget refuses the first two evictions of ai-memory-1.
    cluster.disruption_refusals["mcp/ai-memory-1"] = 2
    PoolNodeProvider().delete("id", {**_props(config, drain_timeout_s=5), "node_name": NODE})
    assert set(cluster.nodes) == {"other-node"}
    assert _pods(cluster) == {"mcp/gong-1"}
    calls = [(method, path.split("?")[0]) for method, path in cluster.requests]
    cordon = calls.index(("PATCH", f"/api/v1/nodes/{NODE}"))
    evictions = [i for i, call in enumerate(calls) if call[1].endswith("/eviction")]
    delete = calls.index(("DELETE", f"/api/v1/nodes/{NODE}"))
    assert cordon < min(evictions) and max(evictions) < delete
    # The DaemonSet's pod is left to its controller, as kubectl drain --ignore-daemonsets does.
    assert not any("nvidia-device-plugin" in path for _, path in calls if path.endswith("/eviction"))
    assert len(evictions) == 4  # ai-memory-1 three times, linear-1 once


def test_a_drain_that_runs_out_still_deletes_the_node_and_says_what_was_left(
    cluster: FakeCluster, config: str, caplog: pytest.LogCaptureFixture
) -> None:
    cluster.add_node(node(NODE))
    cluster.pods.append(pod("mcp", "ai-memory-1", NODE))
    cluster.disruption_refusals["mcp/ai-memory-1"] = -1
    with caplog.at_level(logging.WARNING):
        PoolNodeProvider().delete("id", {**_props(config), "node_name": NODE})
    assert NODE not in cluster.nodes
    assert "mcp/ai-memory-1" in caplog.text
    assert "deleting the node anyway" in caplog.text


def test_deleting_when_the_node_is_already_gone_succeeds(cluster: FakeCluster, config: str) -> None:
    PoolNodeProvider().delete("id", {**_props(config), "node_name": NODE})
    assert [method for method, _ in cluster.requests] == ["GET", "GET"]


# --- the fake answers like the API server


def test_the_fake_refuses_what_the_api_server_refuses(cluster: FakeCluster, config: str) -> None:
    cluster.add_node(node(NODE))
    client = KubeClient.from_kubeconfig(config)
    with pytest.raises(KubeApiError) as not_found:
        client._call("GET", "/api/v1/namespaces")
    assert not_found.value.status == 404
    with pytest.raises(KubeApiError) as wrong_verb:
        client._call("PUT", f"/api/v1/nodes/{NODE}", {})
    assert wrong_verb.value.status == 405
    with pytest.raises(KubeApiError) as wrong_type:
        client._call("PATCH", f"/api/v1/nodes/{NODE}", {"spec": {"unschedulable": True}})
    assert wrong_type.value.status == 415
    with pytest.raises(KubeApiError) as invalid:
        client._call(
            "PATCH", f"/api/v1/nodes/{NODE}", {"spec": {"unschedulabl": True}}, "application/merge-patch+json"
        )
    assert invalid.value.status == 422
    client.cordon(NODE)
    assert cluster.nodes[NODE]["spec"] == {"unschedulable": True}


@pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl command issues the test certificates"
)
def test_the_client_speaks_tls_with_the_kubeconfigs_ca_and_client_certificate(tmp_path: Path) -> None:
    cluster = FakeCluster()
    cluster.add_node(node(NODE))
    with serve(cluster, make_tls(tmp_path)) as config:
        assert "client-certificate-data" in config
        assert _outs(PoolNodeProvider().create(_props(config)))["node_name"] == NODE
        # The private key never stays on disk: it exists only while ssl loads it.
        assert not list(Path("/tmp").glob("kubeapi-*/client.key"))


def test_the_pickled_provider_holds_no_kubeconfig(cluster: FakeCluster, config: str) -> None:
    provider = PoolNodeProvider()
    cluster.add_node(node(NODE))
    provider.create(_props(config))
    pickled = base64.b64decode(serialize_provider(provider))
    assert TOKEN.encode() not in pickled
    # The engine unpickles exactly this blob in the provider process; it is our own, not untrusted input.
    assert isinstance(dill.loads(pickled), PoolNodeProvider)  # noqa: S301
