"""The network path from the GPU nodes to the k3s server: the documented port table and what it opens.

Owns the design choice and its rules. The GPU nodes are Lambda instances; the k3s server is elsewhere, so the
nodes and the server share no private network. k3s documents this case ("Distributed hybrid or multicloud
cluster", docs.k3s.io/networking/distributed-multicloud): every node needs a unique address it can be reached
at, usually a public IP; supervisor traffic rides a websocket tunnel to the server's port 6443 and cluster
(CNI) traffic a WireGuard mesh. The server runs with
`--node-external-ip=<server public IP> --flannel-backend=wireguard-native --flannel-external-ip` and every
agent with `--node-external-ip=<agent public IP>`. Flannel options are server options only
(docs.k3s.io/networking/basic-network-options, "Flannel Options"), so the agents carry only their own address.

Which ports each node must accept comes from the k3s "Requirements" page, "Inbound Rules for K3s Nodes"
(docs.k3s.io/installation/requirements), copied as data in `K3S_INBOUND_RULES` below. In this cluster's
mode (wireguard-native over IPv4, one server without embedded-etcd HA, no embedded registry) an agent must
accept exactly UDP 51820 (WireGuard, IPv4) and TCP 10250 (kubelet), and only from other nodes: the server's
public address and the pool's own instances.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

WIREGUARD_BACKEND = "wireguard-native"
# The server-side flags of the design; the server is not this stack's, so these are what its README asks for.
SERVER_FLAGS = (
    "--node-external-ip=<server public IP>",
    f"--flannel-backend={WIREGUARD_BACKEND}",
    "--flannel-external-ip",
)


class Role(Enum):
    SERVERS = "servers"
    AGENTS = "agents"
    ALL_NODES = "all nodes"


class Feature(Enum):
    """What a documented rule is 'required only' for; None in the table means always."""

    HA_EMBEDDED_ETCD = "HA with embedded etcd"
    FLANNEL_VXLAN = "Flannel VXLAN"
    FLANNEL_WIREGUARD_IPV4 = "Flannel Wireguard with IPv4"
    FLANNEL_WIREGUARD_IPV6 = "Flannel Wireguard with IPv6"
    EMBEDDED_REGISTRY = "embedded distributed registry (Spegel)"


@dataclass(frozen=True)
class InboundRule:
    """One row of k3s's "Inbound Rules for K3s Nodes"."""

    protocol: str
    ports: tuple[int, int]
    source: Role
    destination: Role
    description: str
    only_for: Feature | None = None


# docs.k3s.io/installation/requirements, "Networking" > "Inbound Rules for K3s Nodes", row by row.
K3S_INBOUND_RULES: tuple[InboundRule, ...] = (
    InboundRule("tcp", (2379, 2380), Role.SERVERS, Role.SERVERS, "etcd", Feature.HA_EMBEDDED_ETCD),
    InboundRule("tcp", (6443, 6443), Role.AGENTS, Role.SERVERS, "K3s supervisor and Kubernetes API Server"),
    InboundRule("udp", (8472, 8472), Role.ALL_NODES, Role.ALL_NODES, "Flannel VXLAN", Feature.FLANNEL_VXLAN),
    InboundRule("tcp", (10250, 10250), Role.ALL_NODES, Role.ALL_NODES, "Kubelet metrics"),
    InboundRule(
        "udp", (51820, 51820), Role.ALL_NODES, Role.ALL_NODES, "WireGuard", Feature.FLANNEL_WIREGUARD_IPV4
    ),
    InboundRule(
        "udp", (51821, 51821), Role.ALL_NODES, Role.ALL_NODES, "WireGuard", Feature.FLANNEL_WIREGUARD_IPV6
    ),
    InboundRule(
        "tcp", (5001, 5001), Role.ALL_NODES, Role.ALL_NODES, "Spegel registry", Feature.EMBEDDED_REGISTRY
    ),
    InboundRule(
        "tcp", (6443, 6443), Role.ALL_NODES, Role.ALL_NODES, "Spegel registry", Feature.EMBEDDED_REGISTRY
    ),
)

# This cluster: WireGuard over IPv4 only (Lambda firewall sources are IPv4), one server, no Spegel.
CLUSTER_FEATURES = frozenset({Feature.FLANNEL_WIREGUARD_IPV4})


