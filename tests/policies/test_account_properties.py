"""Properties of snowflake-account-allowed over every supported place and form (in-process, derandomized):
another account, or a broken form of the right one, is refused wherever it is written; any documented
spelling of the production account (any letter case, identifier, host, PrivateLink, OCSP, JDBC) is clean."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.snowflake_account import LOCATOR_SUFFIX_BY_REGION
from tests.policies.corpus.cases import case_from
from tests.policies.corpus.generate import HOST_PLACES, IDENTIFIER_PLACES
from tests.policies.test_corpus import judge_in_process

NAME = "snowflake-account-allowed"
DETERMINISTIC = settings(derandomize=True, max_examples=150, deadline=None)
# Places whose reader takes a bare host rather than a URL.
BARE_HOST_PLACES = ("helm-allowlist-map-key", "odbc-connection-string", "odbc-ini-server", "provider-host")

name = st.from_regex(r"[a-z][a-z0-9]{2,9}", fullmatch=True)
locator = st.from_regex(r"[a-z]{2,3}[0-9]{5}", fullmatch=True)
suffix = st.sampled_from(sorted(LOCATOR_SUFFIX_BY_REGION.values()))


def mixed_case(text: str, flips: list[bool]) -> str:
    return "".join(
        ch.upper() if flip else ch.lower() for ch, flip in zip(text, flips * len(text), strict=False)
    )


@st.composite
def other_accounts(draw: Any) -> str:
    """Identifiers of accounts that are not production, and broken forms of production's."""
    organization, account = draw(name), draw(name)
    other_locator = draw(locator)
    region = draw(suffix)
    return draw(
        st.sampled_from(
            [
                f"{organization}-{account}" if (organization, account) != ("uhdecno", "cvb64222") else "a-b",
                f"{other_locator}.{region}".rstrip(".") if other_locator != "znb04675" else "ab12345",
                f"ZNB04675.{region}" if region != "us-east-1" else "ZNB04675",
                f"ZNB04675.us-east-1.{region or 'us-east-1'}",
            ]
        )
    )


RIGHT_IDENTIFIERS = ["uhdecno-cvb64222", "znb04675.us-east-1"]
RIGHT_HOSTS = [
    "uhdecno-cvb64222.snowflakecomputing.com",
    "znb04675.us-east-1.snowflakecomputing.com",
    "uhdecno-cvb64222.privatelink.snowflakecomputing.com",
    "znb04675.us-east-1.privatelink.snowflakecomputing.com",
    "ocsp.uhdecno-cvb64222.privatelink.snowflakecomputing.com",
    "ocsp.znb04675.us-east-1.privatelink.snowflakecomputing.com",
]


def refused(place: Any, value: str) -> bool:
    case = case_from({"id": "property", "expect": [], "resources": place(value)}, "property")
    return NAME in judge_in_process(case)


@DETERMINISTIC
@given(st.sampled_from(sorted(IDENTIFIER_PLACES)), other_accounts())
def test_another_account_is_refused_in_every_identifier_place(place: str, identifier: str) -> None:
    assert refused(IDENTIFIER_PLACES[place], identifier), (place, identifier)


@DETERMINISTIC
@given(st.sampled_from(sorted(HOST_PLACES)), other_accounts(), st.booleans())
def test_another_accounts_host_is_refused_in_every_host_place(
    place: str, identifier: str, privatelink: bool
) -> None:
    domain = "privatelink.snowflakecomputing.com" if privatelink else "snowflakecomputing.com"
    assert refused(HOST_PLACES[place], f"{identifier}.{domain}"), (place, identifier)


@DETERMINISTIC
@given(
    st.sampled_from(sorted(IDENTIFIER_PLACES)),
    st.sampled_from(RIGHT_IDENTIFIERS),
    st.lists(st.booleans(), min_size=1),
)
def test_the_production_identifier_in_any_case_is_clean_everywhere(
    place: str, identifier: str, flips: list[bool]
) -> None:
    assert not refused(IDENTIFIER_PLACES[place], mixed_case(identifier, flips)), (place, identifier)


@DETERMINISTIC
@given(
    st.sampled_from(sorted(HOST_PLACES)),
    st.sampled_from(RIGHT_HOSTS),
    st.sampled_from(
        ["{host}", "https://{host}", "https://{host}:443/console", "jdbc:snowflake://{host}/?db=SOPHIA_AI"]
    ),
    st.lists(st.booleans(), min_size=1),
)
def test_the_production_host_in_any_documented_form_is_clean_everywhere(
    place: str, host: str, form: str, flips: list[bool]
) -> None:
    value = (
        mixed_case(host, flips) if place in BARE_HOST_PLACES else form.format(host=mixed_case(host, flips))
    )
    assert not refused(HOST_PLACES[place], value), (place, value)


PAIR_PLACES = {
    "dotenv": lambda org, name: [
        {
            "type": "kubernetes:core/v1:ConfigMap",
            "name": "provider-env",
            "inputs": {
                "data": {".env": f"SNOWFLAKE_ORGANIZATION_NAME={org}\nSNOWFLAKE_ACCOUNT_NAME={name}\n"}
            },
        }
    ],
    "env-list": lambda org, name: [
        {
            "type": "kubernetes:helm.sh/v3:Release",
            "name": "runner",
            "inputs": {
                "chart": "runner",
                "values": {
                    "extraEnvVars": [
                        {"name": "SNOWFLAKE_ORGANIZATION_NAME", "value": org},
                        {"name": "SNOWFLAKE_ACCOUNT_NAME", "value": name},
                    ]
                },
            },
        }
    ],
    "tfvars": lambda org, name: [
        {
            "type": "kubernetes:core/v1:ConfigMap",
            "name": "tfvars",
            "inputs": {"data": {"x.tfvars": f'organization_name = "{org}"\naccount_name = "{name}"\n'}},
        }
    ],
    "provider": lambda org, name: [
        {
            "type": "pulumi:providers:snowflake",
            "name": "snowflake",
            "inputs": {"organizationName": org, "accountName": name},
        }
    ],
}


@DETERMINISTIC
@given(st.sampled_from(sorted(PAIR_PLACES)), name, name, st.lists(st.booleans(), min_size=1))
def test_a_split_identity_is_judged_as_a_pair(
    place: str, organization: str, account: str, flips: list[bool]
) -> None:
    build = PAIR_PLACES[place]
    right = build(mixed_case("UHDECNO", flips), mixed_case("CVB64222", flips))
    assert NAME not in judge_in_process(case_from({"id": "p", "resources": right}, "property")), place
    if (organization, account) != ("uhdecno", "cvb64222"):
        wrong = build(organization, account)
        assert NAME in judge_in_process(case_from({"id": "p", "resources": wrong}, "property")), place
