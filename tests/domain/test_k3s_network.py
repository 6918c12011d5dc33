"""The network path from Lambda to the k3s server, against k3s's documented inbound port table."""

from __future__ import annotations

import pytest

from components.lambda_firewall import rule_problems
from domain.k3s_network import (
    K3S_INBOUND_RULES,
    SERVER_FLAGS,
    InvalidServerAddress,
    Role,
    agent_firewall_rules,
    check_server_address,
    rules_for,
)

# docs.k3s.io/installation/requirements, "Inbound Rules for K3s Nodes": protocol, port, source, destination,
# and what the row is "required only" for (None: always).
DOCUMENTED = [
    ("tcp", "2379-2380", "Servers", "Servers", "HA with embedded etcd"),
    ("tcp", "6443", "Agents", "Servers", None),
    ("udp", "8472", "All nodes", "All nodes", "Flannel VXLAN"),
    ("tcp", "10250", "All nodes", "All nodes", None),
    ("udp", "51820", "All nodes", "All nodes", "Flannel Wireguard with IPv4"),
    ("udp", "51821", "All nodes", "All nodes", "Flannel Wireguard with IPv6"),
    ("tcp", "5001", "All nodes", "All nodes", "embedded distributed registry (Spegel)"),
    ("tcp", "6443", "All nodes", "All nodes", "embedded distributed registry (Spegel)"),
]
SERVER_IP = "203.0.113.10"


def _row(ports: tuple[int, int]) -> str:
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"


def test_the_table_is_the_documented_one_row_by_row() -> None:
    assert [
        (
            rule.protocol,
            _row(rule.ports),
            rule.source.value.capitalize(),
            rule.destination.value.capitalize(),
            rule.only_for.value if rule.only_for else None,
        )
        for rule in K3S_INBOUND_RULES
    ] == DOCUMENTED


def test_in_wireguard_mode_an_agent_accepts_only_the_kubelet_and_wireguard_ports() -> None:
    assert {(rule.protocol, rule.ports) for rule in rules_for(Role.AGENTS)} == {
        ("tcp", (10250, 10250)),
        ("udp", (51820, 51820)),
    }


def test_the_server_must_accept_the_supervisor_kubelet_and_wireguard_ports() -> None:
    assert {(rule.protocol, rule.ports) for rule in rules_for(Role.SERVERS)} == {
        ("tcp", (6443, 6443)),
        ("tcp", (10250, 10250)),
        ("udp", (51820, 51820)),
    }


def test_the_server_flags_are_the_multicloud_ones() -> None:
    # docs.k3s.io/networking/distributed-multicloud, "Embedded k3s multicloud solution".
    assert SERVER_FLAGS == (
        "--node-external-ip=<server public IP>",
        "--flannel-backend=wireguard-native",
        "--flannel-external-ip",
    )


def test_agent_firewall_rules_open_each_documented_port_from_the_server_only() -> None:
    rules = agent_firewall_rules(SERVER_IP)
    assert sorted(
        (rule["protocol"], tuple(rule["port_range"]), rule["source_network"]) for rule in rules
    ) == [
        ("tcp", (10250, 10250), f"{SERVER_IP}/32"),
        ("udp", (51820, 51820), f"{SERVER_IP}/32"),
    ]
    # Shaped as Lambda's FirewallRule (protocol, port_range, source_network, description).
    assert rule_problems(rules) == []


def test_pool_peers_get_the_same_ports() -> None:
    rules = agent_firewall_rules(SERVER_IP, ["198.51.100.7"])
    assert {rule["source_network"] for rule in rules} == {f"{SERVER_IP}/32", "198.51.100.7/32"}
    assert len(rules) == 4


@pytest.mark.parametrize(
    ("url", "ip", "setting"),
    [
        ("https://k3s.sophia-ai.internal:6443", SERVER_IP, "server_url"),
        ("https://k3s.local:6443", SERVER_IP, "server_url"),
        ("https://k3s:6443", SERVER_IP, "server_url"),
        ("https://10.1.2.3:6443", SERVER_IP, "server_url"),
        ("https://198.51.100.9:6443", SERVER_IP, "public_ip"),
        (f"https://{SERVER_IP}:6443", "10.0.0.5", "public_ip"),
        (f"https://{SERVER_IP}:6443", "100.64.1.1", "public_ip"),
        (f"https://{SERVER_IP}:6443", "k3s.example.com", "public_ip"),
    ],
)
def test_a_server_lambda_cannot_reach_is_refused(url: str, ip: str, setting: str) -> None:
    with pytest.raises(InvalidServerAddress) as raised:
        check_server_address(url, ip)
    assert raised.value.setting == setting


@pytest.mark.parametrize("url", [f"https://{SERVER_IP}:6443", "https://k3s.sophia-ai.com:6443"])
def test_a_public_address_or_name_is_accepted(url: str) -> None:
    check_server_address(url, SERVER_IP)
