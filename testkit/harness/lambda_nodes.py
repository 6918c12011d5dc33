"""Lambda instances that become Kubernetes Nodes on the test control plane, as their cloud-init makes them.

A real pool instance boots, runs its `user_data` (domain/cloud_init.py) and the k3s agent registers a Node;
then the GPU Operator's device plugin reads the pool's time-slicing ConfigMap and advertises the slices.
Here `InstanceNodes` watches the loopback Lambda fake (testkit/fakes/lambda_cloud_api.py) from a thread and
does the same against the test control plane (testkit/harness/control_plane.py):

* an instance that has been `active` for `join_delay_s` registers a kwok-managed Node. Its name, labels and
  taints are read from the instance's own `user_data` (the k3s agent flags `--node-name`, `--with-node-id`,
  `--node-label`, `--node-taint`; docs.k3s.io/cli/agent): with `--with-node-id` the name gets k3s's random
  node id, a dash and 8 hex digits (k3s pkg/agent/config `ensureNodeID`). Its ExternalIP is the instance's
  `ip` (what `--node-external-ip` advertises), cpu and memory the instance type's;
* once the ConfigMap `gpu-operator/time-slicing-config` exists, every registered Node advertises
  `nvidia.com/gpu` = the instance type's GPUs x the replicas in that config (NVIDIA k8s-device-plugin README,
  "Shared Access to GPUs"), read with the domain's own parser.

Nothing else: Nodes are removed by the stack's PoolNode resources (or by a test), never by the watcher.
"""

from __future__ import annotations

import contextlib
import secrets
import shlex
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from domain.cloud_init import INSTALLER_FILE
from domain.gpu_pool import (
    OPERATOR_NAMESPACE,
    TIME_SLICING_CONFIG_KEY,
    TIME_SLICING_CONFIG_MAP,
    time_slicing_replicas,
)
from domain.lambda_catalog import instance_type_spec
from fakes.lambda_cloud_api import FakeLambdaCloud
from harness.control_plane import (
    KWOK_NODE_ANNOTATION,
    KWOK_NODE_ANNOTATION_VALUE,
    ApiError,
    KubeClient,
    NodeCapacity,
    set_node_gpus,
    taint_from_flag,
)
from harness.loops import controller_loop


class NotAnAgentDocument(ValueError):
    """User data that does not install a k3s agent the way domain/cloud_init.py writes it."""


@dataclass(frozen=True)
class AgentRegistration:
    """What the k3s agent in a user-data document registers: `--node-name` and friends."""

    node_name: str
    with_node_id: bool
    labels: dict[str, str]
    taints: list[dict[str, str]]

    def registered_name(self) -> str:
        """The Node's name as the agent registers it (a fresh random node id with `--with-node-id`)."""
        return f"{self.node_name}-{secrets.token_hex(4)}" if self.with_node_id else self.node_name


def agent_registration(user_data: str) -> AgentRegistration:
    """Parse the `sh <installer> agent ...` command of a `#cloud-config` document's runcmd."""
    document = yaml.safe_load(user_data)
    commands = document.get("runcmd") if isinstance(document, Mapping) else None
    for command in commands or []:
        words = shlex.split(command if isinstance(command, str) else " ".join(command))
        for index in range(len(words) - 2):
            if words[index : index + 3] == ["sh", INSTALLER_FILE, "agent"]:
                return _flags(words[index + 3 :])
    raise NotAnAgentDocument(f"no `sh {INSTALLER_FILE} agent ...` command in the user data's runcmd")


def _flags(words: list[str]) -> AgentRegistration:
    node_name, with_node_id = "", False
    labels: dict[str, str] = {}
    taints: list[dict[str, str]] = []
    position = 0
    while position < len(words):
        word = words[position]
        if word == "--with-node-id":
            with_node_id = True
        elif word in ("--node-name", "--node-label", "--node-taint", "--node-external-ip"):
            if position + 1 >= len(words):
                raise NotAnAgentDocument(f"{word} has no value")
            value = words[position + 1]
            position += 1
            if word == "--node-name":
                node_name = value
            elif word == "--node-label":
                key, _, label_value = value.partition("=")
                labels[key] = label_value
            elif word == "--node-taint":
                taints.append(taint_from_flag(value))
        position += 1
    if not node_name:
        raise NotAnAgentDocument("the agent command has no --node-name")
    return AgentRegistration(node_name, with_node_id, labels, taints)


@dataclass
class JoinedNode:
    instance_id: str
    name: str
    gpus: int
    advertised_gpus: int | None = None


@dataclass
class InstanceNodes:
    """The watcher: start it with `running()`; `nodes` maps instance ids to the Nodes they registered."""

    fake: FakeLambdaCloud
    client: KubeClient
    join_delay_s: float = 1.5
    interval_s: float = 0.2
    nodes: dict[str, JoinedNode] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _active_since: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextlib.contextmanager
    def running(self) -> Iterator[InstanceNodes]:
        caught = (ApiError, OSError, ValueError)  # ValueError: user data the agent could not have run
        with controller_loop("instance-node watcher", self._step, self.interval_s, self.errors, caught):
            yield self

    def node_of(self, instance_id: str) -> str | None:
        with self._lock:
            joined = self.nodes.get(instance_id)
            return joined.name if joined else None

    def _step(self) -> None:
        now = time.monotonic()
        for instance in list(self.fake.instances.values()):
            if instance.id in self.nodes or self.fake.status_of(instance.id) != "active":
                continue
            since = self._active_since.setdefault(instance.id, now)
            if now - since >= self.join_delay_s:
                self._join(instance.id, instance.user_data or "", instance.instance_type, instance.ip)
        replicas = self._time_slicing_replicas()
        if replicas is None:
            return
        with self._lock:
            pending = [node for node in self.nodes.values() if node.advertised_gpus != node.gpus * replicas]
        for node in pending:
            try:
                set_node_gpus(self.client, node.name, node.gpus * replicas)
            except ApiError as error:
                if error.status != 404:  # deleted by its PoolNode meanwhile: nothing to advertise
                    raise
            node.advertised_gpus = node.gpus * replicas

    def _join(self, instance_id: str, user_data: str, instance_type: str, ip: str) -> None:
        registration = agent_registration(user_data)
        spec = instance_type_spec(instance_type)
        name = registration.registered_name()
        resources = NodeCapacity(cpu=str(spec.vcpus), memory=f"{spec.memory_gib}Gi").as_status()
        self.client.create(
            "/api/v1/nodes",
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "labels": {
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                        **registration.labels,
                    },
                    "annotations": {KWOK_NODE_ANNOTATION: KWOK_NODE_ANNOTATION_VALUE},
                },
                "spec": {"taints": registration.taints},
                "status": {
                    "capacity": resources,
                    "allocatable": resources,
                    "addresses": [
                        {"type": "ExternalIP", "address": ip},
                        {"type": "Hostname", "address": name},
                    ],
                },
            },
        )
        with self._lock:
            self.nodes[instance_id] = JoinedNode(instance_id, name, spec.gpus)

    def _time_slicing_replicas(self) -> int | None:
        try:
            config_map: dict[str, Any] = self.client.get(
                f"/api/v1/namespaces/{OPERATOR_NAMESPACE}/configmaps/{TIME_SLICING_CONFIG_MAP}"
            )
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return time_slicing_replicas((config_map.get("data") or {}).get(TIME_SLICING_CONFIG_KEY))
