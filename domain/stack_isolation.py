"""What a stack owns, and how to find another stack's names in a resource: the rule that keeps stacks apart.

Staging runs on production's Snowflake account and Lambda account, beside production's Estuary tenant, so
nothing but names keeps a staging change away from production's data. A stack owns:
* account-wide Snowflake objects: its database, warehouse, resource monitor, roles, service users and their
  network policies (unquoted identifiers, compared case-insensitively as whole identifiers);
* Estuary name prefixes: the directories its captures, collections and materialization live in;
* its application namespaces in the cluster;
* the name prefix of its Lambda instances, `<prefix><index>` (a launch finds an instance again by its name).

The pack's `stack-isolation` policy gets the *other* stacks' names as config and refuses any resource that
names one; a test derives each stack's names from its config and checks that the policy configs list them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_IDENTIFIER = re.compile(r"[A-Za-z0-9_$]+")
# Keys whose values name a Kubernetes namespace (metadata.namespace, a Helm release's namespace, a
# monitor's namespaceSelector.matchNames).
_NAMESPACE_KEYS = frozenset({"namespace", "matchNames"})
# The label every Namespace carries with its own name (kubernetes.io "Well-Known Labels"): a label selector
# on it (`namespaceSelector`, a NetworkPolicy's peers) selects that namespace by name.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class OwnedNames:
    """The names one stack owns, each with what it is (for messages)."""

    stack: str
    snowflake_objects: Mapping[str, str] = field(default_factory=dict)
    estuary_prefixes: Sequence[str] = ()
    namespaces: Sequence[str] = ()
    lambda_instance_prefixes: Sequence[str] = ()

    def to_policy_config(self) -> dict[str, Any]:
        return {
            "otherStack": self.stack,
            "snowflakeObjects": {name.upper(): what for name, what in sorted(self.snowflake_objects.items())},
            "estuaryPrefixes": sorted(self.estuary_prefixes),
            "namespaces": sorted(self.namespaces),
            "lambdaInstancePrefixes": sorted(self.lambda_instance_prefixes),
        }

    @classmethod
    def from_policy_config(cls, config: Mapping[str, Any]) -> OwnedNames:
        return cls(
            stack=str(config.get("otherStack") or "another stack"),
            snowflake_objects={
                str(k).upper(): str(v) for k, v in (config.get("snowflakeObjects") or {}).items()
            },
            estuary_prefixes=tuple(config.get("estuaryPrefixes") or ()),
            namespaces=tuple(config.get("namespaces") or ()),
            lambda_instance_prefixes=tuple(config.get("lambdaInstancePrefixes") or ()),
        )

    def is_empty(self) -> bool:
        return not (
            self.snowflake_objects
            or self.estuary_prefixes
            or self.namespaces
            or self.lambda_instance_prefixes
        )


def estuary_prefixes(spec_names: Sequence[str]) -> list[str]:
    """The directories a catalog's specs live in: `Pay_Ready/hubspot/companies` -> `Pay_Ready/hubspot/`."""
    return sorted({name.rsplit("/", 1)[0] + "/" for name in spec_names if "/" in name})


@dataclass(frozen=True)
class ForeignName:
    """Another stack's name found in a value."""

    path: str
    name: str
    what: str


def _strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from _strings(child, (*path, str(key)))
    elif isinstance(value, (list, tuple)):
        for index, child in enumerate(value):
            yield from _strings(child, (*path, index))
    elif isinstance(value, str):
        yield path, value


def _path_text(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(value)"


def _last_key(path: tuple[str | int, ...]) -> str | None:
    return next((part for part in reversed(path) if isinstance(part, str)), None)


def _selected_namespaces(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, str]]:
    """(path, namespace) for every namespace a label selector in `value` picks by its name label:
    `matchLabels: {kubernetes.io/metadata.name: X}` and `matchExpressions` In/NotIn on that key (NotIn
    still names the namespace: a selector that excludes production today is one edit from including it)."""
    if isinstance(value, Mapping):
        labels = value.get("matchLabels")
        if isinstance(labels, Mapping) and isinstance(labels.get(NAMESPACE_NAME_LABEL), str):
            yield _path_text((*path, "matchLabels", NAMESPACE_NAME_LABEL)), labels[NAMESPACE_NAME_LABEL]
        expressions = value.get("matchExpressions")
        for index, item in enumerate(expressions if isinstance(expressions, list) else []):
            if isinstance(item, Mapping) and item.get("key") == NAMESPACE_NAME_LABEL:
                for position, name in enumerate(item.get("values") or []):
                    if isinstance(name, str):
                        where = _path_text((*path, "matchExpressions", index, "values", position))
                        yield where, name
        for key, child in value.items():
            yield from _selected_namespaces(child, (*path, str(key)))
    elif isinstance(value, (list, tuple)):
        for index, child in enumerate(value):
            yield from _selected_namespaces(child, (*path, index))


def foreign_names(
    props: Any,
    owned: OwnedNames,
    *,
    kubernetes_namespace_name: str | None = None,
    lambda_instance_name: str | None = None,
) -> list[ForeignName]:
    """Every place in `props` that names one of `owned`'s objects.

    `kubernetes_namespace_name` is the name of a Namespace resource itself; `lambda_instance_name` the name a
    Lambda instance resource launches with.
    """
    found: list[ForeignName] = []
    snowflake = {name.upper(): what for name, what in owned.snowflake_objects.items()}
    estuary = [
        (prefix, re.compile(rf"(?<![A-Za-z0-9_./-]){re.escape(prefix)}")) for prefix in owned.estuary_prefixes
    ]
    namespaces = set(owned.namespaces)
    for path, text in _strings(props):
        for token in dict.fromkeys(_IDENTIFIER.findall(text)):
            what = snowflake.get(token.upper())
            if what:
                found.append(ForeignName(_path_text(path), token, f"Snowflake {what}"))
        for prefix, pattern in estuary:
            if pattern.search(text):
                found.append(ForeignName(_path_text(path), prefix, "Estuary prefix"))
        if text in namespaces and _last_key(path) in _NAMESPACE_KEYS:
            found.append(ForeignName(_path_text(path), text, "namespace"))
    for where, name in _selected_namespaces(props):
        if name in namespaces:
            found.append(ForeignName(where, name, "namespace (selected by its name label)"))
    if kubernetes_namespace_name in namespaces:
        found.append(ForeignName("metadata.name", str(kubernetes_namespace_name), "namespace"))
    if lambda_instance_name:
        for prefix in owned.lambda_instance_prefixes:
            # `<prefix><index>`, then at most a suffix: `sophia-lambda-gpu-` must not claim the
            # `sophia-lambda-gpu-staging-0` of a pool whose name merely starts the same way.
            if re.match(rf"{re.escape(prefix)}\d+(-|$)", lambda_instance_name):
                found.append(ForeignName("name", lambda_instance_name, "Lambda instance name"))
    return found
