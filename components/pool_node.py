"""A GPU pool instance's membership of the cluster, as a Pulumi resource (a Python dynamic provider).

One `PoolNode` per Lambda instance, created after the instance and the GPU Operator:

* create (and update, when the expected GPU count changes) waits, up to `ready_timeout_s`, until the
  instance's Kubernetes Node has joined, is `Ready`, and advertises the expected allocatable
  `nvidia.com/gpu` (GPUs x time-slicing replicas) with the instance's public address as ExternalIP; the
  verdicts are domain/pool_nodes.py's. A timeout fails `pulumi up` naming the node (or the instance that
  never registered one) and what is missing, before any MCP release is created.
* delete (the instance is being replaced or removed; Pulumi deletes this first, since it depends on the
  instance) cordons the Node, evicts its pods through the Eviction API (PodDisruptionBudgets are honoured:
  refused evictions are retried until `drain_timeout_s`), then deletes the Node. A drain that runs out of time
  still deletes the Node, since its machine is going away either way, and logs which pods were left.

Without this, a replaced instance would leave a NotReady Node behind: with `--with-node-id` every
replacement registers under a new name, so nothing else ever removes the old one.

The provider talks to the API server with the stack's kubeconfig (a secret input, read at call time and never
kept on the provider, which dill pickles into the state by module path).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.provider_inputs import number, unwrap_secret
from domain.pool_nodes import instance_nodes, node_name, pods_to_evict, readiness_problem
from kubeapi.client import KubeApiError, KubeClient

DEFAULT_READY_TIMEOUT_S = 1800.0  # boot, toolkit install, k3s join and the operator's operands
DEFAULT_DRAIN_TIMEOUT_S = 300.0
DEFAULT_POLL_INTERVAL_S = 10.0
REPLACE_PROPERTIES = ("instance_id", "agent_name")
IN_PLACE_PROPERTIES = (
    "kubeconfig",
    "instance_ips",
    "external_ip",
    "expected_gpus",
    "ready_timeout_s",
    "drain_timeout_s",
    "poll_interval_s",
)
INPUT_PROPERTIES = REPLACE_PROPERTIES + IN_PLACE_PROPERTIES

_log = logging.getLogger(__name__)


class PoolNodeError(Exception):
    """A pool node that did not become ready in time; the message names it and what is missing."""


@dataclass(frozen=True)
class _Settings:
    kubeconfig: str
    instance_id: str
    agent_name: str
    instance_ips: tuple[str, ...]
    external_ip: str
    expected_gpus: int
    ready_timeout_s: float
    drain_timeout_s: float
    poll_interval_s: float

    def __repr__(self) -> str:
        return f"_Settings(agent_name={self.agent_name!r}, instance_id={self.instance_id!r})"

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> _Settings:
        return cls(
            kubeconfig=str(unwrap_secret(props.get("kubeconfig")) or ""),
            instance_id=str(unwrap_secret(props.get("instance_id"))),
            agent_name=str(unwrap_secret(props.get("agent_name"))),
            instance_ips=tuple(
                str(unwrap_secret(ip)) for ip in unwrap_secret(props.get("instance_ips")) or [] if ip
            ),
            external_ip=str(unwrap_secret(props.get("external_ip")) or ""),
            expected_gpus=int(unwrap_secret(props.get("expected_gpus")) or 0),
            ready_timeout_s=number(props, "ready_timeout_s", DEFAULT_READY_TIMEOUT_S),
            drain_timeout_s=number(props, "drain_timeout_s", DEFAULT_DRAIN_TIMEOUT_S),
            poll_interval_s=number(props, "poll_interval_s", DEFAULT_POLL_INTERVAL_S),
        )

    def client(self) -> KubeClient:
        return KubeClient.from_kubeconfig(self.kubeconfig)

    @property
    def instance(self) -> str:
        return f"Lambda instance {self.instance_id} ({', '.join(self.instance_ips) or 'no IP yet'})"


def _until(timeout_s: float, poll_s: float, attempt: Callable[[], bool]) -> bool:
    """Call `attempt` until it returns True or `timeout_s` has passed; at least once."""
    deadline = time.monotonic() + timeout_s
    while True:
        if attempt():
            return True
        if time.monotonic() + poll_s > deadline:
            return False
        time.sleep(poll_s)


def wait_until_ready(settings: _Settings) -> str:
    """The Node's name once it is ready; PoolNodeError naming the node and what is missing otherwise."""
    client = settings.client()
    last: dict[str, str] = {"node": "", "problem": ""}

    def ready() -> bool:
        try:
            nodes = instance_nodes(client.list_nodes(), settings.agent_name, settings.instance_ips)
        except KubeApiError as error:
            last.update(node="", problem=f"the API server did not answer ({error})")
            return False
        if not nodes:
            last.update(node="", problem="")
            return False
        # The newest registration is the live agent (a reinstall on the same host adds a node id).
        node = max(nodes, key=lambda item: str((item.get("metadata") or {}).get("creationTimestamp", "")))
        problem = readiness_problem(node, settings.expected_gpus, settings.external_ip or None)
        last.update(node=node_name(node), problem=problem or "")
        return problem is None

    if _until(settings.ready_timeout_s, settings.poll_interval_s, ready):
        return last["node"]
    waited = f"after {settings.ready_timeout_s:g}s"
    if last["node"]:
        raise PoolNodeError(f"GPU node {last['node']} ({settings.instance}) {last['problem']} {waited}")
    if last["problem"]:
        raise PoolNodeError(
            f"GPU node {settings.agent_name} ({settings.instance}): {last['problem']} {waited}"
        )
    raise PoolNodeError(
        f"GPU node {settings.agent_name} ({settings.instance}) has not joined the cluster {waited}: no Node "
        f"named {settings.agent_name}-<node id> with one of its addresses. On the instance, "
        "/var/log/cloud-init-output.log shows the join; check that the k3s server URL is reachable and the "
        "join token is the server's"
    )


