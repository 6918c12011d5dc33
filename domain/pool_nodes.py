"""Which Kubernetes Node is a pool instance's, whether it is ready for MCP servers, and what a drain evicts.

Owns the verdicts, as plain functions over Kubernetes objects (dicts as the API returns them):

* a pool instance's Node: the k3s agent registers as `<node name>-<node id>` (`--with-node-id`, see
  domain/cloud_init.py: the id is random, so the name alone is not known in advance) and advertises the
  instance's public address as its ExternalIP (`--node-external-ip`). The Node is the one whose name has the
  `<node name>-` prefix and whose addresses include the instance's public or private IP;
* ready: the Node's `Ready` condition is `True` and its allocatable `nvidia.com/gpu` equals the GPUs times the
  time-slicing replicas (what the device plugin advertises once it runs with the pool's config; kubernetes.io
  "Schedule GPUs"); not tainted `node.kubernetes.io/unschedulable` by a cordon;
* a drain evicts every pod on the Node except mirror pods (static pods, annotation
  `kubernetes.io/config.mirror`) and DaemonSet pods (their controller recreates them on the same node), like
  `kubectl drain --ignore-daemonsets`; pods already finished need no eviction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from domain.gpu import GPU_RESOURCE

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
# k3s's node id: a dash and 8 hex digits after the name given with --node-name (k3s pkg/agent/config,
# `ensureNodeID`: 4 random bytes, hex-encoded, kept in the agent's `id` file across restarts).
_NODE_ID = re.compile(r"^-[0-9a-f]{8}$")


def _addresses(node: Mapping[str, Any]) -> set[str]:
    status = node.get("status") or {}
    return {
        str(address.get("address"))
        for address in status.get("addresses") or []
        if isinstance(address, Mapping) and address.get("address")
    }


def node_name(node: Mapping[str, Any]) -> str:
    return str((node.get("metadata") or {}).get("name", ""))


def is_instance_node(node: Mapping[str, Any], agent_name: str, instance_ips: Iterable[str]) -> bool:
    """Whether `node` is the k3s agent `agent_name` running on the instance with these IPs."""
    name = node_name(node)
    if not name.startswith(agent_name) or not _NODE_ID.match(name[len(agent_name) :]):
        return False
    return bool(_addresses(node) & {ip for ip in instance_ips if ip})


def instance_nodes(
    nodes: Sequence[Mapping[str, Any]], agent_name: str, instance_ips: Iterable[str]
) -> list[Mapping[str, Any]]:
    """The Nodes registered by this instance (normally one; a k3s reinstall on the same host adds another)."""
    ips = [ip for ip in instance_ips if ip]
    return [node for node in nodes if is_instance_node(node, agent_name, ips)]


def _condition(node: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == kind:
            return condition
    return None


def readiness_problem(node: Mapping[str, Any], expected_gpus: int, external_ip: str | None) -> str | None:
    """What keeps this Node from taking its share of MCP replicas, or None when it is ready."""
    ready = _condition(node, "Ready")
    if ready is None or ready.get("status") != "True":
        reason = (ready or {}).get("reason") or "no Ready condition yet"
        message = (ready or {}).get("message")
        return f"is not Ready ({reason}{': ' + str(message) if message else ''})"
    if (node.get("spec") or {}).get("unschedulable"):
        return "is cordoned (spec.unschedulable); uncordon it or let its instance be replaced"
    allocatable = ((node.get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE)
    if allocatable is None:
        return (
            f"advertises no allocatable {GPU_RESOURCE}: the GPU Operator's device plugin has not started "
            "on it (check the gpu-operator namespace's pods on this node)"
        )
    if str(allocatable) != str(expected_gpus):
        return (
            f"advertises allocatable {GPU_RESOURCE} {allocatable}, expected {expected_gpus} (GPUs x "
            "time-slicing replicas): the device plugin has not loaded the pool's time-slicing config"
        )
    if external_ip:
        external = {
            str(address.get("address"))
            for address in (node.get("status") or {}).get("addresses") or []
            if isinstance(address, Mapping) and address.get("type") == "ExternalIP"
        }
        if external_ip not in external:
            shown = ", ".join(sorted(external)) or "none"
            return (
                f"advertises ExternalIP {shown}, not the instance's public address {external_ip}: the k3s "
                "WireGuard mesh cannot reach it (see /var/log/cloud-init-output.log on the instance)"
            )
    return None


def pods_to_evict(pods: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The pods a drain must evict: all but mirror pods, DaemonSet pods and pods that already finished."""
    evict = []
    for pod in pods:
        metadata = pod.get("metadata") or {}
        if MIRROR_POD_ANNOTATION in (metadata.get("annotations") or {}):
            continue
        if any(owner.get("kind") == "DaemonSet" for owner in metadata.get("ownerReferences") or []):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        evict.append(pod)
    return evict
