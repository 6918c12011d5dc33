"""The stack's Estuary Flow catalog: typed models, the rules Flow enforces, deterministic flow.yaml text.

Plain Python (no Pulumi): the EstuaryFlow component, the publish script and the tests share it.

Names follow Flow's catalog rules (estuary/flow `crates/validation/src/reference.rs`): paths of letters,
numbers, `-`, `_`, `.` separated by `/`; no two names of the catalog may be equal, or one a parent path of
the other, once case and Unicode normalisation are ignored (`collate.rs`). Every name lives under the tenant.

Secrets are addressed by JSON pointer. A model declares which of its endpoint config fields are secret and
under which secret name (`Capture.secret_fields`, `Materialization.private_key_secret`);
`Catalog.secret_slots()` turns those into `SecretSlot(pointer, secret)` pairs whose pointer addresses the
field in the rendered document, e.g.
`/captures/Pay_Ready~1hubspot~1source-hubspot-native/endpoint/connector/config/credentials/client_id`
filled from the secret `hubspot.client_id`. `render_catalog(catalog)` leaves those fields out and lists the
slots in the text's leading comment (`# flow-secret: <pointer> <secret>`), so the secret-free text is safe to
export and diff and still tells the publish step, and a reviewer, what goes where.
`fill_secrets_text(text, secrets)` (used by scripts/publish_flow.py and by `render_catalog(catalog, secrets)`)
reads those lines back and writes each value at its pointer; it refuses a missing secret or a slot that would
overwrite rendered data. flowctl does not expand `${VAR}`, so placeholders are refused rather than rendered.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from domain.snowflake_account import InvalidAccountIdentifier, parse_account_host

# Stack config keys named in the builder's errors (Pulumi.yaml, namespace sophia-ai).
TENANT_KEY = "estuaryTenant"
PREFIX_KEY = "estuaryPrefix"
CAPTURES_KEY = "estuaryCaptures"
MATERIALIZE_TAG_KEY = "estuaryMaterializeTag"
SYNC_FREQUENCY_KEY = "estuarySyncFrequency"

# materialize-snowflake's config schema (shared/reference/estuary/materialize-snowflake.spec.json).
SyncFrequency = Literal["0s", "30s", "5m", "15m", "30m", "1h", "2h", "4h"]
SYNC_FREQUENCIES: tuple[str, ...] = get_args(SyncFrequency)
TimestampType = Literal[
    "TIMESTAMP_LTZ", "TIMESTAMP_NTZ (discard TZ)", "TIMESTAMP_NTZ (normalize to UTC)", "TIMESTAMP_TZ"
]

SNOWFLAKE_CONNECTOR = "ghcr.io/estuary/materialize-snowflake"
SNOWFLAKE_PRIVATE_KEY = "snowflake.private_key"
SLOT_LINE_PREFIX = "# flow-secret: "
_HEADER = (
    "# Estuary Flow catalog. Secret fields are left out of this text: scripts/publish_flow.py fills them in\n"
    "# from FLOW_SECRETS_JSON just before flowctl reads it. Each line: flow-secret: <JSON pointer> <secret>\n"
)

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_POINTER = re.compile(r"^(/([^/~\s]|~[01])+)+$")
_SECRET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# One build: a version (v1, v4.2) or a commit hash. `latest` and `dev` move under a running task.
_PINNED_TAG = re.compile(r"^(v\d+(\.\d+)*|[0-9a-f]{7,40})$")
_INTERVAL = r"^\d+(s|m|h)$"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalog: the key path that holds it and what to do about it."""

    path: str
    message: str


