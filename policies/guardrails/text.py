"""What a shell command string says, read without running it: variable assignments, `--flag value` pairs,
`key: value` lines and heredoc bodies (where a command carries a whole file, such as an Estuary catalog)."""

from __future__ import annotations

import re
import shlex
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


# A keyword argument with a quoted literal in code (`connect(account="...", host='...')`).
_KEYWORD_ARGUMENT = re.compile(r"[(,]\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(['\"])([^'\"\n]*)\2")


def keyword_arguments(text: str) -> Iterator[Setting]:
    """Keyword arguments of calls in code (Python's `snowflake.connector.connect(account=...)` and the like),
    with the line each is on."""
    for match in _KEYWORD_ARGUMENT.finditer(text):
        yield Setting(match[1], match[3], f"line {_line_of(text, match.start(1))}")


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


# Account flags of the Snowflake command-line clients, as canonical setting names. SnowSQL
# (docs.snowflake.com "Connecting through SnowSQL"): `-a, --accountname` (the account identifier),
# `-h, --host`, `--region` (deprecated). Snowflake CLI (`snow`, "snow connection add" and the connection
# options of every command): `-a, --account, --accountname`, `-h, --host`, `-R, --region`.
_CLIENT_FLAGS: dict[str, dict[str, str]] = {
    "snowsql": {
        "-a": "account",
        "--accountname": "account",
        "-h": "host",
        "--host": "host",
        "--region": "region",
    },
    "snow": {
        "-a": "account",
        "--account": "account",
        "--accountname": "account",
        "-h": "host",
        "--host": "host",
        "-R": "region",
        "--region": "region",
    },
}
# Helm's value flags (helm.sh "helm install": `--set`, `--set-string` take comma-separated key=value pairs,
# `--set-literal` one literal pair); the key is the values path (`snowflake.account`).
_HELM_SET_FLAGS = frozenset({"--set", "--set-string"})
_HELM_LITERAL_FLAGS = frozenset({"--set-literal"})
_SEPARATORS = frozenset({"|", "||", "&&", ";", "&"})
_WORD_ASSIGNMENT = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$", re.DOTALL)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines of a script with backslash continuations joined, numbered from their first line."""
    number, pending, start = 0, "", 1
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError:
        return line.split()


def _command_settings(words: list[str], where: str) -> Iterator[Setting]:
    """Settings of one simple command: its leading assignments and its flags, read by the table of the
    client it runs."""
    index = 0
    while index < len(words) and (words[index] == "export" or _WORD_ASSIGNMENT.match(words[index])):
        match = _WORD_ASSIGNMENT.match(words[index])
        if match:
            yield Setting(match["key"], match["value"], where)
        index += 1
    if index >= len(words):
        return
    # A container's `args` list starts with flags: the program is the image's entrypoint.
    program = "" if words[index].startswith("-") else words[index].rsplit("/", 1)[-1]
    client_flags = _CLIENT_FLAGS.get(program, {})
    arguments = words[index + 1 :] if program else words[index:]
    for position, word in enumerate(arguments):
        flag, has_value, inline = word.partition("=")
        following = arguments[position + 1] if position + 1 < len(arguments) else None
        value = inline if has_value else following
        assignment = _WORD_ASSIGNMENT.match(value) if value is not None else None
        if assignment and (has_value or flag.startswith("-")):
            # `-e NAME=value`, `--env=NAME=value`: an environment variable handed to the command.
            yield Setting(assignment["key"], assignment["value"], f"{where} {flag} {assignment['key']}")
        if value is None or (not has_value and value.startswith("-")):
            continue
        if program == "helm" and flag in _HELM_SET_FLAGS | _HELM_LITERAL_FLAGS:
            pairs = [value] if flag in _HELM_LITERAL_FLAGS else value.split(",")
            for pair in pairs:
                key, _, item = pair.partition("=")
                yield Setting(key, item, f"{where} {flag} {key}")
        elif flag in client_flags:
            yield Setting(client_flags[flag], value, f"{where} {program} {flag}")
        elif flag.startswith("--") and len(flag) > 2:
            yield Setting(flag[2:], value, f"{where} {flag}")


def command_settings(text: str) -> Iterator[Setting]:
    """What a script's commands set: `NAME=value` assignments, `--flag value` options, the account flags of
    `snowsql` and `snow`, and `helm --set` values, each with the line it is on."""
    for number, line in _logical_lines(text):
        words = _words(line)
        command: list[str] = []
        for word in [*words, ";"]:
            if word in _SEPARATORS:
                if command:
                    yield from _command_settings(command, f"line {number}")
                command = []
            else:
                command.append(word)


def json_words(text: str) -> Iterator[str]:
    """Shell words that are one-line JSON objects (a config or catalog passed as an argument)."""
    for _, line in _logical_lines(text):
        for word in _words(line):
            candidate = word.partition("=")[2] if word.startswith("--") else word
            if candidate.startswith("{") and candidate.endswith("}"):
                yield candidate
