"""Estuary's public data planes and the addresses their tasks reach other systems from.

A task runs on the data plane it was created in: `flowctl catalog publish --default-data-plane NAME` places
the specs a publication creates there (estuary/flow crates/flowctl/src/catalog/publish.rs, `Publish`:
"Data-plane into which created specifications will be placed"; `catalog test` takes the same flag,
catalog/test.rs). Left out, flowctl uses a default compiled into the release, and that default has moved
between releases (publish.rs names ops/dp/public/gcp-us-central1-c1; the CI/CD guide,
site/docs/guides/flowctl/ci-cd.md, names ops/dp/public/gcp-us-central1-c2), so the stack always passes it.

The Snowflake loader's network rule admits the egress addresses of the same data plane, read from this one
table, so the plane the catalog is published to and the addresses Snowflake admits cannot disagree.

Names are the full catalog names the dashboard copies (ops/dp/public/<provider>-<region>-c<N>, the naming
of estuary/flow's data-plane design notes). Addresses: docs.estuary.dev/reference/allow-ip-addresses,
"IP Addresses to Allowlist": US (us-central1 c1) and Europe (eu-west-1 c1), read 2026-12-06 (source file
estuary/flow site/docs/reference/allow-ip-addresses.md). The dashboard's Admin > Settings > Data Planes table
(its CIDR Blocks column) is authoritative: a plane not listed here is added with the addresses shown there.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DATA_PLANE_EGRESS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "ops/dp/public/gcp-us-central1-c1": ("34.121.207.128", "35.226.75.135", "34.68.62.148"),
        "ops/dp/public/aws-eu-west-1-c1": ("18.200.127.124/32", "34.247.94.19/32"),
    }
)


class UnknownDataPlane(ValueError):
    """A data plane whose egress addresses the table does not know; the message lists the ones it does."""


def egress_addresses(data_plane: str) -> tuple[str, ...]:
    """The addresses tasks of `data_plane` connect from, as Estuary publishes them."""
    try:
        return DATA_PLANE_EGRESS[data_plane]
    except KeyError:
        known = ", ".join(sorted(DATA_PLANE_EGRESS))
        raise UnknownDataPlane(
            f"{data_plane!r} is not a data plane whose egress addresses are known; use one of {known}, "
            "or add its name and CIDR blocks (dashboard Admin > Settings > Data Planes) to "
            "domain/estuary/data_planes.py"
        ) from None
