"""policies/guardrails/secret_data.py: a Secret read in both the program's form and the provider's.

The provider's Check (pulumi-kubernetes pkg/clients/unstructured.go `normalizeSecretStringData`) encodes each
`stringData` value with Go's base64.StdEncoding into `data` and drops `stringData`; `provider_form` below
does the same, so a rule is shown here what the real preview shows it.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.unknown import UNKNOWN
from policies.guardrails.secret_data import decoded, readable

KIND = "kubernetes:core/v1:Secret"


def provider_form(string_data: dict[str, str]) -> dict[str, Any]:
    return {"data": {key: base64.b64encode(value.encode()).decode() for key, value in string_data.items()}}


keys = st.from_regex(r"[A-Za-z0-9._-]{1,20}", fullmatch=True)


@given(st.dictionaries(keys, st.text(max_size=200), max_size=6))
def test_the_provider_form_reads_back_as_the_program_wrote_it(string_data: dict[str, str]) -> None:
    assert readable(KIND, provider_form(string_data))["data"] == string_data


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("U09QSElBX0FJX1NUQUdJTkc=", "SOPHIA_AI_STAGING"),
        ("U09QSElB\nX0FJX1NU\r\nQUdJTkc=", "SOPHIA_AI_STAGING"),  # line breaks, as the API server allows
        ("  U09QSElBX0FJX1NUQUdJTkc=  ", "SOPHIA_AI_STAGING"),
    ],
)
def test_base64_values_are_decoded_ignoring_whitespace(value: str, text: str) -> None:
    assert decoded({"SNOWFLAKE_DATABASE": value}) == {"SNOWFLAKE_DATABASE": text}


@pytest.mark.parametrize(
    "value",
    [
        "SOPHIA_AI_STAGING",  # plain text where base64 belongs
        "U09QSElBX0FJX1NUQUdJTkc",  # padding missing
        base64.b64encode(b"\xff\xfe\x00binary").decode(),  # not UTF-8 text
    ],
)
def test_what_does_not_decode_to_text_is_left_out(value: str) -> None:
    assert decoded({"k": value, "kept": "YQ=="}) == {"kept": "a"}


def test_unknowns_and_non_maps_pass_through() -> None:
    assert decoded(UNKNOWN) is UNKNOWN
    assert decoded(None) is None
    assert decoded({"k": UNKNOWN}) == {"k": UNKNOWN}
    assert readable(KIND, {"data": UNKNOWN}) == {"data": UNKNOWN}


def test_string_data_stays_beside_the_decoded_data() -> None:
    props = {"stringData": {"a": "plain"}, "data": {"b": "Yg=="}, "type": "Opaque"}
    assert readable(KIND, props) == {"stringData": {"a": "plain"}, "data": {"b": "b"}, "type": "Opaque"}


@pytest.mark.parametrize(
    ("resource_type", "props", "expected"),
    [
        ("kubernetes:core/v1:SecretPatch", {"data": {"k": "eA=="}}, {"data": {"k": "x"}}),
        (
            "kubernetes:core/v1:SecretList",
            {"items": [{"data": {"k": "eA=="}}, {"stringData": {"k": "y"}}]},
            {"items": [{"data": {"k": "x"}}, {"stringData": {"k": "y"}}]},
        ),
        # A ConfigMap's `data` is text already; nothing but a Secret is touched.
        ("kubernetes:core/v1:ConfigMap", {"data": {"k": "eA=="}}, {"data": {"k": "eA=="}}),
        ("snowflake:index/secret:Secret", {"data": {"k": "eA=="}}, {"data": {"k": "eA=="}}),
    ],
)
def test_secret_kinds_are_decoded_and_other_kinds_left_alone(
    resource_type: str, props: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert readable(resource_type, props) == expected
