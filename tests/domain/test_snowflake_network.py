"""The addresses a Snowflake INGRESS network rule may hold: public IPv4 hosts and ranges, nothing that admits
everyone or never matches."""

from __future__ import annotations

import pytest

from domain.snowflake_network import InvalidIngressAddress, ingress_address, ingress_addresses


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("34.121.207.128", "34.121.207.128"),
        (" 34.121.207.128/32 ", "34.121.207.128"),
        ("150.136.0.0/28", "150.136.0.0/28"),
    ],
)
def test_public_hosts_and_ranges_are_kept_in_one_form(given: str, kept: str) -> None:
    assert ingress_address(given) == kept


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("0.0.0.0/0", "admits every address"),
        ("10.1.0.0/16", "not a public address"),
        ("192.168.1.7", "not a public address"),
        ("100.64.0.1", "not a public address"),
        ("127.0.0.1", "not a public address"),
        ("150.136.0.5/28", "host bits set; the range it falls in is 150.136.0.0/28"),
        ("2600:1900::/28", "not an IPv4 address"),
        ("34.121.207.256", "not an IPv4 address"),
        ("", "not an IPv4 address"),
    ],
)
def test_addresses_that_cannot_restrict_a_user_are_refused_with_the_reason(given: str, reason: str) -> None:
    with pytest.raises(InvalidIngressAddress, match=reason):
        ingress_address(given)


def test_sources_are_merged_in_order_without_repeats() -> None:
    gpu_nodes = ["104.171.203.17", "129.146.52.210"]
    extra = ["129.146.52.210/32", "150.136.0.0/28"]
    assert ingress_addresses(gpu_nodes, extra) == ["104.171.203.17", "129.146.52.210", "150.136.0.0/28"]
    assert ingress_addresses([], []) == []
