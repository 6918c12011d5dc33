"""Where a Snowflake service user may sign in from: the addresses of its INGRESS network rule.

A network rule of TYPE = IPV4, MODE = INGRESS holds IPv4 addresses and CIDR ranges; a network policy that
allows the rule and is set on a user admits that user only from those addresses (docs.snowflake.com,
"CREATE NETWORK RULE" and "Controlling network traffic with network policies"). Snowflake sees the public
address a client's traffic leaves from, so only public addresses can ever match, and a rule that admits
0.0.0.0/0 restricts nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


class InvalidIngressAddress(ValueError):
    """An address that cannot restrict where a Snowflake user signs in from; the message says why."""


def ingress_address(value: str) -> str:
    """One allowed source, normalised: a bare address for a single host, else the CIDR range."""
    not_an_address = (
        f"{value!r} is not an IPv4 address or CIDR range such as 34.121.207.128 or 35.226.75.0/28"
    )
    if not isinstance(value, str):
        raise InvalidIngressAddress(not_an_address)
    try:
        network = ipaddress.IPv4Network(value.strip(), strict=True)
    except ValueError as error:
        if "has host bits set" in str(error):
            range_of = ipaddress.IPv4Network(value.strip(), strict=False)
            raise InvalidIngressAddress(
                f"{value!r} has host bits set; the range it falls in is {range_of}"
            ) from None
        raise InvalidIngressAddress(not_an_address) from None
    if network.prefixlen == 0:
        raise InvalidIngressAddress(
            f"{value!r} admits every address, so the network policy would restrict nothing"
        )
    if not network.is_global:
        raise InvalidIngressAddress(
            f"{value!r} is not a public address; Snowflake sees the public address a client's traffic leaves "
            "from, so a private or reserved range never matches"
        )
    return str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)


def ingress_addresses(*sources: Iterable[str]) -> list[str]:
    """Every allowed source of `sources`, normalised, first occurrence kept, in order."""
    allowed: list[str] = []
    for source in sources:
        for value in source:
            address = ingress_address(value)
            if address not in allowed:
                allowed.append(address)
    return allowed
