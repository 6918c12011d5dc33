"""What a shell command string says, read without running it: variable assignments, `--flag value` pairs,
`key: value` lines and heredoc bodies (where a command carries a whole file, such as an Estuary catalog)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_HEREDOC = re.compile(
    r"<<-?[ \t]*(?P<quote>['\"]?)(?P<tag>[A-Za-z_][A-Za-z0-9_]*)(?P=quote)[^\n]*\n"
    r"(?P<body>.*?)\n[ \t]*(?P=tag)[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
_QUOTED_OR_WORD = r"(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s;&|)]+)"
_ASSIGNMENT = re.compile(r"(?:^|[\s;&|(])(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=" + _QUOTED_OR_WORD)
_FLAG = re.compile(r"(?:^|\s)--([A-Za-z][A-Za-z0-9_-]*)(?:=|[ \t]+)" + _QUOTED_OR_WORD)
_KEY_VALUE_LINE = re.compile(
    r"^[ \t]*(?:-[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:[ \t]+(\S.*?)[ \t]*$", re.MULTILINE
)
# A host-like token: the characters a host (or a mangled one) is made of.
_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Setting:
    """A key and the value a command string gives it, with where it was found (`line 3`)."""

    key: str
    value: str
    where: str


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def heredocs(text: str) -> list[str]:
    """The bodies of `<<TAG ... TAG` blocks, in order."""
    return [match["body"] for match in _HEREDOC.finditer(text)]


def without_heredocs(text: str) -> str:
    """The command text with heredoc bodies cut out (they are read as documents of their own)."""
    return _HEREDOC.sub(lambda match: match.group(0).split("\n", 1)[0] + "\n" + match["tag"], text)


def settings(text: str) -> Iterator[Setting]:
    """`NAME=value` assignments, `--flag value` options and `key: value` lines of a command or file text."""
    for match in _ASSIGNMENT.finditer(text):
        yield Setting(match[1], _unquote(match[2]), f"line {_line_of(text, match.start(1))}")
    for match in _FLAG.finditer(text):
        value = _unquote(match[2])
        if not value.startswith("-"):
            yield Setting(match[1], value, f"line {_line_of(text, match.start(1))}")
    for match in _KEY_VALUE_LINE.finditer(text):
        yield Setting(match[1], _unquote(match[2]), f"line {_line_of(text, match.start(1))}")


def host_tokens(text: str) -> Iterator[str]:
    """Tokens of `text` that name a `*computing.com`-style host, the way Snowflake hosts (and the mangled
    domains of hand-built ones) are spelt."""
    for token in _TOKEN_SPLIT.split(text):
        cleaned = token.strip(".-_")
        if "computing" in cleaned.lower():
            yield cleaned


def is_shell_expansion(value: str) -> bool:
    """True for `$NAME`, `${NAME}` or `$(command)`: a value the shell fills in at run time, not a literal."""
    return value.strip().startswith("$")
