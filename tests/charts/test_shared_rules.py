"""Rules the chart and the Python side both apply, held to one answer.

- Image tags: the chart's `values.schema.json` accepts exactly the tags `domain/image_tags.py` accepts for
  an MCP server (its pattern is MCP_CHART_TAG_PATTERN, it refuses the MOVING_TAGS), so the config and the
  pack refuse at preview what Helm would refuse only at `pulumi up`.
- Credential names: the schema's `env[].name` test says "credential" exactly where the no-plaintext-secrets
  policy's `is_credential_key` does, for names made of words in any of the spellings env names use.
- The Service name: the chart's `sophia-mcp.fullname` helper and `components.mcp_servers.service_name`, which
  the Ingress routes by, name the same Service for every release name.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.config import McpServerConfig
from components.mcp_servers import CHART_NAME, SNOWFLAKE_SECRET_NAME, release_values, service_name
from domain.image_tags import MCP_CHART_TAG_PATTERN, MOVING_TAGS, ImageKind, moving_tag_pattern, tag_problem
from harness.helm_tool import CHART_DIR, helm_template
from policies.guardrails.keys import is_credential_key
from tests.charts.test_chart import assert_helm_rejects, merged, production_values
from tests.samples import SCHEDULING

SCHEMA: dict[str, Any] = json.loads((CHART_DIR / "values.schema.json").read_text())
TAG_SCHEMA = SCHEMA["properties"]["image"]["properties"]["tag"]
ENV_ITEM_SCHEMA = SCHEMA["properties"]["env"]["items"]


def _tag_accepted(tag: str) -> bool:
    return jsonschema.Draft7Validator(TAG_SCHEMA).is_valid(tag)


def _credential_refused(name: str) -> bool:
    """The schema refuses `{name, value}` only when it reads `name` as a credential's."""
    return not jsonschema.Draft7Validator(ENV_ITEM_SCHEMA).is_valid({"name": name, "value": "literal"})


# Moving tags


def test_the_schema_refuses_the_moving_tags_domain_lists() -> None:
    assert TAG_SCHEMA["not"]["pattern"] == moving_tag_pattern(), (
        f'set properties.image.properties.tag.not.pattern to "{moving_tag_pattern()}"'
    )


@given(st.sampled_from(sorted(MOVING_TAGS)), st.randoms())
def test_every_moving_tag_is_refused_in_any_case(tag: str, random: Any) -> None:
    spelled = "".join(c.upper() if random.random() < 0.5 else c for c in tag)
    assert tag_problem(spelled) is not None
    assert not _tag_accepted(spelled)


@pytest.mark.parametrize("tag", ["1.4.2", "v4", "2026.12.01", "latest-1.2", "devel", "mainline"])
def test_pinned_tags_that_contain_a_moving_word_pass_both(tag: str) -> None:
    assert tag_problem(tag) is None
    assert _tag_accepted(tag)


@pytest.mark.parametrize("tag", ["nightly", "MAIN", "Edge"])
def test_helm_refuses_the_moving_tags_the_schema_once_missed(tag: str) -> None:
    assert_helm_rejects(merged(production_values("linear"), {"image": {"tag": tag}}), "/image")


def test_the_schema_pattern_is_the_domain_rules() -> None:
    assert TAG_SCHEMA["pattern"] == MCP_CHART_TAG_PATTERN, (
        f'set properties.image.properties.tag.pattern to "{MCP_CHART_TAG_PATTERN}"'
    )


def _mcp_tag_accepted(tag: str) -> bool:
    return tag_problem(tag, ImageKind.MCP_CHART) is None


# Tags near every edge of both rules: the characters a tag may hold and a few it may not, lengths about 63
# and 128, a moving tag in any case. No line breaks: Python's `re.search` (the jsonschema library's) lets
# `$` match before a final line break where Helm's Go regexp does not; Helm's own answer is checked below.
TAG_CHARACTERS = "abcxyzABCXYZ0189_.-+:/@ "
tags = st.one_of(
    st.text(st.sampled_from(TAG_CHARACTERS), max_size=70),
    st.builds(
        lambda head, n, tail: head + "a" * n + tail,
        st.sampled_from(["", "_", "-", "1"]),
        st.integers(0, 130),
        st.sampled_from(["", "_", "-", ".", "9"]),
    ),
    st.builds(
        lambda tag, flips: "".join(c.upper() if f else c for c, f in zip(tag, flips, strict=False)),
        st.sampled_from(sorted(MOVING_TAGS)),
        st.lists(st.booleans(), min_size=7, max_size=7),
    ),
)


@settings(max_examples=1000)
@given(tags)
def test_the_domain_rule_and_the_chart_schema_accept_the_same_tags(tag: str) -> None:
    assert _mcp_tag_accepted(tag) == _tag_accepted(tag), tag


@pytest.mark.parametrize("tag", ["1.0.8-", "_1.0.8", "1.0.8_", "1" * 64, "1.0.8\n"])
def test_helm_refuses_the_tags_the_domain_rule_refuses(tag: str) -> None:
    assert not _mcp_tag_accepted(tag)
    assert_helm_rejects(merged(production_values("linear"), {"image": {"tag": tag}}), "/image/tag")


