"""The typed Estuary Flow catalog and the rules Flow and the connectors enforce on it.

Names follow Flow's catalog rules (estuary/flow `crates/validation/src/reference.rs`): paths of letters,
numbers, `-`, `_`, `.` separated by `/`; no two names of the catalog may be equal, or one a parent path of
the other, once case and Unicode normalisation are ignored (`collate.rs`). Every name lives under the tenant.

A model declares which of its endpoint config fields are secret and under which secret name
(`Capture.secret_fields`, `Materialization.private_key_secret`); the secret values never enter a model, and
`domain.estuary.rendering` turns those declarations into the rendered text's secret slots.
flowctl does not expand `${VAR}`, so placeholders are refused rather than rendered.

Every mistake is a `Problem` naming its key path, gathered into one `CatalogError`. The annotated types below
(`Tenant`, `ConnectorTag`, `SyncFrequency`, `Interval`) are the one statement of their rule: the stack config
uses them for its own keys.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

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

from domain.estuary.pointers import JSON_POINTER, resolve_parent, tokens
from domain.image_tags import ImageKind, image_problem, split_image, tag_problem
from domain.snowflake_account import InvalidAccountIdentifier, parse_account_host

# materialize-snowflake's config schema (shared/reference/estuary/materialize-snowflake.spec.json).
SYNC_FREQUENCIES: tuple[str, ...] = ("0s", "30s", "5m", "15m", "30m", "1h", "2h", "4h")
TimestampType = Literal[
    "TIMESTAMP_LTZ", "TIMESTAMP_NTZ (discard TZ)", "TIMESTAMP_NTZ (normalize to UTC)", "TIMESTAMP_TZ"
]

SNOWFLAKE_CONNECTOR = "ghcr.io/estuary/materialize-snowflake"
SNOWFLAKE_PRIVATE_KEY = "snowflake.private_key"
SECRET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INTERVAL = r"^\d+(s|m|h)$"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalog: the key path that holds it and what to do about it."""

    path: str
    message: str


class CatalogError(Exception):
    """The catalog (or the arguments it is built from) is invalid; `problems` names every offending key path.

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


def key_path(*parts: str | int) -> str:
    """A readable key path: key_path("captures", 1, "connectorTag") == "captures[1].connectorTag"."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _collate(name: str) -> str:
    # Flow compares names after NFD, default case folding and NFKC (crates/validation/src/collate.rs).
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFD", name).casefold())


def name_problem(name: str) -> str | None:
    """Why `name` is not a Flow catalog name; None when it is."""
    if not name:
        return "is empty; give a name such as Pay_Ready/hubspot/contacts"
    parts = name.split("/")
    if any(part == "" for part in parts):
        return f"{name!r} has an empty path segment; remove the leading, trailing or doubled '/'"
    bad = sorted({char for char in name if char != "/" and not (char.isalnum() or char in "-_.")})
    if bad:
        return f"{name!r} contains {''.join(bad)!r}; Flow names allow letters, numbers, '-', '_', '.' and '/'"
    return None