class CatalogError(Exception):
    """The catalog (or the config it is built from) is invalid; `problems` names every offending key path.

    Deliberately not a ValueError: raised from a model validator it reaches the caller as itself instead of
    being folded into a pydantic ValidationError without its paths.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        count = len(self.problems)
        lines = [f"Estuary catalog is invalid ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  {problem.path}: {problem.message}" for problem in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True, order=True)
class SecretSlot:
    """A secret field of the rendered document: its JSON pointer and the name of the secret that fills it."""

    pointer: str
    secret: str


def _path(*parts: str | int) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _tokens(pointer: str) -> list[str]:
    return [_unescape(token) for token in pointer.split("/")[1:]]


def _collate(name: str) -> str:
    # Flow compares names after NFD, default case folding and NFKC (crates/validation/src/collate.rs).
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFD", name).casefold())


def _name_problem(name: str) -> str | None:
    if not name:
        return "is empty; give a name such as Pay_Ready/hubspot/contacts"
    parts = name.split("/")
    if any(part == "" for part in parts):
        return f"{name!r} has an empty path segment; remove the leading, trailing or doubled '/'"
    bad = sorted({char for char in name if char != "/" and not (char.isalnum() or char in "-_.")})
    if bad:
        return f"{name!r} contains {''.join(bad)!r}; Flow names allow letters, numbers, '-', '_', '.' and '/'"
    return None


def _tag_problem(tag: str) -> str | None:
    if _PINNED_TAG.match(tag):
        return None
    if tag in {"", "latest", "dev"}:
        what = "has no tag" if not tag else f"uses the moving tag {tag!r}"
    else:
        what = f"uses the tag {tag!r}, which is not a version"
    return (
        f"{what}; pin a version tag such as v1 (Estuary's moving tags change a running task, and flowctl "
        "encrypts endpoint secrets only for pinned images)"
    )


def _image_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    problem = _tag_problem(tag)
    return f"{image!r} {problem}" if problem else None


def _placeholders(value: JsonValue, *parts: str | int) -> Iterator[Problem]:
    if isinstance(value, str):
        if _PLACEHOLDER.search(value):
            yield Problem(
                _path(*parts),
                "contains a ${...} placeholder, which flowctl does not expand; put the value in stack "
                "config, or declare the field a secret so the publish step fills it in",
            )
    elif isinstance(value, dict):
        for key in sorted(value):
            yield from _placeholders(value[key], *parts, key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholders(item, *parts, index)


def _resolve_parent(document: Mapping[str, Any], pointer: str) -> tuple[dict[str, Any] | None, str]:
    """The object holding the pointer's last token (None when the path leads to none), and that token."""
    *parents, leaf = _tokens(pointer)
    node: Any = document
    for token in parents:
        node = node.get(token) if isinstance(node, dict) else None
    return (node if isinstance(node, dict) else None), leaf


_MODEL = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True)

FlowName = Annotated[str, Field(min_length=1)]
SecretName = Annotated[str, Field(pattern=_SECRET_NAME.pattern)]


class CaptureBinding(BaseModel):
    """One resource of the source (its shape is the connector's `resourceConfigSchema`) and its collection."""

    model_config = _MODEL

    resource: dict[str, JsonValue]
    target: FlowName


class Capture(BaseModel):
    """A capture task: connector image and config, bindings, how often to run.

    `secret_fields` maps a JSON pointer inside `config` to the secret that fills it at publish time; the field
    itself is absent from `config` (its parent object, e.g. `credentials` with its discriminator, is present).
    """

    model_config = _MODEL

    name: FlowName
    image: str
    config: dict[str, JsonValue]
    bindings: list[CaptureBinding]
    interval: Annotated[str, Field(pattern=_INTERVAL)] | None = None
    secret_fields: dict[str, SecretName] = {}


class Collection(BaseModel):
    """A collection: its key (JSON pointers into documents) and its inline JSON schema."""

    model_config = _MODEL

    name: FlowName
    key: Annotated[list[str], Field(min_length=1)]
    schema_: dict[str, JsonValue] = Field(alias="schema")


