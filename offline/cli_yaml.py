"""YAML read as the Pulumi CLI reads Pulumi.yaml, Pulumi.<stack>.yaml and ESC definitions: gopkg.in/yaml.v3.

The CLI loads a stack file with `yaml.Unmarshal` into `any` (pulumi sdk/v3 v3.274.1
go/common/encoding/marshal.go `yamlMarshaler.Unmarshal`, called by go/common/workspace/loaders.go
`LoadProjectStackBytes`). yaml.v3 is neither PyYAML's YAML 1.1 nor the YAML 1.2 core schema, so neither
`yaml.safe_load` nor a 1.2 loader such as ruamel.yaml's reads a stack file the way it does. What differs
(gopkg.in/yaml.v3 v3.0.1 resolve.go `resolve`, decode.go `mapping`):

| plain scalar | PyYAML safe_load | yaml.v3, so the CLI |
|---|---|---|
| `yes`, `no`, `on`, `off`, `y`, `n` | a boolean | a string: a boolean key refuses it |
| `2026-05-01` | a `datetime.date` | a `time.Time`: the program gets `2026-05-01 00:00:00 +0000 UTC` (1) |
| `0o17`, `1e3` | strings | 15, 1000.0 |
| `1:30` | 90 (base 60) | a string |
| `0755` | 493 | 493 (Go's base-0 ParseInt) |
| a key set twice | the last wins | `mapping key "..." already defined at line N`, nothing runs |

(1) sdk/v3 go/common/resource/config/object.go `unmarshalObject`, `case time.Time: v.String()`.

So this loader is PyYAML's safe loader with the plain-scalar resolution replaced by yaml.v3's, written out
below, and a mapping that refuses a key it has seen. An unquoted timestamp is refused rather than rewritten:
the CLI turns it into Go's time text, which no key of this stack means, and the fix (quote it) is the same
for every key. A YAML 1.2 loader (ruamel.yaml with version 1.2) was not taken: yaml.v3 is not YAML 1.2
either, it keeps 1.1's `0755` octals and timestamps (resolve.go says so beside them), so every rule above
would still be restated on top of it, and it would be a second YAML library to pin.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

STR, BOOL, NULL, INT, FLOAT, TIMESTAMP, MERGE = (
    f"tag:yaml.org,2002:{name}" for name in ("str", "bool", "null", "int", "float", "timestamp", "merge")
)

# resolve.go `resolveMapList`: the whole words yaml.v3 reads as something other than a string.
_WORDS: dict[str, tuple[str, Any]] = {
    **{word: (BOOL, True) for word in ("true", "True", "TRUE")},
    **{word: (BOOL, False) for word in ("false", "False", "FALSE")},
    **{word: (NULL, None) for word in ("", "~", "null", "Null", "NULL")},
    **{word: (FLOAT, float("nan")) for word in (".nan", ".NaN", ".NAN")},
    **{word: (FLOAT, float("inf")) for word in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{word: (FLOAT, float("-inf")) for word in ("-.inf", "-.Inf", "-.INF")},
    "<<": (MERGE, "<<"),
}
# resolve.go `yamlStyleFloat`.
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
# Go's strconv.ParseInt(s, 0, 64) syntax: a sign, then 0x/0o/0b, a leading-zero octal, or decimal digits.
_GO_BASE0_INT = re.compile(r"^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
# resolve.go `allowedTimestampFormats` as Go's time.Parse reads them: 2006-1-2, then optionally
# T15:4:5(.frac)Z07:00 (or lower-case t) or " 15:4:5(.frac)" without a zone.
_GO_TIMESTAMP = re.compile(
    r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?:[Tt](?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})(?P<f>[.,][0-9]+)?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2}))"
    r"|(?: (?P<h2>[0-9]{1,2}):(?P<mi2>[0-9]{1,2}):(?P<s2>[0-9]{1,2})(?P<f2>[.,][0-9]+)?))?$"
)
_INT64 = range(-(2**63), 2**63)
_UINT64 = range(2**64)


def _go_time(text: str) -> datetime.datetime | None:
    """resolve.go `parseTimestamp`: the formats above, with time.Parse's range checks (no zone means UTC)."""
    match = _GO_TIMESTAMP.match(text)
    if match is None:
        return None
    hour, minute, second = (int(match[name] or match[f"{name}2"] or 0) for name in ("h", "mi", "s"))
    try:
        return datetime.datetime(int(match["y"]), int(match["mo"]), int(match["d"]), hour, minute, second)
    except ValueError:
        return None


