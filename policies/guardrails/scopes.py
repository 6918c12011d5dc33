"""Where settings sit in a resource: its property trees, and the files and scripts its strings carry, read as
mappings ("scopes") of key -> value with the place of each value.

A scope is one dict, one env list (`env`, `extraEnvVars`, ...: `[{name, value | valueFrom}]`, under any
key), one section of a file (formats.py), or one script's commands (text.py). Pairs of settings (an
organization and an account name, a locator and a region) are judged within one scope.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .formats import parse_text
from .keys import mentions_snowflake
from .known import Document
from .text import command_settings, heredocs, json_words, keyword_arguments, without_heredocs

# The Snowflake CLI's program name: its `--host`/`--region` flags are about Snowflake.
_SNOW_CLI = re.compile(r"(?:^|[\s/;|&(])snow\s")
_KEY_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$|^\[[^\]]+\]$")


@dataclass(frozen=True)
class Note:
    """A place inside a script, written as is (`line 3 snowsql -a`)."""

    text: str


# Where a value sits: resource fields, then places inside the documents and scripts they carry.
Where = tuple[str | int | Document | Note, ...]


@dataclass(frozen=True)
class ValueRef:
    """An env entry that takes its value from elsewhere (`valueFrom`): a reference, not a literal."""


@dataclass(frozen=True)
class Entry:
    key: str | None
    value: Any
    path: Where


class Context:
    """Whether a mapping is about Snowflake (a key or a value says so, or an enclosing mapping is); decided
    only when a key whose meaning depends on it is met, since most mappings have none."""

    __slots__ = ("_decided", "key", "parent", "tree")

    def __init__(self, parent: Context | bool, key: Any = None, tree: Any = None) -> None:
        self._decided: bool | None = parent if isinstance(parent, bool) else None
        self.parent = parent if isinstance(parent, Context) else None
        self.key, self.tree = key, tree

    @property
    def about_snowflake(self) -> bool:
        if self._decided is None:
            self._decided = bool(self.parent and self.parent.about_snowflake) or _about_snowflake(
                self.key, self.tree
            )
        return self._decided


@dataclass
class Scope:
    """The settings of one mapping (a dict, an env list, a file section, a command): what pairs are judged in.

    `keyed` says whether key names decide what a value is (places of the table, env lists, documents);
    elsewhere only hosts and URLs in values are read."""

    keyed: bool
    snowflake: Context
    entries: list[Entry] = field(default_factory=list)


def _is_env_list(value: Any) -> bool:
    """`env`, `extraEnvVars`, ...: a list of `{name, value | valueFrom}`, whatever the key is called."""
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


def _may_name_an_account(text: str) -> bool:
    """Whether a string could hold a reference; parsing the rest (each GPU node's cloud-init) is wasted work.

    Account keys need "account" in their name, organization and host keys a Snowflake context, and a host
    value a `*computing.com` domain, so a document with none of these words holds no reference.
    """
    lowered = text.lower()
    return "account" in lowered or "snowflake" in lowered or "computing" in lowered or "snowsql" in lowered


def _about_snowflake(key: Any, value: Any) -> bool:
    if isinstance(key, str) and (mentions_snowflake(key) or key.startswith("[connections")):
        return True
    if isinstance(value, dict):
        return any(isinstance(item, str) and mentions_snowflake(item) for item in value.values())
    return False


def tree_scopes(
    tree: Any, path: Where, *, keyed: bool, snowflake: Context, key: str | None = None
) -> Iterator[Scope]:
    """Every mapping of a property tree, with the documents its strings carry opened."""
    if isinstance(tree, dict):
        scope = Scope(keyed, Context(snowflake, key, tree))
        argv = _argv(tree)
        if argv:
            yield from command_scopes(" ".join(_quoted(word) for word in argv), (*path, "command"))
            for index, word in enumerate(argv[1:], start=1):
                if argv[index - 1] in _SHELL_SCRIPT_FLAGS:
                    # `sh -c SCRIPT`: the script's commands (snowsql -a ...) are commands of their own.
                    yield from command_scopes(word, (*path, "command", Document("shell script")))
        for child_key, child in tree.items():
            child_path = (*path, child_key)
            if "computing" in child_key.lower():
                scope.entries.append(Entry(None, child_key, child_path))
            if _is_env_list(child):
                yield from _env_scopes(child, child_path, scope.snowflake)
            elif argv and child_key in _ARGV_KEYS:
                continue
            elif isinstance(child, (dict, list)):
                yield from tree_scopes(
                    child, child_path, keyed=keyed, snowflake=scope.snowflake, key=child_key
                )
            else:
                scope.entries.append(Entry(child_key, child, child_path))
        yield scope
        yield from _documents(scope)
    elif _is_env_list(tree):
        # An env list that is a document of its own (Bitnami's `extraEnvVars` may be a YAML string).
        yield from _env_scopes(tree, path, snowflake)
    elif isinstance(tree, list):
        scope = Scope(keyed, snowflake)
        for index, item in enumerate(tree):
            if isinstance(item, (dict, list)):
                yield from tree_scopes(item, (*path, index), keyed=keyed, snowflake=snowflake, key=key)
            else:
                scope.entries.append(Entry(key, item, (*path, index)))
        yield scope
        yield from _documents(scope)
    elif tree is not None:
        scope = Scope(keyed, snowflake, [Entry(key, tree, path)])
        yield scope
        yield from _documents(scope)


_SHELL_SCRIPT_FLAGS = frozenset({"-c", "-lc", "-ec"})
# A container's command line: its `command` (the entrypoint) followed by its `args`.
_ARGV_KEYS = ("command", "args")


def _argv(tree: dict[str, Any]) -> list[str]:
    words: list[str] = []
    for key in _ARGV_KEYS:
        listed = tree.get(key)
        if listed is None:
            continue
        if not isinstance(listed, list) or not all(isinstance(word, str) for word in listed):
            return []
        words += listed
    return words


def _quoted(word: str) -> str:
    return word if word and not any(ch.isspace() or ch in "'\"" for ch in word) else json.dumps(word)


def _env_scopes(entries: list[dict[str, Any]], path: Where, snowflake: Context) -> Iterator[Scope]:
    scope = Scope(True, snowflake)
    for index, entry in enumerate(entries):
        if "valueFrom" in entry:
            scope.entries.append(Entry(entry["name"], ValueRef(), (*path, index, "valueFrom")))
        else:
            scope.entries.append(Entry(entry["name"], entry.get("value"), (*path, index, "value")))
    yield scope
    yield from _documents(scope)


def _documents(scope: Scope) -> Iterator[Scope]:
    """The configuration files a mapping's strings carry, read as mappings whose keys say what they hold."""
    for entry in scope.entries:
        value = entry.value
        if not isinstance(value, str) or ("\n" not in value and value[:1] not in "{[" and "=" not in value):
            continue
        if ("://" in value and "\n" not in value) or not _may_name_an_account(value):
            continue
        tree = parse_text(value)
        if tree is not None:
            context = Context(scope.snowflake, entry.key)
            yield from tree_scopes(tree, (*entry.path, Document("")), keyed=True, snowflake=context)
        if "(" in value and "\n" in value:
            # A code file: the keyword arguments of its calls, read once for the whole file.
            code = Scope(True, Context(mentions_snowflake(value)))
            for setting in keyword_arguments(value):
                code.entries.append(
                    Entry(setting.key, setting.value, (*entry.path, Document(""), Note(setting.where)))
                )
            if code.entries:
                yield code


def command_scopes(text: str, path: Where) -> Iterator[Scope]:
    """A script: its heredoc bodies as documents, its commands' settings as one mapping, hosts and URLs."""
    if not _may_name_an_account(text) and not _SNOW_CLI.search(text):
        return
    for index, body in enumerate(heredocs(text), start=1):
        heredoc_path = (*path, Document(f"heredoc {index}"))
        tree = parse_text(body)
        if tree is not None:
            yield from tree_scopes(tree, heredoc_path, keyed=True, snowflake=Context(False))
        else:
            yield from command_scopes(body, (*path, Document(f"heredoc {index}")))
    script = without_heredocs(text)
    snowflake = mentions_snowflake(script) or bool(_SNOW_CLI.search(script))
    scope = Scope(True, Context(snowflake))
    for setting in command_settings(script):
        scope.entries.append(Entry(setting.key, setting.value, (*path, Document(""), Note(setting.where))))
    scope.entries.append(Entry(None, script, path))
    yield scope
    for index, word in enumerate(json_words(script), start=1):
        tree = parse_text(word)
        if tree is not None:
            where = (*path, Document(f"JSON argument {index}"))
            yield from tree_scopes(tree, where, keyed=True, snowflake=Context(True))


def render(path: Where) -> str:
    """`data.connections.toml: [default].account`: the resource field, then the place inside a document."""
    text = ""
    for part in path:
        if isinstance(part, Document):
            text += f" ({part.label}): " if part.label else ": "
        elif isinstance(part, Note):
            text += part.text
        elif isinstance(part, int):
            text += f"[{part}]"
        elif _KEY_PATH.match(part):
            text += f".{part}" if text and not text.endswith(" ") else part
        else:
            text += f"[{json.dumps(part)}]"
    return text.strip().rstrip(":")
