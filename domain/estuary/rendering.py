"""The catalog as deterministic flow.yaml text, with its secrets addressed by JSON pointer, never included.

`secret_slots(catalog)` turns the models' secret declarations into `SecretSlot(pointer, secret)` pairs whose
pointer addresses the field in the rendered document, e.g.
`/captures/Pay_Ready~1hubspot~1source-hubspot-native/endpoint/connector/config/credentials/client_id`
filled from the secret `hubspot.client_id`. `render_catalog(catalog)` leaves those fields out and lists the
slots in the text's leading comment (`# flow-secret: <pointer> <secret>`), so the secret-free text is safe to
export and diff and still tells the publish step, and a reviewer, what goes where.
`fill_secrets_text(text, secrets)` (used by scripts/publish_flow.py and by `render_catalog(catalog, secrets)`)
reads those lines back and writes each value at its pointer; it refuses a missing secret or a slot that would
overwrite rendered data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from domain.estuary.models import SECRET_NAME, Capture, Catalog, CatalogError, Problem
from domain.estuary.pointers import JSON_POINTER, escape, resolve_parent

SLOT_LINE_PREFIX = "# flow-secret: "
_HEADER = (
    "# Estuary Flow catalog. Secret fields are left out of this text: scripts/publish_flow.py fills them in\n"
    "# from FLOW_SECRETS_JSON just before flowctl reads it. Each line: flow-secret: <JSON pointer> <secret>\n"
)


@dataclass(frozen=True, order=True)
class SecretSlot:
    """A secret field of the rendered document: its JSON pointer and the name of the secret that fills it."""

    pointer: str
    secret: str


def secret_slots(catalog: Catalog) -> tuple[SecretSlot, ...]:
    """Every secret field of the rendered document, sorted by pointer."""
    slots = [
        SecretSlot(f"/captures/{escape(capture.name)}/endpoint/connector/config{pointer}", secret)
        for capture in catalog.captures
        for pointer, secret in capture.secret_fields.items()
    ]
    slots += [
        SecretSlot(
            f"/materializations/{escape(materialization.name)}/endpoint/connector/config/credentials/private_key",
            materialization.private_key_secret,
        )
        for materialization in catalog.materializations
    ]
    return tuple(sorted(slots))


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
    text = _header(secret_slots(catalog)) + _dump(catalog_document(catalog))
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
            if not JSON_POINTER.match(pointer) or not SECRET_NAME.match(secret):
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
        parent, leaf = resolve_parent(document, slot.pointer)
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