def go_time_text(text: str) -> str | None:
    """What the CLI hands the program for an unquoted timestamp (Go's `time.Time.String()`), where that does
    not depend on the machine's time zone: no zone or `Z`, which Go reads as UTC."""
    match = _GO_TIMESTAMP.match(text)
    when = _go_time(text)
    if match is None or when is None or match["zone"] not in (None, "Z"):
        return None
    fraction = (match["f"] or match["f2"] or "")[1:10].rstrip("0")
    return when.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + " +0000 UTC"


def _go_int(plain: str) -> int | None:
    """strconv.ParseInt(plain, 0, 64), then ParseUint(plain, 0, 64), as resolve.go tries them."""
    match = _GO_BASE0_INT.match(plain)
    if match is None:
        return None
    sign, digits = match.groups()
    if digits[:2].lower() in ("0x", "0o", "0b"):
        value = int(digits, 0)
    elif len(digits) > 1 and digits[0] == "0":
        value = int(digits, 8)
    else:
        value = int(digits)
    value = -value if sign == "-" else value
    if value in _INT64 or (not sign and value in _UINT64):
        return value
    return None


def resolve_plain(text: str) -> tuple[str, Any]:
    """The tag and value yaml.v3 gives an unquoted, untagged scalar (resolve.go `resolve`)."""
    if text in _WORDS:
        return _WORDS[text]
    first = text[:1]
    if first == ".":
        return (FLOAT, float(text)) if _YAML_STYLE_FLOAT.match(text) else (STR, text)
    if not (first.isascii() and (first.isdigit() or first in "+-")):
        return STR, text
    if _go_time(text) is not None:
        return TIMESTAMP, text
    plain = text.replace("_", "")
    as_int = _go_int(plain)
    if as_int is not None:
        return INT, as_int
    if _YAML_STYLE_FLOAT.match(plain):
        return FLOAT, float(plain)
    return STR, text


class CliYamlError(Exception):
    """The file is not one the Pulumi CLI would load; the message names the line and the key."""


@dataclass(frozen=True)
class UnquotedTimestamp:
    """A value yaml.v3 reads as a time; kept in the tree so the error can name its key."""

    text: str
    line: int


class _Loader(yaml.SafeLoader):
    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        # implicit[0]: a plain (unquoted) scalar with no tag, the only kind yaml.v3 resolves by its text.
        if kind is ScalarNode and implicit[0]:
            return resolve_plain(value)[0]
        return super().resolve(kind, value, implicit)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        # decode.go `mapping`: two keys of the same kind and text, whatever they resolve to, are refused;
        # keys a `<<` merge brings in are not compared.
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value != "<<":
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    raise CliYamlError(
                        f"line {line}: the key {key_node.value!r} is already defined at line "
                        f"{seen[key_node.value]}; the Pulumi CLI refuses a file that sets a key twice "
                        "(yaml.v3: mapping key already defined), so keep one of the two"
                    )
                seen[key_node.value] = line
        return super().construct_mapping(node, deep=deep)

    def _construct_plain(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            raise ConstructorError(None, None, "expected a number, found a collection", node.start_mark)
        tag, value = resolve_plain(node.value)
        if tag != node.tag:
            raise ConstructorError(
                None, None, f"{node.value!r} is not a valid {node.tag.rsplit(':', 1)[-1]}", node.start_mark
            )
        return value

    def _construct_timestamp(self, node: Node) -> UnquotedTimestamp:
        return UnquotedTimestamp(str(node.value), node.start_mark.line + 1)


for _tag in (INT, FLOAT):
    _Loader.add_constructor(_tag, _Loader._construct_plain)
_Loader.add_constructor(TIMESTAMP, _Loader._construct_timestamp)


def _timestamps(value: Any, path: str) -> Iterator[tuple[str, UnquotedTimestamp]]:
    if isinstance(value, UnquotedTimestamp):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _timestamps(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _timestamps(child, f"{path}[{index}]")


def load(text: str) -> Any:
    """The document as the CLI reads it; CliYamlError for what the CLI refuses or would silently rewrite."""
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise CliYamlError(f"{where}not valid YAML: {error.problem or error}") from None
    for path, stamp in _timestamps(document, ""):
        shown = go_time_text(stamp.text)
        instead = repr(shown) if shown else "the time in Go's own text form"
        raise CliYamlError(
            f"line {stamp.line}: {path} is the unquoted {stamp.text}, which YAML reads as a timestamp: the "
            f"Pulumi CLI would hand the program {instead} instead; quote it ('{stamp.text}')"
        )
    return document
