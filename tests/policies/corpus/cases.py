"""The labelled corpus: hand-written cases (handwritten.yaml) and generated ones (generate.py).

A case is a few resources as the offline engine records them and the policies that must refuse them
(`expect`; empty for a clean case). Inputs may use three markers, so the YAML stays readable:
`{$base64: text}` (Secret data, ConfigMap binaryData), `{$base64lines: text}` (the same, wrapped at 20
characters as `base64 -w` writes it) and `{$secret: value}` (a value the program marked secret).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from offline.plan import ResourcePlan, Secret
from tests.policies.plans import resource

HERE = Path(__file__).resolve().parent
# The policies the corpus measures; a case says which of them must refuse it.
MEASURED = ("snowflake-account-allowed", "mcp-servers-require-gpu", "gpu-slices-admitted")


@dataclass(frozen=True)
class Case:
    id: str
    expect: frozenset[str]
    resources: tuple[ResourcePlan, ...]
    origin: str


def encode(value: Any) -> Any:
    """Inputs with the corpus markers turned into what they stand for."""
    if isinstance(value, dict):
        if set(value) == {"$base64"}:
            return base64.b64encode(value["$base64"].encode()).decode()
        if set(value) == {"$base64lines"}:
            text = base64.b64encode(value["$base64lines"].encode()).decode()
            return "\n".join(text[start : start + 20] for start in range(0, len(text), 20))
        if set(value) == {"$secret"}:
            return Secret(encode(value["$secret"]))
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [encode(item) for item in value]
    return value


def case_from(entry: dict[str, Any], origin: str) -> Case:
    expect = frozenset(entry.get("expect") or ())
    unknown = expect - set(MEASURED)
    assert not unknown, f"case {entry['id']}: unknown policies {sorted(unknown)}"
    built: list[ResourcePlan] = []
    by_name: dict[str, ResourcePlan] = {}
    for item in entry["resources"]:
        provider = by_name[item["provider"]].urn if "provider" in item else None
        plan_resource = resource(
            item["type"], item["name"], encode(item.get("inputs") or {}), provider=provider
        )
        built.append(plan_resource)
        by_name[item["name"]] = plan_resource
    return Case(entry["id"], expect, tuple(built), origin)


def handwritten() -> list[Case]:
    entries = yaml.safe_load((HERE / "handwritten.yaml").read_text())
    return [case_from(entry, "hand-written") for entry in entries]


def all_cases() -> list[Case]:
    from tests.policies.corpus.generate import generated

    cases = handwritten() + [case_from(entry, "generated") for entry in generated()]
    ids = [case.id for case in cases]
    assert len(ids) == len(set(ids)), "corpus case ids must be unique"
    return cases