def _check_host(host: str) -> str:
    # The connector wants the bare host (its pattern is ^[^/:]+.snowflakecomputing.com$); the account rules
    # (mangled domain, repeated region suffix, identifier forms) are domain.snowflake_account's.
    if "://" in host or ":" in host or "/" in host or host != host.strip():
        raise ValueError(
            f"{host!r} must be a bare host name (no scheme, port, path or spaces), "
            "e.g. uhdecno-cvb64222.snowflakecomputing.com"
        )
    try:
        parse_account_host(host)
    except InvalidAccountIdentifier as error:
        raise ValueError(str(error)) from None
    return host


SnowflakeHost = Annotated[str, AfterValidator(_check_host)]


class SnowflakeJwtCredentials(BaseModel):
    """Key-pair auth; the private key is a secret slot (`Materialization.private_key_secret`), not a field."""

    model_config = _MODEL

    auth_type: Literal["jwt"] = "jwt"
    user: Annotated[str, Field(min_length=1)]


class SyncSchedule(BaseModel):
    model_config = _MODEL

    sync_frequency: SyncFrequency = Field(alias="syncFrequency")


class SnowflakeEndpointConfig(BaseModel):
    """materialize-snowflake's endpoint config, field names as in the connector's own config schema."""

    model_config = _MODEL

    host: SnowflakeHost
    database: Annotated[str, Field(min_length=1)]
    schema_: Annotated[str, Field(min_length=1)] = Field(alias="schema")
    warehouse: str | None = None
    role: str | None = None
    credentials: SnowflakeJwtCredentials
    timestamp_type: TimestampType
    sync_schedule: SyncSchedule | None = Field(default=None, alias="syncSchedule")


class TableResource(BaseModel):
    model_config = _MODEL

    table: Annotated[str, Field(min_length=1)]
    delta_updates: bool = False
    schema_: str | None = Field(default=None, alias="schema")


class FieldSelection(BaseModel):
    model_config = _MODEL

    recommended: bool = True


class MaterializationBinding(BaseModel):
    model_config = _MODEL

    source: FlowName
    resource: TableResource
    fields: FieldSelection = FieldSelection()


class Materialization(BaseModel):
    """A materialize-snowflake task: one table per bound collection."""

    model_config = _MODEL

    name: FlowName
    image: str
    config: SnowflakeEndpointConfig
    bindings: list[MaterializationBinding]
    private_key_secret: SecretName = SNOWFLAKE_PRIVATE_KEY


class Catalog(BaseModel):
    """Everything the stack publishes to Estuary, all under one tenant prefix."""

    model_config = _MODEL

    tenant: str
    captures: list[Capture] = []
    collections: list[Collection] = []
    materializations: list[Materialization] = []

    @field_validator("tenant")
    @classmethod
    def _tenant_ends_with_slash(cls, tenant: str) -> str:
        return tenant if tenant.endswith("/") else tenant + "/"

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        problems = list(_catalog_problems(self))
        if problems:
            raise CatalogError(problems)
        return self

    def secret_slots(self) -> tuple[SecretSlot, ...]:
        """Every secret field of the rendered document, sorted by pointer."""
        slots = [
            SecretSlot(f"/captures/{_escape(capture.name)}/endpoint/connector/config{pointer}", secret)
            for capture in self.captures
            for pointer, secret in capture.secret_fields.items()
        ]
        slots += [
            SecretSlot(
                f"/materializations/{_escape(materialization.name)}/endpoint/connector/config/credentials/private_key",
                materialization.private_key_secret,
            )
            for materialization in self.materializations
        ]
        return tuple(sorted(slots))