def drain_and_delete(settings: _Settings, known_node: str | None) -> None:
    """Cordon, drain (bounded) and delete every Node this instance registered."""
    client = settings.client()
    nodes = [
        node_name(node)
        for node in instance_nodes(client.list_nodes(), settings.agent_name, settings.instance_ips)
    ]
    if known_node and known_node not in nodes and client.get_node(known_node) is not None:
        nodes.append(known_node)
    for name in nodes:
        client.cordon(name)

        def drained(name: str = name) -> bool:
            remaining = pods_to_evict(client.pods_on_node(name))
            for pod in remaining:
                metadata = pod.get("metadata") or {}
                # An evicted pod stays listed while it terminates; ask once, then wait for it to go.
                if not metadata.get("deletionTimestamp"):
                    client.evict(str(metadata.get("namespace")), str(metadata.get("name")))
            return not remaining

        if not _until(settings.drain_timeout_s, settings.poll_interval_s, drained):
            left = [
                f"{(pod.get('metadata') or {}).get('namespace')}/{(pod.get('metadata') or {}).get('name')}"
                for pod in pods_to_evict(client.pods_on_node(name))
            ]
            _log.warning(
                "drain of %s ran out after %ss with %s still on it; deleting the node anyway, its instance "
                "is going away",
                name,
                settings.drain_timeout_s,
                ", ".join(left),
            )
        client.delete_node(name)
        _log.info("deleted node %s of %s", name, settings.instance)


def _inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: props[key] for key in INPUT_PROPERTIES if key in props}


class PoolNodeProvider(dynamic.ResourceProvider):
    """Wait for a pool node on create/update; cordon, drain and delete it on delete. Stateless."""

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        settings = _Settings.from_props(props)
        name = wait_until_ready(settings)
        return dynamic.CreateResult(f"{settings.instance_id}", {**_inputs_of(props), "node_name": name})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = [
            key for key in REPLACE_PROPERTIES if unwrap_secret(olds.get(key)) != unwrap_secret(news.get(key))
        ]
        changed = [
            key for key in IN_PLACE_PROPERTIES if unwrap_secret(olds.get(key)) != unwrap_secret(news.get(key))
        ]
        return dynamic.DiffResult(changes=bool(replaces or changed), replaces=replaces)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        settings = _Settings.from_props(news)
        name = wait_until_ready(settings)
        return dynamic.UpdateResult({**_inputs_of(news), "node_name": name})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        settings = _Settings.from_props(props)
        drain_and_delete(settings, str(unwrap_secret(props.get("node_name")) or "") or None)


@dataclass
class PoolNodeArgs:
    """The instance whose Node this is, what it must advertise, and the cluster's kubeconfig."""

    kubeconfig: pulumi.Input[str]
    instance_id: pulumi.Input[str]
    agent_name: pulumi.Input[str]
    instance_ips: pulumi.Input[list[pulumi.Input[str]]]
    external_ip: pulumi.Input[str]
    expected_gpus: pulumi.Input[int]
    ready_timeout_s: pulumi.Input[float] = DEFAULT_READY_TIMEOUT_S
    drain_timeout_s: pulumi.Input[float] = DEFAULT_DRAIN_TIMEOUT_S
    poll_interval_s: pulumi.Input[float] = DEFAULT_POLL_INTERVAL_S


class PoolNode(dynamic.Resource, module="k3s", name="PoolNode"):
    """A pool instance's Kubernetes Node (type `pulumi-python:dynamic/k3s:PoolNode`)."""

    node_name: pulumi.Output[str]

    def __init__(self, resource_name: str, args: PoolNodeArgs, opts: pulumi.ResourceOptions | None = None):
        props: dict[str, Any] = {
            "kubeconfig": pulumi.Output.secret(args.kubeconfig),
            "instance_id": args.instance_id,
            "agent_name": args.agent_name,
            "instance_ips": args.instance_ips,
            "external_ip": args.external_ip,
            "expected_gpus": args.expected_gpus,
            "ready_timeout_s": args.ready_timeout_s,
            "drain_timeout_s": args.drain_timeout_s,
            "poll_interval_s": args.poll_interval_s,
            "node_name": None,
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"])
        super().__init__(
            PoolNodeProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_outputs)
        )
