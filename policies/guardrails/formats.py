"""Configuration files carried as text, read into plain trees so one walk reads them all.

Which formats, and how each is recognised (cheapest test first):

* JSON, one line or many: starts with `{` or `[`; `json`.
* YAML, many lines or a one-line flow mapping `{a: b}`: `key: value` lines; PyYAML `safe_load_all`.
* TOML (the Snowflake CLI's `config.toml` and `connections.toml`): `[table]` lines; `tomllib`, tables
  as `[a.b]` keys beside the top-level keys.
* INI (ODBC `odbc.ini`, SnowSQL's `config`): `[section]` lines that are not TOML; `configparser`, sections
  as `[name]` keys.
* dotenv and Java properties: mostly `KEY=value` / `key = value` / `key: value` lines; a line reader.
* ODBC connection strings: one line of `Key=Value;` pairs.

Connection URLs (JDBC, SQLAlchemy) are values, not documents: domain/snowflake_account.py reads them.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from typing import Any

import yaml

# Larger strings are data blobs (certificates, archives), not configuration documents worth parsing.
_MAX_DOCUMENT_CHARS = 1_000_000
_SECTION = re.compile(r"^[ \t]*\[[^\]\n]+\][ \t]*$", re.MULTILINE)
_ASSIGNMENT_LINE = re.compile(
    r"^[ \t]*(?:export[ \t]+)?(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)[ \t]*(?P<sep>=|:)[ \t]*(?P<value>.*?)[ \t]*$"
)
_ODBC_PAIR = re.compile(r"^[ \t]*(?P<key>[A-Za-z_][A-Za-z0-9_ ]*?)[ \t]*=(?P<value>.*)$")
_YAML_LINE = re.compile(r"^[ \t]*(?:-[ \t]+)?[A-Za-z_\"'][^:=\n]*:(?:[ \t]|$)")


_QUOTED_THEN_PUNCTUATION = re.compile(r"^(['\"])(?P<inner>[^'\"]*)\1[ \t]*[,;)]*$")


def _unquote(value: str) -> str:
    """A value without its quotes, and without the `,` or `)` that follows it in code (`account="X",`)."""
    value = value.strip()
    quoted = _QUOTED_THEN_PUNCTUATION.match(value)
    if quoted:
        return quoted["inner"]
    return value


def _json(text: str) -> Any:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


# libyaml's safe loader when PyYAML was built with it (the wheels are): the same documents, parsed in C.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_documents(text: str) -> Any:
    """The mapping or list a YAML text holds (several documents as a list); None for anything else."""
    try:
        documents = [doc for doc in yaml.load_all(text, Loader=_SAFE_LOADER) if doc is not None]
    except yaml.YAMLError:
        return None
    if len(documents) == 1 and isinstance(documents[0], (dict, list)):
        return documents[0]
    if documents and all(isinstance(doc, (dict, list)) for doc in documents):
        return documents
    return None


def _toml(text: str) -> Any:
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    return _tables(parsed)


def _tables(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """TOML tables as `[a.b]` keys next to the top-level keys, the way the file spells them."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            scalars = {k: v for k, v in value.items() if not isinstance(v, dict)}
            if scalars:
                flat[f"[{name}]"] = scalars
            flat.update(_tables({k: v for k, v in value.items() if isinstance(v, dict)}, name))
        elif not prefix:
            flat[key] = value
    return flat


def _ini(text: str) -> Any:
    parser = configparser.ConfigParser(interpolation=None, strict=False, allow_no_value=True)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keep keys as written
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return {f"[{section}]": dict(parser.items(section, raw=True)) for section in parser.sections()}


def _lines(text: str) -> dict[str, Any] | None:
    """dotenv (`KEY=value`, `export KEY="value"`) and Java properties (`key = value`, `key: value`,
    `#`/`!` comments); later keys win, as both readers do."""
    found: dict[str, Any] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#!;":
            continue
        match = _ASSIGNMENT_LINE.match(line)
        if match:
            found[match["key"]] = _unquote(match["value"])
    return found or None


def _odbc(text: str) -> dict[str, Any] | None:
    pairs = [part for part in text.split(";") if part.strip()]
    found: dict[str, Any] = {}
    for part in pairs:
        match = _ODBC_PAIR.match(part)
        if not match:
            return None
        found[match["key"].strip()] = _unquote(match["value"].strip().strip("{}"))
    return found or None


def parse_text(text: str) -> Any:
    """The tree a configuration text holds, or None for text that is no configuration file."""
    stripped = text.strip()
    if not stripped or len(stripped) > _MAX_DOCUMENT_CHARS:
        return None
    if stripped[0] in "{[":
        parsed = _json(stripped)
        if parsed is not None:
            return parsed
        if "\n" not in stripped and stripped[0] == "{":
            flow = yaml_documents(stripped)
            if isinstance(flow, dict):
                return flow
    if "\n" not in stripped:
        if "://" in stripped:
            return None
        if ";" in stripped and "=" in stripped:
            return _odbc(stripped)
        match = _ASSIGNMENT_LINE.match(stripped)
        if match and match["sep"] == "=":
            return {match["key"]: _unquote(match["value"])}
        return None
    if _SECTION.search(stripped):
        return _toml(stripped) or _ini(stripped)
    lines = [line for line in stripped.splitlines() if line.strip() and line.strip()[0] not in "#!"]
    assignments = sum(1 for line in lines if (m := _ASSIGNMENT_LINE.match(line)) and m["sep"] == "=")
    if assignments * 2 >= len(lines):
        return _lines(stripped)
    if any(_YAML_LINE.match(line) for line in lines):
        return yaml_documents(stripped) or _lines(stripped)
    return None
