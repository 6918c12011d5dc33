"""The stack's one production catalog: the sources it captures and the builder that turns them into a Catalog.

Captures from the configured sources, one collection per stream (`<tenant><source>/<stream>`), and one
materialize-snowflake task binding every collection to a table `<source>_<stream>` in the landing schema.
`CaptureSource` is the model of one entry of the captures list, and the stack config validates its entries
with it. A problem names its path in the builder's arguments (`captures[1].connectorTag`,
`sync_frequency`); the stack config turns that root into its key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from domain.estuary.models import (
    MODEL,
    SNOWFLAKE_CONNECTOR,
    Capture,
    CaptureBinding,
    Catalog,
    CatalogError,
    Collection,
    ConnectorTag,
    Interval,
    Materialization,
    MaterializationBinding,
    Problem,
    SnowflakeEndpointConfig,
    SnowflakeHost,
    SnowflakeJwtCredentials,
    SyncSchedule,
    TableResource,
    TimestampType,
    key_path,
    prefix_problem,
    problems_from_validation,
    sync_frequency_problem,
    tenant_problem,
)
from domain.image_tags import ImageKind, tag_problem

SourceName = Literal["hubspot", "gong", "asana"]
# A stream is named as its connector names it (all lowercase snake case), so its table name is the same text.
StreamName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


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


SOURCES: Mapping[SourceName, _SourceProfile] = {
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
    """One entry of the stack's captures list: a source, its pinned connector tag, streams and interval."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )

    source: SourceName
    connector_tag: ConnectorTag
    streams: Annotated[list[StreamName], Field(min_length=1)]
    # Required although Flow has a default: how often each source is polled is a cost decision for review.
    interval: Interval


class SnowflakeTarget(BaseModel):
    """Where the materialization lands, from the SnowflakePlatform component's outputs."""

    model_config = MODEL

    host: SnowflakeHost
    database: Annotated[str, Field(min_length=1)]
    landing_schema: Annotated[str, Field(min_length=1)]
    warehouse: Annotated[str, Field(min_length=1)]
    role: Annotated[str, Field(min_length=1)]
    user: Annotated[str, Field(min_length=1)]
    # The connector demands a choice; LTZ keeps each instant exact and is the connector UI's suggestion.
    timestamp_type: TimestampType = "TIMESTAMP_LTZ"


def capture_name(tenant: str, source: SourceName) -> str:
    return f"{tenant}{source}/{SOURCES[source].connector.rsplit('/', 1)[-1]}"


def collection_name(tenant: str, source: str, stream: str) -> str:
    return f"{tenant}{source}/{stream}"


def materialization_name(tenant: str) -> str:
    return f"{tenant}snowflake/materialize-snowflake"


def table_name(source: str, stream: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", f"{source}_{stream}".lower())


def secret_name(source: str, field: str) -> str:
    return f"{source}.{field}"


def source_secret_names(source: SourceName) -> tuple[str, ...]:
    """The secrets a capture of `source` needs at publish time, as its secret slots name them."""
    return tuple(secret_name(source, field) for field in SOURCES[source].secret_credentials)


def _source_entries(
    captures: Sequence[CaptureSource | Mapping[str, Any]],
) -> tuple[list[CaptureSource], list[Problem]]:
    sources: list[CaptureSource] = []
    problems: list[Problem] = []
    for index, entry in enumerate(captures):
        if isinstance(entry, CaptureSource):
            sources.append(entry)
            continue
        try:
            sources.append(CaptureSource.model_validate(entry))
        except ValidationError as error:
            problems += problems_from_validation(error, "captures", index)
    return sources, problems


def build_production_catalog(
    tenant: str,
    captures: Sequence[CaptureSource | Mapping[str, Any]],
    snowflake: SnowflakeTarget,
    sync_frequency: str,
    *,
    materialize_tag: str,
    prefix: str = "",
) -> Catalog:
    """The production catalog, or one CatalogError naming every problem by its argument path.

    `prefix` puts every spec name further under the tenant (`staging/` -> `Pay_Ready/staging/hubspot/...`), so
    a second stack publishes beside the first without ever naming one of its specs.
    """
    tenant = tenant if tenant.endswith("/") else tenant + "/"
    sources, problems = _source_entries(captures)
    for path, problem in (
        ("tenant", tenant_problem(tenant)),
        ("prefix", prefix_problem(prefix)),
        ("sync_frequency", sync_frequency_problem(sync_frequency)),
        ("materialize_tag", tag_problem(materialize_tag, ImageKind.ESTUARY_CONNECTOR)),
    ):
        if problem:
            problems.append(Problem(path, problem))

    seen_sources: dict[str, int] = {}
    tables: set[str] = set()
    for index, source in enumerate(sources):
        if source.source in seen_sources:
            problems.append(
                Problem(
                    key_path("captures", index, "source"),
                    f"{source.source} is already captured by entry {seen_sources[source.source]}; "
                    "merge their streams into one entry",
                )
            )
        seen_sources.setdefault(source.source, index)
        for position, stream in enumerate(source.streams):
            path = key_path("captures", index, "streams", position)
            table = table_name(source.source, stream)
            if table in tables:
                problems.append(Problem(path, f"lands in table {table!r} twice; remove the duplicate stream"))
            tables.add(table)
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
        tenant=tenant,
        captures=[_production_capture(base, source) for source in sources],
        collections=collections,
        materializations=[materialization],
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