def _catalog_problems(catalog: Catalog) -> Iterator[Problem]:
    tenant = catalog.tenant
    tenant_problem = _name_problem(tenant[:-1])
    if tenant_problem or "/" in tenant[:-1]:
        yield Problem("tenant", tenant_problem or f"{tenant!r} must be a single prefix such as Pay_Ready/")
        return

    def under_tenant(name: str, *parts: str | int) -> Iterator[Problem]:
        problem = _name_problem(name)
        if problem:
            yield Problem(_path(*parts), problem)
        elif not name.startswith(tenant) or name == tenant:
            yield Problem(
                _path(*parts),
                f"{name!r} is outside the tenant; name it under {tenant} "
                f"(e.g. {tenant}{name.rsplit('/', 1)[-1]})",
            )

    names: list[tuple[str, str, str]] = []
    collection_names = {collection.name for collection in catalog.collections}

    for index, collection in enumerate(catalog.collections):
        yield from under_tenant(collection.name, "collections", index, "name")
        names.append(("collection", collection.name, _path("collections", index, "name")))
        yield from _key_problems(collection, index)

    for index, capture in enumerate(catalog.captures):
        yield from under_tenant(capture.name, "captures", index, "name")
        names.append(("capture", capture.name, _path("captures", index, "name")))
        problem = _image_problem(capture.image)
        if problem:
            yield Problem(_path("captures", index, "image"), problem)
        yield from _placeholders(capture.config, "captures", index, "config")
        if not capture.bindings:
            yield Problem(_path("captures", index, "bindings"), "is empty; bind at least one stream")
        for position, binding in enumerate(capture.bindings):
            yield from _placeholders(binding.resource, "captures", index, "bindings", position, "resource")
            target_path = ("captures", index, "bindings", position, "target")
            problems = list(under_tenant(binding.target, *target_path))
            yield from problems
            if not problems and binding.target not in collection_names:
                yield Problem(
                    _path(*target_path),
                    f"collection {binding.target!r} is not defined in this catalog; add it under collections "
                    "or bind an existing one",
                )
        yield from _secret_field_problems(capture, index)

    for index, materialization in enumerate(catalog.materializations):
        yield from under_tenant(materialization.name, "materializations", index, "name")
        names.append(("materialization", materialization.name, _path("materializations", index, "name")))
        yield from _materialization_problems(materialization, index, collection_names)

    yield from _collisions(names)


def _key_problems(collection: Collection, index: int) -> Iterator[Problem]:
    for position, pointer in enumerate(collection.key):
        path = _path("collections", index, "key", position)
        if not _POINTER.match(pointer):
            yield Problem(path, f"{pointer!r} is not a JSON pointer; write it like /id")
            continue
        node: Any = collection.schema_
        for token in _tokens(pointer):
            properties = node.get("properties") if isinstance(node, dict) else None
            required = node.get("required", []) if isinstance(node, dict) else []
            if not isinstance(properties, dict) or token not in properties or token not in required:
                yield Problem(
                    path,
                    f"key {pointer!r} is not a required property of the collection schema; Flow needs every "
                    f"document to carry its key, so list {token!r} in the schema's properties and required",
                )
                break
            node = properties[token]


def _secret_field_problems(capture: Capture, index: int) -> Iterator[Problem]:
    for pointer in sorted(capture.secret_fields):
        path = _path("captures", index, "secret_fields", pointer)
        if not _POINTER.match(pointer):
            yield Problem(path, "is not a JSON pointer into config; write it like /credentials/client_secret")
            continue
        parent, leaf = _resolve_parent(capture.config, pointer)
        if parent is None:
            yield Problem(
                path,
                "has no parent object in config; add the object that holds it (e.g. credentials with its "
                "credentials_title) to config",
            )
        elif leaf in parent:
            yield Problem(path, "is also given inline in config; remove the inline value, it is filled in")