@pytest.mark.parametrize("tag", ["1.0.8", "v1.0.8-rc.1", "2026.05.01", "1" * 63, "1.0.8_x"])
def test_helm_accepts_the_tags_the_domain_rule_accepts(tag: str) -> None:
    assert _mcp_tag_accepted(tag)
    assert helm_template(merged(production_values("linear"), {"image": {"tag": tag}}))


# Credential names

CREDENTIAL_WORDS = ["password", "passwords", "passwd", "passphrase", "token", "tokens", "secret", "secrets"]
CREDENTIAL_WORDS += ["credential", "credentials", "apikey", "privatekey", "key", "keys"]
QUALIFIERS = ["private", "api", "access", "secret", "signing", "encryption"]
OTHER_WORDS = ["snowflake", "db", "linear", "user", "ttl", "file", "path", "id", "name", "url", "existing"]
OTHER_WORDS += ["automount", "service", "account", "image", "pull", "2", "v1"]
# Vendors' names and what only looks like one: PGPASSWORD, MYSQL_PWD, DB_PASS, GITHUB_PAT, SLACK_WEBHOOK_URL;
# token counts (max_tokens, MAX_NEW_TOKENS) and the shell's PWD / OLDPWD.
OTHER_WORDS += ["pg", "pass", "pwd", "oldpwd", "pat", "webhook", "max", "new", "num", "count", "context"]
SPELLINGS = {
    "UPPER_SNAKE": lambda words: "_".join(word.upper() for word in words),
    "snake": lambda words: "_".join(words),
    "camel": lambda words: words[0] + "".join(word.capitalize() for word in words[1:]),
    "Pascal": lambda words: "".join(word.capitalize() for word in words),
    "kebab": lambda words: "-".join(words),
    "dotted": lambda words: ".".join(words),
    "UPPERglued": lambda words: "".join(word.upper() for word in words),
}
names = st.builds(
    lambda words, spelling: SPELLINGS[spelling](words),
    st.lists(st.sampled_from(CREDENTIAL_WORDS + QUALIFIERS + OTHER_WORDS), min_size=1, max_size=4),
    st.sampled_from(sorted(SPELLINGS)),
)


@settings(max_examples=600)
@given(names)
def test_the_schema_and_the_policy_agree_on_which_names_are_credentials(name: str) -> None:
    assert _credential_refused(name) == is_credential_key(name), name


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("SNOWFLAKE_PASSWORD", True),
        ("dbPassword", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("LINEAR_API_KEY", True),
        ("signing-key", True),
        ("TOKEN_TTL_SECONDS", False),
        ("PASSWORD_FILE", False),
        ("SECRETKEY", False),
        ("EXISTING_SECRET", False),
        ("AUTOMOUNT_SERVICE_ACCOUNT_TOKEN", False),
        ("MONKEY", False),
        ("PGPASSWORD", True),
        ("MYSQL_PWD", True),
        ("SLACK_WEBHOOK_URL", True),
        ("MAX_NEW_TOKENS", False),
        ("maxApiToken", False),
        ("OLDPWD", False),
        ("DBPASSWORD", True),
        ("PASSWORDPASSWORD", True),
        ("GITLABAPITOKEN", True),
    ],
)
def test_known_names(name: str, credential: bool) -> None:
    assert is_credential_key(name) is credential
    assert _credential_refused(name) is credential


def test_helm_accepts_a_setting_about_a_credential_as_a_plain_value() -> None:
    values = merged(production_values("gong"), {"env": [{"name": "TOKEN_TTL_SECONDS", "value": "3600"}]})
    assert helm_template(values)


# The Service name

RELEASE_NAMES = [
    "ai-memory",
    "gong",
    "sophia-mcp",
    "sophia-mcp-linear",
    "linear-sophia-mcp-a",
    "a" * 52,  # + "-sophia-mcp" is exactly 63
    f"{'b' * 51}-c",  # helm's longest release name, 53: + "-sophia-mcp" is cut at 63
]


@pytest.mark.parametrize("release", RELEASE_NAMES)
def test_the_service_the_chart_names_is_the_one_python_routes_to(release: str) -> None:
    values = production_values("linear")
    (service,) = [m for m in helm_template(values, release=release) if m["kind"] == "Service"]
    assert service["metadata"]["name"] == service_name(release)


def test_the_components_values_leave_the_fullname_to_the_release_name() -> None:
    """`service_name` mirrors the helper's release-name branch only; an override takes the other one."""
    server = McpServerConfig.model_validate(
        {"name": "linear", "image": "ghcr.io/pay-ready/mcp-linear", "tag": "1.1.4", "port": 3002}
        | {"replicas": 2, "gpuShare": 0.25}
    )
    values = release_values(server, SCHEDULING, SNOWFLAKE_SECRET_NAME)
    assert not {"fullnameOverride", "nameOverride"} & set(values)
    overridden = merged(values, {"fullnameOverride": f"{'d' * 62}-{CHART_NAME}"})
    (service,) = [m for m in helm_template(overridden, release="linear") if m["kind"] == "Service"]
    assert service["metadata"]["name"] == "d" * 62 != service_name("linear")
