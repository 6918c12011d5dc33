"""Account identifiers: every form in domain-facts.md accepted or rejected as stated, case-insensitively."""

from __future__ import annotations

import pytest

from domain.snowflake_account import (
    InvalidAccountIdentifier,
    allowed_account,
    looks_like_account_host,
    parse_account_host,
    parse_account_identifier,
    parse_account_reference,
)

PRODUCTION = allowed_account("UHDECNO-CVB64222", "ZNB04675.us-east-1")


@pytest.mark.parametrize(
    ("value", "identifier", "host"),
    [
        ("UHDECNO-CVB64222", "UHDECNO-CVB64222", "uhdecno-cvb64222.snowflakecomputing.com"),
        ("uhdecno-cvb64222", "UHDECNO-CVB64222", "uhdecno-cvb64222.snowflakecomputing.com"),
        ("ZNB04675.us-east-1", "ZNB04675.us-east-1", "znb04675.us-east-1.snowflakecomputing.com"),
        ("znb04675.US-EAST-1", "ZNB04675.us-east-1", "znb04675.us-east-1.snowflakecomputing.com"),
        ("xy12345.us-east-2.aws", "XY12345.us-east-2.aws", "xy12345.us-east-2.aws.snowflakecomputing.com"),
        (
            "xy12345.east-us-2.azure",
            "XY12345.east-us-2.azure",
            "xy12345.east-us-2.azure.snowflakecomputing.com",
        ),
        ("ZNB04675", "ZNB04675", "znb04675.snowflakecomputing.com"),
        ("myorg-my_account", "MYORG-MY_ACCOUNT", "myorg-my-account.snowflakecomputing.com"),
    ],
)
def test_identifiers_parse_to_their_canonical_identity(value: str, identifier: str, host: str) -> None:
    identity = parse_account_identifier(value)
    assert identity.identifier == identifier
    assert identity.host == host


def test_a_bare_locator_names_an_account_in_us_west_2_not_the_us_east_1_account() -> None:
    bare = parse_account_identifier("ZNB04675")
    assert bare.region == "aws_us_west_2"
    assert not PRODUCTION.admits(bare)
    assert PRODUCTION.admits(parse_account_identifier("ZNB04675.us-east-1"))


@pytest.mark.parametrize(
    "value",
    [
        "https://UHDECNO-CVB64222.snowflakecomputing.com",
        "uhdecno-cvb64222.snowflakecomputing.com:443",
        "HTTPS://uhdecno-cvb64222.SNOWFLAKECOMPUTING.COM/console",
        "znb04675.us-east-1.snowflakecomputing.com",
    ],
)
def test_production_hosts_with_or_without_scheme_and_port_are_the_production_account(value: str) -> None:
    assert PRODUCTION.admits(parse_account_host(value))
    assert PRODUCTION.admits(parse_account_reference(value))


def test_the_old_wrong_account_is_well_formed_but_not_production() -> None:
    for value in ("scoobyjava-vw02766", "scoobyjava-vw02766.snowflakecomputing.com"):
        identity = parse_account_reference(value)
        assert identity.org_account == "SCOOBYJAVA-VW02766"
        assert not PRODUCTION.admits(identity)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ZNB04675.us-east-1.us-east-1", "repeated"),
        ("znb04675.us-east-1.us-east-1.snowflakecomputing.com", "repeated"),
        ("uhdecno-cvb64222.snowflakecomputing.com.snowflakecomputing.com", "repeated"),
        ("UHDECNO-CVB64222.modern_stackcomputing.com", "domain"),
        ("ZNB04675.mars-1", "unknown region"),
        ("UHDECNO-CVB64222.us-east-1", "no region suffix"),
        ("", "empty"),
        ("UHDECNO CVB64222", "characters"),
    ],
)
def test_malformed_identifiers_are_rejected_with_the_reason(value: str, reason: str) -> None:
    with pytest.raises(InvalidAccountIdentifier) as raised:
        parse_account_reference(value)
    assert reason in raised.value.reason


@pytest.mark.parametrize(
    "value", ["uhdecno-cvb64222.snowflakecomputing.com", "https://znb04675.us-east-1.snowflakecomputing.com"]
)
def test_a_host_where_an_identifier_is_expected_is_rejected(value: str) -> None:
    with pytest.raises(InvalidAccountIdentifier, match="host name"):
        parse_account_identifier(value)


def test_mangled_domains_are_recognised_as_account_hosts() -> None:
    assert looks_like_account_host("UHDECNO-CVB64222.modern_stackcomputing.com")
    assert looks_like_account_host("x.snowflakecomputing.com")
    assert not looks_like_account_host("api.github.com")


def test_an_allowed_account_needs_both_forms() -> None:
    with pytest.raises(InvalidAccountIdentifier):
        allowed_account("ZNB04675.us-east-1", "UHDECNO-CVB64222")
    assert PRODUCTION.accepted_forms == "UHDECNO-CVB64222 or ZNB04675.us-east-1"
