"""A Kubernetes Secret's values in both forms a policy may be shown: `stringData` and base64 `data`.

The program registers a Secret with `stringData`, and the offline gate hands the pack exactly that. Under the
real CLI the kubernetes provider's Check normalises the inputs before any policy sees them: every
`stringData` entry becomes a base64 `data` entry and `stringData` is dropped (pulumi-kubernetes provider/v4
pkg/clients/unstructured.go `normalizeSecret` / `normalizeSecretStringData`, called from
pkg/provider/provider.go `normalizeInputs` when no input is computed). A rule that read only `stringData`
would find nothing in the real preview, and one that read only `data` nothing offline, so every rule that
looks inside a Secret reads it through `readable`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .known import UNKNOWN

_SINGLE_KINDS = frozenset({"Secret", "SecretPatch"})
_LIST_KIND = "SecretList"


def decoded(data: Any) -> Any:
    """A `data` (or ConfigMap `binaryData`) map with its base64 values decoded to text.

    Whitespace and line breaks are ignored, as the API server and the provider do; a value that is not
    base64, or not UTF-8 text once decoded, is left out rather than guessed at. Anything but a map (an
    unknown, nothing) is returned as it is.
    """
    if not isinstance(data, dict):
        return data
    text: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            text[key] = value
            continue
        try:
            text[key] = base64.b64decode("".join(value.split()), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue
    return text


def _readable_secret(body: Any) -> Any:
    if not isinstance(body, dict) or body.get("data") in (None, UNKNOWN):
        return body
    return {**body, "data": decoded(body["data"])}


def readable(resource_type: str, props: Any) -> Any:
    """`props` with every Secret's `data` decoded (Secret, SecretPatch, each item of a SecretList); the
    properties of any other resource unchanged. `stringData`, when the program's form reaches the pack,
    stays where it is, so a value is found whichever form it arrives in."""
    if not resource_type.startswith("kubernetes:core/"):
        return props
    kind = resource_type.rsplit(":", 1)[-1]
    if kind in _SINGLE_KINDS:
        return _readable_secret(props)
    if kind == _LIST_KIND and isinstance(props, dict) and isinstance(props.get("items"), list):
        return {**props, "items": [_readable_secret(item) for item in props["items"]]}
    return props
