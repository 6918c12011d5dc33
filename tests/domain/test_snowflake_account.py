"""Account identifiers: every form in domain-facts.md accepted or rejected as stated, case-insensitively."""

from __future__ import annotations

import pytest

from domain.snowflake_account import (
    InvalidAccountIdentifier,
    allowed_account,
    join_locator_and_region,
    join_organization_and_account,
    looks_like_account_host,
    names_no_account,
    parse_account_host,
    parse_account_identifier,
    parse_account_reference,
    parse_account_url,
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


@pytest.mark.parametrize(
    "host",
    [
        "znb04675.us-east-1.privatelink.snowflakecomputing.com",
        "ocsp.znb04675.us-east-1.privatelink.snowflakecomputing.com",
        "uhdecno-cvb64222.privatelink.snowflakecomputing.com",
        "ocsp.uhdecno-cvb64222.privatelink.snowflakecomputing.com",
        "OCSP.UHDECNO-CVB64222.SNOWFLAKECOMPUTING.COM",
    ],
)
def test_privatelink_and_ocsp_hosts_of_the_production_account(host: str) -> None:
    assert PRODUCTION.admits(parse_account_host(host))


def test_a_privatelink_locator_host_names_us_west_2_explicitly() -> None:
    identity = parse_account_host("xy12345.us-west-2.privatelink.snowflakecomputing.com")
    assert (identity.locator, identity.region, identity.privatelink) == ("XY12345", "aws_us_west_2", True)


@pytest.mark.parametrize(
    "host",
    [
        "*.snowflakecomputing.com",
        "*.privatelink.snowflakecomputing.com",
        "snowflakecomputing.com",
        "ocsp.snowflakecomputing.com",
        "https://*.snowflakecomputing.com",
    ],
)
def test_wildcards_the_bare_domain_and_the_shared_ocsp_host_name_no_account(host: str) -> None:
    assert names_no_account(host)


def test_account_hosts_name_an_account() -> None:
    assert not names_no_account("uhdecno-cvb64222.snowflakecomputing.com")
    assert not names_no_account("ocsp.uhdecno-cvb64222.privatelink.snowflakecomputing.com")


@pytest.mark.parametrize(
    ("url", "identifier"),
    [
        ("jdbc:snowflake://uhdecno-cvb64222.snowflakecomputing.com/?warehouse=WH&db=DB", "UHDECNO-CVB64222"),
        ("JDBC:SNOWFLAKE://ZNB04675.us-east-1.snowflakecomputing.com:443/", "ZNB04675.us-east-1"),
        ("snowflake://user:p%40ss@UHDECNO-CVB64222/SOPHIA_AI/PUBLIC?warehouse=WH", "UHDECNO-CVB64222"),
        ("snowflake://user@znb04675.us-east-1/SOPHIA_AI", "ZNB04675.us-east-1"),
        ("snowflake://user:pw@/db?account=ZNB04675&region=us-east-1", "ZNB04675.us-east-1"),
        ("https://uhdecno-cvb64222.snowflakecomputing.com/console", "UHDECNO-CVB64222"),
    ],
)
def test_connection_urls_name_the_account_in_their_host(url: str, identifier: str) -> None:
    identity = parse_account_url(url)
    assert identity is not None
    assert identity.identifier == identifier


def test_a_sqlalchemy_url_with_the_domain_where_the_identifier_goes_is_rejected() -> None:
    with pytest.raises(InvalidAccountIdentifier, match="host name"):
        parse_account_url("snowflake://user@uhdecno-cvb64222.snowflakecomputing.com/db")


def test_split_identities_join_into_one_account() -> None:
    assert PRODUCTION.admits(join_organization_and_account("uhdecno", "CVB64222"))
    assert not PRODUCTION.admits(join_organization_and_account("UHDECNO", "VW02766"))
    with pytest.raises(InvalidAccountIdentifier):
        join_organization_and_account("UHDECNO", "cvb64222.snowflakecomputing.com")
    assert PRODUCTION.admits(join_locator_and_region("ZNB04675", "us-east-1"))
    assert PRODUCTION.admits(join_locator_and_region("ZNB04675", "aws_us_east_1"))
    assert not PRODUCTION.admits(join_locator_and_region("ZNB04675", "us-west-2"))
