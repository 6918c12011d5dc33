"""The Estuary catalog: what flowctl and the connectors accept, byte-stable rendering, refused mistakes."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any, get_args

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from components.config import EstuaryConfig, config_keys
from domain.estuary.models import Catalog, CatalogError, parse_catalog
from domain.estuary.production import (
    SOURCES,
    CaptureSource,
    SnowflakeTarget,
    SourceName,
    build_production_catalog,
    source_secret_names,
)
from domain.estuary.rendering import (
    SecretSlot,
    catalog_document,
    catalog_hash,
    fill_secrets_text,
    parse_secret_slots,
    render_catalog,
    secret_slots,
)
from fakes import FAKE_PRIVATE_KEY
from harness.paths import PROJECT_DIR, SHARED_REFERENCE

ESTUARY_REFERENCE = SHARED_REFERENCE / "estuary"
needs_reference = pytest.mark.skipif(
    not ESTUARY_REFERENCE.is_dir(),
    reason=f"Estuary reference schemas not found at {ESTUARY_REFERENCE} (../shared/reference/estuary)",
)

TENANT = "Pay_Ready/"
CAPTURES = [
    {
        "source": "hubspot",
        "connectorTag": "v1",
        "interval": "5m",
        "streams": ["companies", "contacts", "deals"],
    },
    {"source": "gong", "connectorTag": "v1", "interval": "15m", "streams": ["calls", "users"]},
    {"source": "asana", "connectorTag": "v1", "interval": "30m", "streams": ["projects", "tasks", "users"]},
]
SNOWFLAKE = SnowflakeTarget(
    host="uhdecno-cvb64222.snowflakecomputing.com",
    database="SOPHIA_AI",
    landing_schema="ESTUARY_RAW",
    warehouse="SOPHIA_AI_WH",
    role="SOPHIA_ESTUARY_LOADER",
    user="SOPHIA_ESTUARY_SVC",
)
PRIVATE_KEY = FAKE_PRIVATE_KEY
SECRETS = {
    "hubspot.client_id": "hs-id-5c1e",
    "hubspot.client_secret": "hs-secret-90ab",
    "hubspot.refresh_token": "hs-refresh-77de",
    "gong.access_key": "gong-key-31f0",
    "gong.access_key_secret": "gong-keysecret-c4a2",
    "asana.personal_access_token": "asana-pat-8b6d",
    "snowflake.private_key": PRIVATE_KEY,
}

CAPTURE_SPECS = {
    "ghcr.io/estuary/source-hubspot-native": "source-hubspot-native.spec.json",
    "ghcr.io/estuary/source-gong": "source-gong.spec.json",
    "ghcr.io/estuary/source-asana": "source-asana.spec.json",
}


def build(captures: Sequence[Any] | None = None, **overrides: Any) -> Catalog:
    arguments: dict[str, Any] = {
        "tenant": TENANT,
        "captures": CAPTURES if captures is None else captures,
        "snowflake": SNOWFLAKE,
        "sync_frequency": "15m",
        "materialize_tag": "v4",
    }
    arguments.update(overrides)
    return build_production_catalog(**arguments)


def load_reference(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ESTUARY_REFERENCE / name).read_text())
    return loaded


def flow_catalog_validator() -> jsonschema.protocols.Validator:
    text = (ESTUARY_REFERENCE / "flow.schema.json").read_text()
    # Python's re has no \p{..} classes. Flow's name patterns use them only inside the class
    # [\p{Letter}\p{Number}\-_\.]; Python's Unicode \w is exactly letters, numbers and '_' (already in it).
    text = text.replace(r"\\p{Letter}\\p{Number}", r"\\w")
    assert r"\\p{" not in text, "flow.schema.json uses another \\p class; translate it before validating"
    schema = json.loads(text)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def connector_validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return validator_class(schema)


def errors_of(validator: jsonschema.protocols.Validator, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def paths_of(error: pytest.ExceptionInfo[CatalogError]) -> list[str]:
    return [problem.path for problem in error.value.problems]


def valid_catalog_data() -> dict[str, Any]:
    """A small hand-written catalog as plain data, for the refusal tests to break one key at a time."""
    return {
        "tenant": TENANT,
        "captures": [
            {
                "name": "Pay_Ready/hubspot/source-hubspot-native",
                "image": "ghcr.io/estuary/source-hubspot-native:v1",
                "config": {"credentials": {"credentials_title": "OAuth Credentials"}},
                "bindings": [
                    {"resource": {"name": "contacts"}, "target": "Pay_Ready/hubspot/contacts"},
                    {"resource": {"name": "deals"}, "target": "Pay_Ready/hubspot/deals"},
                ],
                "secret_fields": {"/credentials/client_id": "hubspot.client_id"},
            }
        ],
        "collections": [
            {
                "name": f"Pay_Ready/hubspot/{stream}",
                "key": ["/id"],
                "schema": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
            }
            for stream in ("contacts", "deals")
        ],
        "materializations": [
            {
                "name": "Pay_Ready/snowflake/materialize-snowflake",
                "image": "ghcr.io/estuary/materialize-snowflake:v4",
                "config": {
                    "host": "uhdecno-cvb64222.snowflakecomputing.com",
                    "database": "SOPHIA_AI",
                    "schema": "ESTUARY_RAW",
                    "warehouse": "SOPHIA_AI_WH",
                    "role": "SOPHIA_ESTUARY_LOADER",
                    "credentials": {"auth_type": "jwt", "user": "SOPHIA_ESTUARY_SVC"},
                    "timestamp_type": "TIMESTAMP_LTZ",
                    "syncSchedule": {"syncFrequency": "15m"},
                },
                "bindings": [
                    {"source": "Pay_Ready/hubspot/contacts", "resource": {"table": "hubspot_contacts"}},
                    {"source": "Pay_Ready/hubspot/deals", "resource": {"table": "hubspot_deals"}},
                ],
            }
        ],
    }


# The production catalog: names, shape, and acceptance by Flow's and the connectors' schemas.


def test_production_catalog_names_every_spec_under_the_tenant() -> None:
    document = catalog_document(build())

    assert sorted(document["captures"]) == [
        "Pay_Ready/asana/source-asana",
        "Pay_Ready/gong/source-gong",
        "Pay_Ready/hubspot/source-hubspot-native",
    ]
    assert sorted(document["collections"]) == sorted(
        f"Pay_Ready/{entry['source']}/{stream}" for entry in CAPTURES for stream in entry["streams"]
    )
    (materialization,) = document["materializations"].values()
    assert [binding["source"] for binding in materialization["bindings"]] == [
        f"Pay_Ready/{entry['source']}/{stream}" for entry in CAPTURES for stream in entry["streams"]
    ]
    assert [binding["resource"]["table"] for binding in materialization["bindings"]] == [
        f"{entry['source']}_{stream}" for entry in CAPTURES for stream in entry["streams"]
    ]
    assert all(binding["fields"] == {"recommended": True} for binding in materialization["bindings"])


def test_materialization_config_uses_the_connector_field_names() -> None:
    document = yaml.safe_load(render_catalog(build(), SECRETS))
    (materialization,) = document["materializations"].values()
    config = materialization["endpoint"]["connector"]["config"]

    assert materialization["endpoint"]["connector"]["image"] == "ghcr.io/estuary/materialize-snowflake:v4"
    assert config == {
        "host": "uhdecno-cvb64222.snowflakecomputing.com",
        "database": "SOPHIA_AI",
        "schema": "ESTUARY_RAW",
        "warehouse": "SOPHIA_AI_WH",
        "role": "SOPHIA_ESTUARY_LOADER",
        "credentials": {"auth_type": "jwt", "user": "SOPHIA_ESTUARY_SVC", "private_key": PRIVATE_KEY},
        "timestamp_type": "TIMESTAMP_LTZ",
        "syncSchedule": {"syncFrequency": "15m"},
    }


@needs_reference
@pytest.mark.parametrize("with_secrets", [False, True], ids=["secret-free", "secrets-filled"])
def test_rendered_catalog_validates_against_flow_catalog_schema(with_secrets: bool) -> None:
    document = yaml.safe_load(render_catalog(build(), SECRETS if with_secrets else None))

    assert errors_of(flow_catalog_validator(), document) == []


@needs_reference
def test_flow_catalog_schema_check_rejects_a_broken_catalog() -> None:
    document = yaml.safe_load(render_catalog(build()))
    capture = next(iter(document["captures"].values()))
    del capture["bindings"][0]["target"]
    document["collections"]["Pay_Ready/has a space"] = {"key": ["/id"]}

    errors = errors_of(flow_catalog_validator(), document)

    assert any("'target' is a required property" in error for error in errors)
    assert any("has a space" in error for error in errors)


@needs_reference
def test_secrets_filled_captures_validate_against_their_connector_specs() -> None:
    document = yaml.safe_load(render_catalog(build(), SECRETS))

    assert len(document["captures"]) == len(CAPTURE_SPECS)
    for name, capture in document["captures"].items():
        image = capture["endpoint"]["connector"]["image"]
        spec = load_reference(CAPTURE_SPECS[image.rsplit(":", 1)[0]])
        config_errors = errors_of(
            connector_validator(spec["configSchema"]), capture["endpoint"]["connector"]["config"]
        )
        assert config_errors == [], name
        resource_validator = connector_validator(spec["resourceConfigSchema"])
        for binding in capture["bindings"]:
            assert errors_of(resource_validator, binding["resource"]) == [], binding


@needs_reference
def test_secrets_filled_materialization_validates_against_materialize_snowflake_spec() -> None:
    document = yaml.safe_load(render_catalog(build(), SECRETS))
    spec = load_reference("materialize-snowflake.spec.json")
    (materialization,) = document["materializations"].values()

    config = materialization["endpoint"]["connector"]["config"]
    assert errors_of(connector_validator(spec["config_schema_json"]), config) == []
    resource_validator = connector_validator(spec["resource_config_schema_json"])
    for binding in materialization["bindings"]:
        assert errors_of(resource_validator, binding["resource"]) == [], binding


@needs_reference
def test_secret_free_capture_configs_lack_only_their_credentials() -> None:
    secret_free = yaml.safe_load(render_catalog(build()))

    for capture in secret_free["captures"].values():
        spec = load_reference(CAPTURE_SPECS[capture["endpoint"]["connector"]["image"].rsplit(":", 1)[0]])
        errors = errors_of(
            connector_validator(spec["configSchema"]), capture["endpoint"]["connector"]["config"]
        )
        assert errors, "a secret-free config must not satisfy the connector: its credentials are missing"
        assert all(error.startswith("credentials") for error in errors), errors


def test_secret_free_text_holds_no_secret_value() -> None:
    text = render_catalog(build())

    for value in [*SECRETS.values(), *PRIVATE_KEY.splitlines()[1:3]]:
        assert value not in text
    assert (
        "private_key"
        not in yaml.safe_load(text)["materializations"]["Pay_Ready/snowflake/materialize-snowflake"][
            "endpoint"
        ]["connector"]["config"]["credentials"]
    )


# Secret addressing.


def test_secret_slots_point_at_the_fields_they_fill() -> None:
    catalog = build()
    filled = yaml.safe_load(render_catalog(catalog, SECRETS))

    slots = secret_slots(catalog)
    assert parse_secret_slots(render_catalog(catalog)) == slots
    assert {slot.secret for slot in slots} == set(SECRETS)
    for slot in slots:
        node: Any = filled
        for token in slot.pointer.split("/")[1:]:
            node = node[token.replace("~1", "/").replace("~0", "~")]
        assert node == SECRETS[slot.secret]
    assert (
        SecretSlot(
            "/captures/Pay_Ready~1hubspot~1source-hubspot-native/endpoint/connector/config/credentials/client_secret",
            "hubspot.client_secret",
        )
        in slots
    )


def test_publish_fill_equals_rendering_with_secrets() -> None:
    catalog = build()

    assert fill_secrets_text(render_catalog(catalog), SECRETS) == render_catalog(catalog, SECRETS)


def test_missing_secret_is_refused_by_name_without_values() -> None:
    secrets = {name: value for name, value in SECRETS.items() if name != "gong.access_key_secret"}

    with pytest.raises(CatalogError) as error:
        render_catalog(build(), secrets)

    assert paths_of(error) == [
        "/captures/Pay_Ready~1gong~1source-gong/endpoint/connector/config/credentials/access_key_secret"
    ]
    assert "gong.access_key_secret" in str(error.value)
    assert not any(value in str(error.value) for value in SECRETS.values())


def test_a_secret_slot_never_overwrites_rendered_data() -> None:
    text = render_catalog(build()).replace(
        "            credentials_title: API Key\n",
        "            access_key: inline-value\n            credentials_title: API Key\n",
    )

    with pytest.raises(CatalogError) as error:
        fill_secrets_text(text, SECRETS)

    assert paths_of(error) == [
        "/captures/Pay_Ready~1gong~1source-gong/endpoint/connector/config/credentials/access_key"
    ]


# Determinism.


def test_rendering_is_byte_identical_and_hash_stable() -> None:
    first, second = build(), build(copy.deepcopy(CAPTURES))

    assert render_catalog(first) == render_catalog(first)
    assert render_catalog(first) == render_catalog(second)
    assert catalog_hash(render_catalog(first)) == catalog_hash(render_catalog(second))
    assert render_catalog(first, SECRETS) == render_catalog(second, dict(reversed(list(SECRETS.items()))))


def test_rendering_does_not_depend_on_the_hash_seed() -> None:
    program = (
        "import sys, json\n"
        "from domain.estuary.production import build_production_catalog, SnowflakeTarget\n"
        "from domain.estuary.rendering import render_catalog\n"
        "args = json.loads(sys.argv[1])\n"
        "catalog = build_production_catalog(\n"
        "    args['tenant'], args['captures'], SnowflakeTarget(**args['snowflake']),\n"
        "    '15m', materialize_tag='v4',\n"
        ")\n"
        "sys.stdout.write(render_catalog(catalog))\n"
    )
    arguments = json.dumps({"tenant": TENANT, "captures": CAPTURES, "snowflake": SNOWFLAKE.model_dump()})
    outputs = {
        subprocess.run(
            [sys.executable, "-c", program, arguments],
            cwd=PROJECT_DIR,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(PROJECT_DIR)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }

    assert outputs == {render_catalog(build())}


def test_changing_one_stream_changes_the_hash() -> None:
    changed = copy.deepcopy(CAPTURES)
    changed[1]["streams"] = ["calls", "scorecards"]

    assert catalog_hash(render_catalog(build(changed))) != catalog_hash(render_catalog(build()))


@settings(max_examples=40, deadline=None)
@given(
    streams=st.lists(
        st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True), min_size=1, max_size=5, unique=True
    ),
    extra=st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True),
)
def test_stream_sets_render_stably_and_any_change_shows_in_the_hash(streams: list[str], extra: str) -> None:
    captures = copy.deepcopy(CAPTURES)
    captures[0]["streams"] = streams
    text = render_catalog(build(captures))

    assert render_catalog(build(copy.deepcopy(captures))) == text
    if extra not in streams:
        captures[0]["streams"] = [*streams, extra]
        assert catalog_hash(render_catalog(build(captures))) != catalog_hash(text)


@settings(max_examples=30, deadline=None)
@given(order=st.permutations(["region", "calls_lookback_window", "start_date"]))
def test_config_key_order_does_not_change_the_text(order: list[str]) -> None:
    values: dict[str, Any] = {
        "region": "us-55616",
        "calls_lookback_window": 7,
        "start_date": "2025-01-01T00:00:00Z",
    }

    def rendered(keys: list[str]) -> str:
        data = valid_catalog_data()
        config: dict[str, Any] = {"credentials": {"credentials_title": "OAuth Credentials"}}
        for key in keys:
            config[key] = values[key]
        data["captures"][0]["config"] = config
        return render_catalog(parse_catalog(data))

    text = rendered(order)

    assert text == rendered(sorted(order))
    assert "region: us-55616" in text


# Refusals: each names the key path and the fix.


def test_a_valid_hand_written_catalog_is_accepted() -> None:
    catalog = parse_catalog(valid_catalog_data())

    assert [slot.secret for slot in secret_slots(catalog)] == ["hubspot.client_id", "snowflake.private_key"]


@pytest.mark.parametrize(
    ("path", "value", "expected_path", "fix"),
    [
        (("captures", 0, "name"), "Other_Tenant/hubspot/source", "captures[0].name", "under Pay_Ready/"),
        (("collections", 1, "name"), "Pay_Ready", "collections[1].name", "under Pay_Ready/"),
        (
            ("captures", 0, "bindings", 1, "target"),
            "Other_Tenant/hubspot/deals",
            "captures[0].bindings[1].target",
            "under Pay_Ready/",
        ),
        (
            ("captures", 0, "bindings", 1, "target"),
            "Pay_Ready/hubspot/tickets",
            "captures[0].bindings[1].target",
            "not defined in this catalog",
        ),
        (
            ("materializations", 0, "bindings", 1, "source"),
            "Pay_Ready/hubspot/tickets",
            "materializations[0].bindings[1].source",
            "not defined in this catalog",
        ),
        (
            ("materializations", 0, "bindings", 1, "resource", "table"),
            "HUBSPOT_CONTACTS",
            "materializations[0].bindings[1].resource.table",
            "already bound by bindings[0]",
        ),
        (
            ("captures", 0, "image"),
            "ghcr.io/estuary/source-hubspot-native:latest",
            "captures[0].image",
            "pin",
        ),
        (("captures", 0, "image"), "ghcr.io/estuary/source-hubspot-native:dev", "captures[0].image", "pin"),
        (("captures", 0, "image"), "ghcr.io/estuary/source-hubspot-native", "captures[0].image", "no tag"),
        (
            ("materializations", 0, "image"),
            "ghcr.io/estuary/materialize-snowflake:latest",
            "materializations[0].image",
            "pin",
        ),
        (
            ("captures", 0, "config", "credentials", "client_secret"),
            "${HUBSPOT_CLIENT_SECRET}",
            "captures[0].config.credentials.client_secret",
            "does not expand",
        ),
        (
            ("materializations", 0, "config", "role"),
            "${SNOWFLAKE_ROLE}",
            "materializations[0].config.role",
            "does not expand",
        ),
        (
            ("captures", 0, "bindings", 0, "resource", "name"),
            "${STREAM}",
            "captures[0].bindings[0].resource.name",
            "does not expand",
        ),
        (
            ("captures", 0, "config", "credentials", "client_id"),
            "inline",
            'captures[0].secret_fields["/credentials/client_id"]',
            "remove the inline value",
        ),
        (("collections", 0, "key", 0), "/uuid", "collections[0].key[0]", "required"),
        (
            ("collections", 0, "name"),
            "Pay_Ready/hubspot",
            "collections[0].name",
            "prefix of another",
        ),
        (
            ("collections", 0, "name"),
            "Pay_Ready/HUBSPOT/deals",
            "collections[1].name",
            "ignoring case",
        ),
    ],
)
def test_bad_catalog_is_refused_with_its_key_path(
    path: tuple[str | int, ...], value: Any, expected_path: str, fix: str
) -> None:
    data = valid_catalog_data()
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value

    with pytest.raises(CatalogError) as error:
        parse_catalog(data)

    matching = [problem for problem in error.value.problems if problem.path == expected_path]
    assert matching, str(error.value)
    assert fix in matching[0].message
    assert f"{expected_path}: " in str(error.value)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("https://uhdecno-cvb64222.snowflakecomputing.com", "bare host name"),
        ("uhdecno-cvb64222.snowflakecomputing.com:443", "bare host name"),
        ("UHDECNO-CVB64222.modern_stackcomputing.com", "domain"),
        ("ZNB04675.us-east-1.us-east-1.snowflakecomputing.com", "repeated"),
        ("uhdecno-cvb64222.snowflakecomputing.com.snowflakecomputing.com", "repeated"),
    ],
)
def test_bad_snowflake_host_is_refused_with_its_key_path(host: str, reason: str) -> None:
    data = valid_catalog_data()
    data["materializations"][0]["config"]["host"] = host

    with pytest.raises(CatalogError) as error:
        parse_catalog(data)

    assert paths_of(error) == ["materializations[0].config.host"]
    assert reason in str(error.value)


def test_unknown_keys_are_refused_with_their_path() -> None:
    data = valid_catalog_data()
    data["materializations"][0]["config"]["credentials"]["privateKey"] = "pasted-from-the-ci-cd-guide"

    with pytest.raises(CatalogError) as error:
        parse_catalog(data)

    assert paths_of(error) == ["materializations[0].config.credentials.privateKey"]
    assert "pasted-from-the-ci-cd-guide" not in str(error.value)


@pytest.mark.parametrize(
    ("change", "expected_path", "fix"),
    [
        (
            lambda c: c[1].update(connectorTag="latest"),
            "captures[1].connectorTag",
            "pin a version tag",
        ),
        (lambda c: c[1].update(connectorTag="dev"), "captures[1].connectorTag", "pin a version tag"),
        (
            lambda c: c[0].update(streams=["contacts", "contacts"]),
            "captures[0].streams[1]",
            "duplicate",
        ),
        (
            lambda c: c[2].update(streams=["tasks", "team/members"]),
            "captures[2].streams[1]",
            "pattern",
        ),
        (
            lambda c: c[2].update(source="gong", streams=["scorecards"]),
            "captures[2].source",
            "already captured",
        ),
        (
            lambda c: c[0].update(source="salesforce"),
            "captures[0].source",
            "'hubspot', 'gong' or 'asana'",
        ),
        (lambda c: c[0].update(image="ghcr.io/x:v1"), "captures[0].image", "not a known key"),
        (lambda c: c[0].update(interval="5 minutes"), "captures[0].interval", "pattern"),
        (lambda c: c[1].pop("streams"), "captures[1].streams", "required"),
    ],
)
def test_bad_capture_entries_are_refused_with_their_path(change: Any, expected_path: str, fix: str) -> None:
    captures = copy.deepcopy(CAPTURES)
    change(captures)

    with pytest.raises(CatalogError) as error:
        build(captures)

    assert paths_of(error) == [expected_path]
    assert fix in error.value.problems[0].message


@pytest.mark.parametrize(
    ("overrides", "expected_path"),
    [
        ({"sync_frequency": "10m"}, "sync_frequency"),
        ({"materialize_tag": "latest"}, "materialize_tag"),
        ({"materialize_tag": "1.2.3"}, "materialize_tag"),
        ({"tenant": "Pay Ready/"}, "tenant"),
    ],
)
def test_bad_builder_arguments_are_refused_with_their_name(
    overrides: dict[str, Any], expected_path: str
) -> None:
    with pytest.raises(CatalogError) as error:
        build(**overrides)

    assert paths_of(error) == [expected_path]


def test_the_stack_config_validates_its_captures_with_the_domain_model() -> None:
    captures = EstuaryConfig.model_fields["captures"].annotation

    assert get_args(captures) == (CaptureSource,)
    assert render_catalog(
        build([CaptureSource.model_validate(entry) for entry in CAPTURES])
    ) == render_catalog(build())


def test_every_source_secret_has_its_stack_key() -> None:
    secret_keys = {key for key, (_, _, _, is_secret) in config_keys().items() if is_secret}

    for source in SOURCES:
        for name in source_secret_names(source):
            field = EstuaryConfig.model_fields[name.replace(".", "_")]
            assert field.alias in secret_keys, name


def test_every_source_the_model_accepts_has_a_profile() -> None:
    assert set(get_args(SourceName)) == set(SOURCES)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("captures[1].connectorTag", "estuaryCaptures[1].connectorTag"),
        ("sync_frequency", "estuarySyncFrequency"),
        ("materialize_tag", "estuaryMaterializeTag"),
        ("tenant", "estuaryTenant"),
    ],
)
def test_builder_paths_become_stack_keys_in_the_config(path: str, key: str) -> None:
    assert EstuaryConfig.stack_key(path) == key