def rules_for(destination: Role, features: frozenset[Feature] = CLUSTER_FEATURES) -> list[InboundRule]:
    """The documented rules a node of this role must accept, in this cluster's mode."""
    return [
        rule
        for rule in K3S_INBOUND_RULES
        if rule.destination in (destination, Role.ALL_NODES)
        and (rule.only_for is None or rule.only_for in features)
    ]


def agent_firewall_rules(server_public_ip: str, peer_ips: list[str] | None = None) -> list[dict[str, Any]]:
    """The Lambda firewall rules (OpenAPI 1.10.0 `FirewallRule`) an agent needs: each documented agent port,
    from the server's public address and from each pool peer (one /32 source per rule; Lambda rules take one
    `source_network` each)."""
    sources = [("k3s server", server_public_ip), *(("pool node", ip) for ip in peer_ips or [])]
    rules: list[dict[str, Any]] = []
    for rule in rules_for(Role.AGENTS):
        # Every agent rule's source is "all nodes": the server and the other agents.
        for who, address in sources:
            rules.append(
                {
                    "protocol": rule.protocol,
                    "port_range": list(rule.ports),
                    "source_network": f"{address}/32",
                    "description": f"k3s {rule.description} from the {who}",
                }
            )
    return rules


class InvalidServerAddress(ValueError):
    """A k3s server address a Lambda instance could not reach; `setting` is `server_url` or `public_ip`."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


# Names that only resolve inside a private network: a Lambda instance has no resolver for them.
_PRIVATE_SUFFIXES = (".internal", ".local", ".localdomain", ".lan", ".home.arpa", ".corp", ".intranet")
_HOST = re.compile(r"^https://(?P<host>[^/:]+)(:\d+)?/?$")
# RFC 1918, RFC 6598 (carrier-grade NAT), loopback, link-local, multicast and unspecified addresses.
_UNREACHABLE = tuple(
    ipaddress.IPv4Network(network)
    for network in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "0.0.0.0/8",
    )
)


def _url_address(server_url: str) -> tuple[str, ipaddress.IPv4Address | None]:
    match = _HOST.match(server_url)
    host = match["host"].lower() if match else ""
    try:
        return host, ipaddress.IPv4Address(host)
    except ValueError:
        return host, None


def check_server_url(server_url: str) -> None:
    """The URL must be reachable from another network: a public IPv4 address or a public name."""
    host, address = _url_address(server_url)
    if address is not None and any(address in network for network in _UNREACHABLE):
        raise InvalidServerAddress(
            f"the k3s server URL {server_url!r} names the private address {address}, which a Lambda instance "
            "cannot reach; use the server's public address",
            "server_url",
        )
    if address is None and (host.endswith(_PRIVATE_SUFFIXES) or "." not in host):
        raise InvalidServerAddress(
            f"the k3s server URL {server_url!r} uses a private name that a Lambda instance cannot resolve; "
            "use the server's public address (https://<public IP>:6443) or a public DNS name for it",
            "server_url",
        )


def check_server_public_ip(server_public_ip: str, server_url: str | None = None) -> None:
    """A public IPv4 address, and the one the URL names when the URL names an address."""
    try:
        address = ipaddress.IPv4Address(server_public_ip)
    except ValueError:
        raise InvalidServerAddress(
            f"{server_public_ip!r} is not an IPv4 address; give the k3s server's public IPv4 address",
            "public_ip",
        ) from None
    if any(address in network for network in _UNREACHABLE):
        raise InvalidServerAddress(
            f"{server_public_ip} is a private, shared, loopback or link-local address, which Lambda "
            "instances cannot reach; give the address the server is reachable at from the internet",
            "public_ip",
        )
    url_address = _url_address(server_url)[1] if server_url else None
    if url_address is not None and url_address != address:
        raise InvalidServerAddress(
            f"{server_public_ip} is not the address the k3s server URL {server_url!r} names ({url_address}); "
            "the two must be the same server",
            "public_ip",
        )


def check_server_address(server_url: str, server_public_ip: str) -> None:
    """Both checks, URL first."""
    check_server_url(server_url)
    check_server_public_ip(server_public_ip, server_url)
