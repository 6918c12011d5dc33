"""offline.cli_yaml: stack files read as gopkg.in/yaml.v3 reads them for the Pulumi CLI.

The expected values are yaml.v3 v3.0.1's (resolve.go `resolve`, decode.go `mapping`), which the real CLI's
answers in tests/engine/test_parity.py confirm for the cases a stack file meets.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offline.cli_yaml import CliYamlError, go_time_text, load, resolve_plain


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # YAML 1.1 booleans that yaml.v3 leaves as strings: a boolean key refuses them.
        ("yes", "yes"),
        ("No", "No"),
        ("on", "on"),
        ("OFF", "OFF"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("~", None),
        ("null", None),
        # Go's base-0 integers, underscores dropped.
        ("3002", 3002),
        ("+1", 1),
        ("0x1F", 31),
        ("0o17", 15),
        ("0755", 493),
        ("-0b11", -3),
        ("1_000", 1000),
        # yamlStyleFloat, which PyYAML does not share for `1e3`.
        ("1e3", 1000.0),
        ("0.25", 0.25),
        (".5", 0.5),
        ("08", 8.0),
        # Strings to yaml.v3, numbers to PyYAML's YAML 1.1.
        ("1:30", "1:30"),
        ("1.6.2", "1.6.2"),
        ("v1.31.6+k3s1", "v1.31.6+k3s1"),
        ("2026-13-01", "2026-13-01"),
        ("2026-02-30", "2026-02-30"),
    ],
)
def test_plain_scalars_resolve_as_yaml_v3_resolves_them(text: str, value: object) -> None:
    loaded = load(f"key: {text}\n")["key"]
    assert loaded == value and type(loaded) is type(value)


def test_special_floats() -> None:
    assert math.isnan(load("k: .NaN")["k"]) and load("k: -.inf")["k"] == -math.inf


@pytest.mark.parametrize("text", ["yes", "2026-05-01", "0o17", "1:30", "true"])
def test_quoted_scalars_are_strings(text: str) -> None:
    assert load(f"key: '{text}'\n")["key"] == text


@pytest.mark.parametrize(
    "document",
    [
        "config:\n  sophia-ai:lambdaRegion: us-east-1\n  sophia-ai:lambdaRegion: us-west-1\n",
        "config:\n  servers:\n    - {name: a, name: b}\n",
        "config:\n  a: 1\n  'a': 2\n",
    ],
)
def test_a_key_set_twice_is_refused_with_both_lines(document: str) -> None:
    with pytest.raises(CliYamlError, match=r"line \d+: the key '[^']+' is already defined at line \d+"):
        load(document)


def test_a_merge_is_not_a_key_set_twice() -> None:
    loaded = load("base: &base {port: 9000, replicas: 2}\nserver:\n  <<: *base\n  port: 3002\n")
    assert loaded["server"] == {"port": 3002, "replicas": 2}


def test_an_unquoted_date_is_refused_naming_its_key_line_and_what_the_cli_would_pass() -> None:
    document = "config:\n  sophia-ai:mcpServers:\n    - name: linear\n      tag: 2026-05-01\n"
    with pytest.raises(CliYamlError) as refused:
        load(document)
    message = str(refused.value)
    assert message.startswith("line 4: config.sophia-ai:mcpServers[0].tag is the unquoted 2026-05-01")
    assert "'2026-05-01 00:00:00 +0000 UTC'" in message and "quote it" in message


@pytest.mark.parametrize(
    ("text", "go"),
    [
        ("2026-5-1", "2026-05-01 00:00:00 +0000 UTC"),
        ("2026-05-01T10:00:00Z", "2026-05-01 10:00:00 +0000 UTC"),
        ("2026-05-01t10:00:00.250Z", "2026-05-01 10:00:00.25 +0000 UTC"),
        ("2026-05-01 1:2:3", "2026-05-01 01:02:03 +0000 UTC"),
        ("2026-05-01T10:00:00+02:00", None),  # Go's text depends on the machine's zone
    ],
)
def test_timestamps_and_their_go_text(text: str, go: str | None) -> None:
    assert resolve_plain(text)[0].endswith("timestamp")
    assert go_time_text(text) == go


def test_a_syntax_error_names_its_line() -> None:
    with pytest.raises(CliYamlError, match=r"^line \d+: not valid YAML: expected ',' or ']'"):
        load("config:\n  a: [1, 2\n")


# yaml.v3 reads a word that starts with a letter as text unless it is one of its few spellings of true, false
# and null; PyYAML's yes/no/on/off/y/n are text.
YAML_V3_WORDS = {"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL"}


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,20}", fullmatch=True))
def test_a_word_is_text_unless_it_spells_true_false_or_null(word: str) -> None:
    loaded = load(f"k: {word}")["k"]
    assert isinstance(loaded, str) is (word not in YAML_V3_WORDS), (word, loaded)