def tenant_problem(tenant: str) -> str | None:
    """Why `tenant` is not one Flow prefix with its trailing slash, such as Pay_Ready/; None when it is."""
    if not tenant.endswith("/"):
        return f"{tenant!r} must end with '/', e.g. {tenant}/"
    problem = name_problem(tenant[:-1])
    if problem is None and "/" in tenant[:-1]:
        problem = f"{tenant!r} must be a single prefix such as Pay_Ready/"
    return problem


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` is neither empty nor Flow path segments ending in a slash (staging/); None when it is."""
    if not prefix:
        return None
    if not prefix.endswith("/"):
        return f"{prefix!r} must end with '/', e.g. {prefix}/"
    problems = [name_problem(part) for part in prefix[:-1].split("/")]
    return next((problem for problem in problems if problem), None)


def sync_frequency_problem(frequency: str) -> str | None:
    if frequency in SYNC_FREQUENCIES:
        return None
    return f"{frequency!r} is not a frequency materialize-snowflake accepts; use one of " + ", ".join(
        SYNC_FREQUENCIES
    )


def _connector_image_problem(image: str) -> str | None:
    problem = image_problem(image, ImageKind.ESTUARY_CONNECTOR)
    return f"{image!r} {problem}" if problem else None


def _placeholders(value: JsonValue, *parts: str | int) -> Iterator[Problem]:
    if isinstance(value, str):
        if _PLACEHOLDER.search(value):
            yield Problem(
                key_path(*parts),
                "contains a ${...} placeholder, which flowctl does not expand; put the value in stack "
                "config, or declare the field a secret so the publish step fills it in",
            )
    elif isinstance(value, dict):
        for key in sorted(value):
            yield from _placeholders(value[key], *parts, key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholders(item, *parts, index)


MODEL = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True)


def _valid_tenant(tenant: str) -> str:
    problem = tenant_problem(tenant)
    if problem:
        raise ValueError(problem)
    return tenant


def _valid_sync_frequency(frequency: str) -> str:
    problem = sync_frequency_problem(frequency)
    if problem:
        raise ValueError(problem)
    return frequency


def _valid_connector_tag(tag: str) -> str:
    problem = tag_problem(tag, ImageKind.ESTUARY_CONNECTOR)
    if problem:
        raise ValueError(f"the connector {problem}")
    return tag


FlowName = Annotated[str, Field(min_length=1)]
SecretName = Annotated[str, Field(pattern=SECRET_NAME.pattern)]
Interval = Annotated[str, Field(pattern=_INTERVAL)]
Tenant = Annotated[str, AfterValidator(_valid_tenant)]
SyncFrequency = Annotated[str, AfterValidator(_valid_sync_frequency)]
ConnectorTag = Annotated[str, AfterValidator(_valid_connector_tag)]


class CaptureBinding(BaseModel):
    """One resource of the source (its shape is the connector's `resourceConfigSchema`) and its collection."""

    model_config = MODEL

    resource: dict[str, JsonValue]
    target: FlowName


class Capture(BaseModel):
    """A capture task: connector image and config, bindings, how often to run.

    `secret_fields` maps a JSON pointer inside `config` to the secret that fills it at publish time; the field
    itself is absent from `config` (its parent object, e.g. `credentials` with its discriminator, is present).
    """

    model_config = MODEL

    name: FlowName
    image: str
    config: dict[str, JsonValue]
    bindings: list[CaptureBinding]
    interval: Interval | None = None
    secret_fields: dict[str, SecretName] = {}


class Collection(BaseModel):
    """A collection: its key (JSON pointers into documents) and its inline JSON schema."""

    model_config = MODEL

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

    model_config = MODEL

    auth_type: Literal["jwt"] = "jwt"
    user: Annotated[str, Field(min_length=1)]


class SyncSchedule(BaseModel):
    model_config = MODEL

    sync_frequency: SyncFrequency = Field(alias="syncFrequency")


class SnowflakeEndpointConfig(BaseModel):
    """materialize-snowflake's endpoint config, field names as in the connector's own config schema."""

    model_config = MODEL

    host: SnowflakeHost
    database: Annotated[str, Field(min_length=1)]
    schema_: Annotated[str, Field(min_length=1)] = Field(alias="schema")
    warehouse: str | None = None
    role: str | None = None
    credentials: SnowflakeJwtCredentials
    timestamp_type: TimestampType
    sync_schedule: SyncSchedule | None = Field(default=None, alias="syncSchedule")


class TableResource(BaseModel):
    model_config = MODEL

    table: Annotated[str, Field(min_length=1)]
    delta_updates: bool = False
    schema_: str | None = Field(default=None, alias="schema")


class FieldSelection(BaseModel):
    model_config = MODEL

    recommended: bool = True


class MaterializationBinding(BaseModel):
    model_config = MODEL

    source: FlowName
    resource: TableResource
    fields: FieldSelection = FieldSelection()


class Materialization(BaseModel):
    """A materialize-snowflake task: one table per bound collection."""

    model_config = MODEL

    name: FlowName
    image: str
    config: SnowflakeEndpointConfig
    bindings: list[MaterializationBinding]
    private_key_secret: SecretName = SNOWFLAKE_PRIVATE_KEY


class Catalog(BaseModel):
    """Everything the stack publishes to Estuary, all under one tenant prefix."""

    model_config = MODEL

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


def _catalog_problems(catalog: Catalog) -> Iterator[Problem]:
    tenant = catalog.tenant
    problem = tenant_problem(tenant)
    if problem:
        yield Problem("tenant", problem)
        return

    def under_tenant(name: str, *parts: str | int) -> Iterator[Problem]:
        problem = name_problem(name)
        if problem:
            yield Problem(key_path(*parts), problem)
        elif not name.startswith(tenant) or name == tenant:
            yield Problem(
                key_path(*parts),
                f"{name!r} is outside the tenant; name it under {tenant} "
                f"(e.g. {tenant}{name.rsplit('/', 1)[-1]})",
            )

    names: list[tuple[str, str, str]] = []
    collection_names = {collection.name for collection in catalog.collections}

    for index, collection in enumerate(catalog.collections):
        yield from under_tenant(collection.name, "collections", index, "name")
        names.append(("collection", collection.name, key_path("collections", index, "name")))
        yield from _key_problems(collection, index)

    for index, capture in enumerate(catalog.captures):
        yield from under_tenant(capture.name, "captures", index, "name")
        names.append(("capture", capture.name, key_path("captures", index, "name")))
        problem = _connector_image_problem(capture.image)
        if problem:
            yield Problem(key_path("captures", index, "image"), problem)
        yield from _placeholders(capture.config, "captures", index, "config")
        if not capture.bindings:
            yield Problem(key_path("captures", index, "bindings"), "is empty; bind at least one stream")
        for position, binding in enumerate(capture.bindings):
            yield from _placeholders(binding.resource, "captures", index, "bindings", position, "resource")
            target_path = ("captures", index, "bindings", position, "target")
            problems = list(under_tenant(binding.target, *target_path))
            yield from problems
            if not problems and binding.target not in collection_names:
                yield Problem(
                    key_path(*target_path),
                    f"collection {binding.target!r} is not defined in this catalog; add it under collections "
                    "or bind an existing one",
                )
        yield from _secret_field_problems(capture, index)

    for index, materialization in enumerate(catalog.materializations):
        yield from under_tenant(materialization.name, "materializations", index, "name")
        names.append(("materialization", materialization.name, key_path("materializations", index, "name")))
        yield from _materialization_problems(materialization, index, collection_names)

    yield from _collisions(names)


def _key_problems(collection: Collection, index: int) -> Iterator[Problem]:
    for position, pointer in enumerate(collection.key):
        path = key_path("collections", index, "key", position)
        if not JSON_POINTER.match(pointer):
            yield Problem(path, f"{pointer!r} is not a JSON pointer; write it like /id")
            continue
        node: Any = collection.schema_
        for token in tokens(pointer):
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
        path = key_path("captures", index, "secret_fields", pointer)
        if not JSON_POINTER.match(pointer):
            yield Problem(path, "is not a JSON pointer into config; write it like /credentials/client_secret")
            continue
        parent, leaf = resolve_parent(capture.config, pointer)
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
    problem = _connector_image_problem(materialization.image)
    if problem:
        yield Problem(key_path("materializations", index, "image"), problem)
    elif split_image(materialization.image)[0] != SNOWFLAKE_CONNECTOR:
        yield Problem(
            key_path("materializations", index, "image"),
            f"{materialization.image!r} is not {SNOWFLAKE_CONNECTOR}, the connector this config is for",
        )
    config = materialization.config.model_dump(by_alias=True, exclude_none=True, mode="json")
    yield from _placeholders(config, "materializations", index, "config")
    if not materialization.bindings:
        yield Problem(
            key_path("materializations", index, "bindings"), "is empty; bind at least one collection"
        )
    tables: dict[tuple[str, str], int] = {}
    for position, binding in enumerate(materialization.bindings):
        binding_path = ("materializations", index, "bindings", position)
        if binding.source not in collection_names:
            yield Problem(
                key_path(*binding_path, "source"),
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
                key_path(*binding_path, "resource", "table"),
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


def problems_from_validation(error: ValidationError, *root: str | int) -> list[Problem]:
    problems = []
    for detail in error.errors():
        if detail["type"] == "extra_forbidden":
            message = "is not a known key; remove it or fix its spelling"
        elif detail["type"] == "missing":
            message = "is required"
        else:
            message = detail["msg"]
        loc = tuple(part for part in detail["loc"] if isinstance(part, str | int))
        problems.append(Problem(key_path(*root, *loc) or "(catalog)", message))
    return problems


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Validate a catalog given as plain data; every mistake becomes one CatalogError naming its key path."""
    try:
        return Catalog.model_validate(data)
    except ValidationError as error:
        raise CatalogError(problems_from_validation(error)) from None
