"""JSON pointers (RFC 6901) into catalog documents: how secret slots and collection keys address a field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

JSON_POINTER = re.compile(r"^(/([^/~\s]|~[01])+)+$")


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def tokens(pointer: str) -> list[str]:
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]


def resolve_parent(document: Mapping[str, Any], pointer: str) -> tuple[dict[str, Any] | None, str]:
    """The object holding the pointer's last token (None when the path leads to none), and that token."""
    *parents, leaf = tokens(pointer)
    node: Any = document
    for token in parents:
        node = node.get(token) if isinstance(node, dict) else None
    return (node if isinstance(node, dict) else None), leaf