def _materialization_problems(
    materialization: Materialization, index: int, collection_names: set[str]
) -> Iterator[Problem]:
    problem = _image_problem(materialization.image)
    if problem:
        yield Problem(_path("materializations", index, "image"), problem)
    elif materialization.image.split("@")[0].rsplit(":", 1)[0] != SNOWFLAKE_CONNECTOR:
        yield Problem(
            _path("materializations", index, "image"),
            f"{materialization.image!r} is not {SNOWFLAKE_CONNECTOR}, the connector this config is for",
        )
    config = materialization.config.model_dump(by_alias=True, exclude_none=True, mode="json")
    yield from _placeholders(config, "materializations", index, "config")
    if not materialization.bindings:
        yield Problem(_path("materializations", index, "bindings"), "is empty; bind at least one collection")
    tables: dict[tuple[str, str], int] = {}
    for position, binding in enumerate(materialization.bindings):
        binding_path = ("materializations", index, "bindings", position)
        if binding.source not in collection_names:
            yield Problem(
                _path(*binding_path, "source"),
                f"collection {binding.source!r} is not defined in this catalog; bind one of its collections "
                "or add the collection",
            )
        resource = binding.resource.model_dump(by_alias=True, exclude_none=True, mode="json")
        yield from _placeholders(resource, *binding_path, "resource")
        # Unquoted Snowflake identifiers are case-insensitive, so TASKS and tasks are the same table.
        schema = binding.resource.schema_ or materialization.config.schema_
        table_key = (_collate(schema), _collate(binding.resource.table))
        if table_key in tables:
            yield Problem(
                _path(*binding_path, "resource", "table"),
                f"table {binding.resource.table!r} is already bound by bindings[{tables[table_key]}]; "
                "give each binding its own table",
            )
        else:
            tables[table_key] = position


def _collisions(names: list[tuple[str, str, str]]) -> Iterator[Problem]:
    by_collated: dict[str, tuple[str, str, str]] = {}
    for entity, name, path in names:
        other = by_collated.get(_collate(name))
        if other:
            yield Problem(
                path,
                f"{entity} {name!r} collides with {other[0]} {other[1]!r} ({other[2]}); Flow compares names "
                "ignoring case, so rename one",
            )
        else:
            by_collated[_collate(name)] = (entity, name, path)
    for collated, (entity, name, path) in by_collated.items():
        segments = collated.split("/")
        for length in range(1, len(segments)):
            parent = by_collated.get("/".join(segments[:length]))
            if parent:
                yield Problem(
                    parent[2],
                    f"{parent[0]} {parent[1]!r} is a parent path of {entity} {name!r} ({path}); Flow "
                    "forbids a name that is a prefix of another, so rename one",
                )


def _problems_from_validation(error: ValidationError, *root: str | int) -> list[Problem]:
    problems = []
    for detail in error.errors():
        if detail["type"] == "extra_forbidden":
            message = "is not a known key; remove it or fix its spelling"
        elif detail["type"] == "missing":
            message = "is required"
        else:
            message = detail["msg"]
        loc = tuple(part for part in detail["loc"] if isinstance(part, str | int))
        problems.append(Problem(_path(*root, *loc) or "(catalog)", message))
    return problems


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Validate a catalog given as plain data; every mistake becomes one CatalogError naming its key path."""
    try:
        return Catalog.model_validate(data)
    except ValidationError as error:
        raise CatalogError(_problems_from_validation(error)) from None


# Rendering.


def catalog_document(catalog: Catalog) -> dict[str, Any]:
    """The flow.yaml document without secrets: the shape of Flow's catalog schema (flow.schema.json)."""
    document: dict[str, Any] = {}
    if catalog.captures:
        document["captures"] = {capture.name: _capture_document(capture) for capture in catalog.captures}
    if catalog.collections:
        document["collections"] = {
            collection.name: {"key": list(collection.key), "schema": collection.schema_}
            for collection in catalog.collections
        }
    if catalog.materializations:
        document["materializations"] = {
            materialization.name: {
                "endpoint": {
                    "connector": {
                        "image": materialization.image,
                        "config": materialization.config.model_dump(
                            by_alias=True, exclude_none=True, mode="json"
                        ),
                    }
                },
                "bindings": [
                    binding.model_dump(by_alias=True, exclude_none=True, mode="json")
                    for binding in materialization.bindings
                ],
            }
            for materialization in catalog.materializations
        }
    return document


