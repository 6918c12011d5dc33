"""The table of Estuary data planes: every plane's addresses can restrict a Snowflake user, and an unknown
plane is refused with the ones that are known."""

from __future__ import annotations

import pytest

from domain.estuary.data_planes import DATA_PLANE_EGRESS, UnknownDataPlane, egress_addresses
from domain.snowflake_network import ingress_addresses


@pytest.mark.parametrize("data_plane", sorted(DATA_PLANE_EGRESS))
def test_every_known_plane_has_public_addresses_a_network_rule_takes(data_plane: str) -> None:
    addresses = egress_addresses(data_plane)
    assert addresses
    assert len(ingress_addresses(addresses)) == len(addresses)
    assert data_plane.startswith("ops/dp/public/")


def test_an_unknown_plane_is_refused_naming_the_known_ones_and_where_to_add_it() -> None:
    with pytest.raises(UnknownDataPlane) as refusal:
        egress_addresses("ops/dp/public/gcp-us-central1-c2")
    message = str(refusal.value)
    assert "ops/dp/public/gcp-us-central1-c1" in message
    assert "ops/dp/public/aws-eu-west-1-c1" in message
    assert "domain/estuary/data_planes.py" in message
