"""Resource properties as plain data, with every value not known during preview marked `UNKNOWN`.

The SDK hands a policy its properties behind a proxy that raises `UnknownValueError` when an unknown is read
(pulumi_policy/proxy.py) and turns that exception into an *advisory* "can't run during preview" diagnostic
(pulumi_policy/policy.py, `Analyze`). A mandatory rule that let the exception escape would quietly stop
protecting during every preview, so rules read properties through `resolve_unknowns()` and decide themselves
what an unknown means for them (a violation that names the field, never a silent pass).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    _DictProxy,
    _ListProxy,
)

from domain.unknown import UNKNOWN

from .formats import yaml_documents

_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Larger strings are data blobs (certificates, archives), not configuration documents worth parsing.
_MAX_DOCUMENT_CHARS = 1_000_000


def resolve_unknowns(value: Any) -> Any:
    """A plain copy (dicts, lists, scalars) of SDK properties, with every unknown replaced by `UNKNOWN`."""
    # Every policy gets its own proxy of every resource, so this walk runs once per policy and resource:
    # read the proxies' targets directly (pulumi_policy 1.21 proxy.py: `proxy["__target"]` returns them)
    # rather than through `__getitem__` and its unknown check. An unknown is still its sentinel string there.
    if type(value) is _DictProxy:
        return {str(key): resolve_unknowns(item) for key, item in value["__target"].items()}
    if type(value) is _ListProxy:
        return [resolve_unknowns(item) for item in value["__target"]]
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in value:
            try:
                item = value[key]
            except UnknownValueError:
                result[str(key)] = UNKNOWN
                continue
            result[str(key)] = resolve_unknowns(item)
        return result
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                item = value[index]
            except UnknownValueError:
                items.append(UNKNOWN)
                continue
            items.append(resolve_unknowns(item))
        return items
    return value


@dataclass(frozen=True)
class Document:
    """A path step into a configuration document carried as text (YAML or JSON inside a string)."""

    label: str


PathPart = str | int | Document
Path = tuple[PathPart, ...]


def field_path(parts: Sequence[PathPart]) -> str:
    """`spec.containers[0].resources.limits["nvidia.com/gpu"]`, with embedded documents marked."""
    text = ""
    for part in parts:
        if isinstance(part, Document):
            text += f" ({part.label}) "
        elif isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text and not text.endswith(" ") else part
        else:
            text += f"[{json.dumps(part)}]"
    return text.strip()


def located(resource: str, path: str | Sequence[PathPart], message: str) -> str:
    """`<resource>: <field>: <message>`, the shape of every violation message of the pack."""
    where = path if isinstance(path, str) else field_path(path)
    return f"{resource}: {where}: {message}" if where else f"{resource}: {message}"


def get_path(value: Any, *keys: str | int) -> Any:
    """The value at `keys` inside nested dicts and lists; None where the path does not exist, UNKNOWN where a
    step is unknown."""
    node = value
    for key in keys:
        if node is UNKNOWN:
            return UNKNOWN
        if isinstance(key, int):
            if not isinstance(node, list) or not -len(node) <= key < len(node):
                return None
            node = node[key]
        else:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
    return node


def parse_document(text: str) -> Any:
    """The mapping or list a string holds when it is a YAML or JSON document; None for any other string."""
    stripped = text.strip()
    if len(stripped) > _MAX_DOCUMENT_CHARS or not stripped:
        return None
    if stripped[0] in "{[":
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list)):
            return parsed
    if "\n" not in stripped or ":" not in stripped:
        return None
    return yaml_documents(stripped)


@dataclass(frozen=True)
class ValueFrom:
    """An env entry that takes its value from elsewhere (`valueFrom`): a reference, not a literal."""

    source: Any

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.source) if isinstance(self.source, dict) else frozenset()


@dataclass(frozen=True)
class Leaf:
    """One scalar of a property tree, with the key that names it and what surrounds it."""

    path: Path
    key: str | None
    value: Any
    # True under a key or connector that is about Snowflake (`snowflake:`, materialize-snowflake's config).
    snowflake: bool
    # True for the value of a Kubernetes env entry (`env: [{name, value | valueFrom}]`); `key` is its name.
    env: bool = False
    # The sibling values of the mapping that holds this leaf (for keys that only make sense in pairs).
    siblings: Mapping[str, Any] | None = None


def _is_env_list(key: str | None, value: Any) -> bool:
    """`env`, and env-like lists under any key (`extraEnv`, `extraEnvVars`, `sidecarEnv`): a list of
    `{name, value | valueFrom}` and nothing else."""
    if key == "env":
        return isinstance(value, list) and all(
            isinstance(item, dict) and isinstance(item.get("name"), str) for item in value
        )
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and ("value" in item or "valueFrom" in item)
            and set(item) <= {"name", "value", "valueFrom"}
            for item in value
        )
    )


def _mentions_snowflake(key: str | None, value: Any) -> bool:
    if key is not None and "snowflake" in key.lower():
        return True
    image = value.get("image") if isinstance(value, dict) else None
    return isinstance(image, str) and "snowflake" in image.lower()


# Which strings a walk opens as YAML/JSON documents: all (True), none (False), or those a predicate of
# (text, whether the surroundings are about Snowflake) accepts, so a rule can skip documents it cannot use.
Documents = bool | Callable[[str, bool], bool]


def _opens(documents: Documents, text: str, snowflake: bool) -> bool:
    return documents(text, snowflake) if callable(documents) else documents


def leaves(
    value: Any,
    path: Path = (),
    *,
    key: str | None = None,
    snowflake: bool = False,
    documents: Documents = False,
) -> Iterator[Leaf]:
    """Every scalar of `value`, env lists unfolded into name -> value, and (with `documents`) the contents of
    YAML/JSON documents carried in strings."""
    snowflake = snowflake or _mentions_snowflake(key, value)
    if isinstance(value, dict):
        for child_key, child in value.items():
            child_path = (*path, child_key)
            if _is_env_list(child_key, child):
                for index, entry in enumerate(child):
                    entry_path = (*child_path, index)
                    entry_value = (
                        ValueFrom(entry["valueFrom"]) if "valueFrom" in entry else entry.get("value")
                    )
                    yield Leaf(
                        path=(*entry_path, "valueFrom" if "valueFrom" in entry else "value"),
                        key=entry["name"],
                        value=entry_value,
                        snowflake=snowflake,
                        env=True,
                    )
                    if isinstance(entry_value, str) and _opens(documents, entry_value, snowflake):
                        yield from _document_leaves(entry_value, entry_path, snowflake, documents)
                continue
            if isinstance(child, (dict, list)):
                yield from leaves(child, child_path, key=child_key, snowflake=snowflake, documents=documents)
            else:
                yield Leaf(path=child_path, key=child_key, value=child, snowflake=snowflake, siblings=value)
                child_snowflake = snowflake or _mentions_snowflake(child_key, {})
                if isinstance(child, str) and _opens(documents, child, child_snowflake):
                    yield from _document_leaves(child, child_path, child_snowflake, documents)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            item_path = (*path, index)
            if isinstance(item, (dict, list)):
                yield from leaves(item, item_path, key=key, snowflake=snowflake, documents=documents)
            else:
                yield Leaf(path=item_path, key=key, value=item, snowflake=snowflake)
                if isinstance(item, str) and _opens(documents, item, snowflake):
                    yield from _document_leaves(item, item_path, snowflake, documents)
    else:
        yield Leaf(path=path, key=key, value=value, snowflake=snowflake)
        if isinstance(value, str) and _opens(documents, value, snowflake):
            yield from _document_leaves(value, path, snowflake, documents)


def _document_leaves(text: str, path: Path, snowflake: bool, documents: Documents) -> Iterator[Leaf]:
    document = parse_document(text)
    if document is not None:
        yield from leaves(
            document, (*path, Document("as YAML/JSON")), snowflake=snowflake, documents=documents
        )