def _capture_document(capture: Capture) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "endpoint": {"connector": {"image": capture.image, "config": capture.config}},
        "bindings": [
            {"resource": binding.resource, "target": binding.target} for binding in capture.bindings
        ],
    }
    if capture.interval is not None:
        spec["interval"] = capture.interval
    return spec


def _dump(document: Mapping[str, Any]) -> str:
    # Sorted keys and no line folding: the same document always gives the same bytes, whatever dict order or
    # hash seed built it. Lists keep their order because binding order is part of the spec.
    return yaml.safe_dump(
        dict(document), sort_keys=True, default_flow_style=False, allow_unicode=True, width=1_000_000
    )


def _header(slots: Sequence[SecretSlot]) -> str:
    return _HEADER + "".join(f"{SLOT_LINE_PREFIX}{slot.pointer} {slot.secret}\n" for slot in slots)


def render_catalog(catalog: Catalog, secrets: Mapping[str, str] | None = None) -> str:
    """flow.yaml text. Without secrets the secret fields are absent (safe to export, diff and hash); with
    secrets they are filled in exactly as the publish step does, through `fill_secrets_text`."""
    text = _header(catalog.secret_slots()) + _dump(catalog_document(catalog))
    return text if secrets is None else fill_secrets_text(text, secrets)


def catalog_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_secret_slots(text: str) -> tuple[SecretSlot, ...]:
    """The secret slots listed in the leading comment of a rendered catalog."""
    slots = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if line.startswith(SLOT_LINE_PREFIX):
            pointer, _, secret = line[len(SLOT_LINE_PREFIX) :].partition(" ")
            if not _POINTER.match(pointer) or not _SECRET_NAME.match(secret):
                raise CatalogError([Problem("catalog header", f"malformed secret line {line!r}")])
            slots.append(SecretSlot(pointer, secret))
    return tuple(slots)


def fill_secrets_text(text: str, secrets: Mapping[str, str]) -> str:
    """Write each secret at the pointer the text's header names. Errors name secrets, never their values."""
    slots = parse_secret_slots(text)
    problems = [
        Problem(slot.pointer, f"needs the secret {slot.secret!r}, which is missing or empty")
        for slot in slots
        if not secrets.get(slot.secret)
    ]
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise CatalogError(
            [Problem("(catalog)", "is not a YAML mapping; pass the text render_catalog produced")]
        )
    for slot in slots:
        parent, leaf = _resolve_parent(document, slot.pointer)
        if parent is None:
            problems.append(Problem(slot.pointer, "does not lead to an object in the catalog; re-render it"))
        elif leaf in parent:
            problems.append(
                Problem(slot.pointer, "already holds a value; a secret never overwrites rendered data")
            )
        elif secrets.get(slot.secret):
            parent[leaf] = secrets[slot.secret]
    if problems:
        raise CatalogError(problems)
    return _leading_comment(text) + _dump(document)


def _leading_comment(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


# The production catalog.


@dataclass(frozen=True)
class _SourceProfile:
    """How the stack captures one kind of source, after the connector's spec (shared/reference/estuary)."""

    connector: str
    credentials: Mapping[str, str]  # the non-secret discriminator of the credentials object
    secret_credentials: tuple[str, ...]
    stream_field: str
    resource_defaults: Mapping[str, str]
    key: str
    key_type: str


SOURCES: Mapping[str, _SourceProfile] = {
    # source-hubspot-native: its published spec offers OAuth only; CRM objects are keyed by an integer id.
    "hubspot": _SourceProfile(
        connector="ghcr.io/estuary/source-hubspot-native",
        credentials={"credentials_title": "OAuth Credentials"},
        secret_credentials=("client_id", "client_secret", "refresh_token"),
        stream_field="name",
        resource_defaults={},
        key="/id",
        key_type="integer",
    ),
    "gong": _SourceProfile(
        connector="ghcr.io/estuary/source-gong",
        credentials={"credentials_title": "API Key"},
        secret_credentials=("access_key", "access_key_secret"),
        stream_field="name",
        resource_defaults={},
        key="/id",
        key_type="string",
    ),
    # source-asana wraps an Airbyte connector: a resource names its stream and sync mode; records carry a gid.
    "asana": _SourceProfile(
        connector="ghcr.io/estuary/source-asana",
        credentials={"option_title": "PAT Credentials"},
        secret_credentials=("personal_access_token",),
        stream_field="stream",
        resource_defaults={"syncMode": "full_refresh"},
        key="/gid",
        key_type="string",
    ),
}


class CaptureSource(BaseModel):
    """One entry of the `estuaryCaptures` stack config: a source, its pinned connector tag and streams."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )

    source: Literal["hubspot", "gong", "asana"]
    connector_tag: str
    streams: Annotated[list[str], Field(min_length=1)]
    interval: Annotated[str, Field(pattern=_INTERVAL)] | None = None


class SnowflakeTarget(BaseModel):
    """Where the materialization lands, from the SnowflakePlatform component's outputs."""

    model_config = _MODEL

    host: SnowflakeHost
    database: Annotated[str, Field(min_length=1)]
    landing_schema: Annotated[str, Field(min_length=1)]
    warehouse: Annotated[str, Field(min_length=1)]
    role: Annotated[str, Field(min_length=1)]
    user: Annotated[str, Field(min_length=1)]
    # The connector demands a choice; LTZ keeps each instant exact and is the connector UI's suggestion.
    timestamp_type: TimestampType = "TIMESTAMP_LTZ"


def capture_name(tenant: str, source: str) -> str:
    return f"{tenant}{source}/{SOURCES[source].connector.rsplit('/', 1)[-1]}"


def collection_name(tenant: str, source: str, stream: str) -> str:
    return f"{tenant}{source}/{stream}"


def materialization_name(tenant: str) -> str:
    return f"{tenant}snowflake/materialize-snowflake"


def table_name(source: str, stream: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", f"{source}_{stream}".lower())


def secret_name(source: str, field: str) -> str:
    return f"{source}.{field}"


def _source_entries(
    captures_config: Sequence[CaptureSource | BaseModel | Mapping[str, Any]],
) -> tuple[list[CaptureSource], list[Problem]]:
    sources: list[CaptureSource] = []
    problems: list[Problem] = []
    for index, entry in enumerate(captures_config):
        if isinstance(entry, CaptureSource):
            sources.append(entry)
            continue
        data = entry.model_dump(by_alias=True) if isinstance(entry, BaseModel) else entry
        try:
            sources.append(CaptureSource.model_validate(data))
        except ValidationError as error:
            problems += _problems_from_validation(error, CAPTURES_KEY, index)
    return sources, problems


def build_production_catalog(
    tenant: str,
    captures_config: Sequence[CaptureSource | BaseModel | Mapping[str, Any]],
    snowflake: SnowflakeTarget,
    sync_frequency: str,
    *,
    materialize_tag: str,
    prefix: str = "",
) -> Catalog:
    """Captures from the configured sources, one collection per stream (`<tenant>/<source>/<stream>`), and one
    materialize-snowflake task binding every collection to a table `<source>_<stream>` in the landing schema.

    `prefix` puts every name one level (or more) further under the tenant, e.g. `staging/`: a second stack
    publishes beside the first without touching its specs. Errors name the stack config key
    (estuaryCaptures[1].connectorTag, estuarySyncFrequency, ...).
    """
    tenant = tenant if tenant.endswith("/") else tenant + "/"
    sources, problems = _source_entries(captures_config)
    if _name_problem(tenant[:-1]) or "/" in tenant[:-1]:
        problems.append(Problem(TENANT_KEY, f"{tenant!r} must be one prefix such as Pay_Ready/"))
    if prefix and (not prefix.endswith("/") or any(_name_problem(part) for part in prefix[:-1].split("/"))):
        problems.append(
            Problem(PREFIX_KEY, f"{prefix!r} must be empty or path segments ending in '/', e.g. staging/")
        )
    if sync_frequency not in SYNC_FREQUENCIES:
        problems.append(
            Problem(
                SYNC_FREQUENCY_KEY,
                f"{sync_frequency!r} is not a frequency materialize-snowflake accepts; use one of "
                + ", ".join(SYNC_FREQUENCIES),
            )
        )
    tag_problem = _tag_problem(materialize_tag)
    if tag_problem:
        problems.append(Problem(MATERIALIZE_TAG_KEY, f"materialize-snowflake {tag_problem}"))

    seen_sources: dict[str, int] = {}
    tables: dict[str, str] = {}
    for index, source in enumerate(sources):
        if source.source in seen_sources:
            problems.append(
                Problem(
                    _path(CAPTURES_KEY, index, "source"),
                    f"{source.source} is already captured by {CAPTURES_KEY}[{seen_sources[source.source]}]; "
                    "merge their streams into one entry",
                )
            )
        seen_sources.setdefault(source.source, index)
        tag_problem = _tag_problem(source.connector_tag)
        if tag_problem:
            problems.append(Problem(_path(CAPTURES_KEY, index, "connectorTag"), tag_problem))
        for position, stream in enumerate(source.streams):
            path = _path(CAPTURES_KEY, index, "streams", position)
            name_problem = _name_problem(stream)
            if name_problem or "/" in stream:
                problems.append(
                    Problem(path, name_problem or f"{stream!r} must be one stream name, without '/'")
                )
                continue
            table = table_name(source.source, stream)
            if table in tables:
                problems.append(
                    Problem(
                        path, f"lands in table {table!r} like {tables[table]}; remove the duplicate stream"
                    )
                )
            else:
                tables[table] = path
    if problems:
        raise CatalogError(problems)
    base = tenant + prefix

    collections = [
        Collection(
            name=collection_name(base, source.source, stream),
            key=[SOURCES[source.source].key],
            schema={
                "type": "object",
                "properties": {SOURCES[source.source].key[1:]: {"type": SOURCES[source.source].key_type}},
                "required": [SOURCES[source.source].key[1:]],
            },
        )
        for source in sources
        for stream in source.streams
    ]
    captures = [_production_capture(base, source) for source in sources]
    materialization = Materialization(
        name=materialization_name(base),
        image=f"{SNOWFLAKE_CONNECTOR}:{materialize_tag}",
        config=SnowflakeEndpointConfig(
            host=snowflake.host,
            database=snowflake.database,
            schema=snowflake.landing_schema,
            warehouse=snowflake.warehouse,
            role=snowflake.role,
            credentials=SnowflakeJwtCredentials(user=snowflake.user),
            timestamp_type=snowflake.timestamp_type,
            syncSchedule=SyncSchedule.model_validate({"syncFrequency": sync_frequency}),
        ),
        bindings=[
            MaterializationBinding(
                source=collection_name(base, source.source, stream),
                resource=TableResource(table=table_name(source.source, stream)),
            )
            for source in sources
            for stream in source.streams
        ],
    )
    return Catalog(
        tenant=tenant, captures=captures, collections=collections, materializations=[materialization]
    )


def _production_capture(tenant: str, source: CaptureSource) -> Capture:
    profile = SOURCES[source.source]
    return Capture(
        name=capture_name(tenant, source.source),
        image=f"{profile.connector}:{source.connector_tag}",
        config={"credentials": dict(profile.credentials)},
        bindings=[
            CaptureBinding(
                resource={profile.stream_field: stream, **profile.resource_defaults},
                target=collection_name(tenant, source.source, stream),
            )
            for stream in source.streams
        ],
        interval=source.interval,
        secret_fields={
            f"/credentials/{field}": secret_name(source.source, field) for field in profile.secret_credentials
        },
    )
