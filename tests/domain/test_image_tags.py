"""domain.image_tags: one pinned-tag rule, shared by the config, the Estuary catalog and the pack."""

from __future__ import annotations

import subprocess
import sys

import pytest

from domain.image_tags import MOVING_TAGS, ImageKind, image_problem, split_image, tag_problem
from harness.paths import PROJECT_DIR


@pytest.mark.parametrize("tag", [*sorted(MOVING_TAGS), "Latest", "DEV", ""])
@pytest.mark.parametrize("kind", list(ImageKind))
def test_moving_or_missing_tags_pin_nothing(tag: str, kind: ImageKind) -> None:
    assert tag_problem(tag, kind) is not None


@pytest.mark.parametrize(
    ("tag", "container_pinned", "connector_pinned"),
    [
        ("1.4.2", True, False),
        ("v1", True, True),
        ("v4.2", True, True),
        ("3f9c2ab", True, True),
        ("2024-05-01", True, False),
        ("v1-rc", True, False),
        ("1.0 beta", False, False),
        (".hidden", False, False),
        ("x" * 129, False, False),
    ],
)
def test_what_a_pin_looks_like_differs_only_for_estuary_connectors(
    tag: str, container_pinned: bool, connector_pinned: bool
) -> None:
    assert (tag_problem(tag, ImageKind.CONTAINER) is None) is container_pinned
    assert (tag_problem(tag, ImageKind.ESTUARY_CONNECTOR) is None) is connector_pinned


def test_extra_forbidden_tags_refuse_more_and_never_less() -> None:
    assert tag_problem("stable", also_moving=["STABLE"]) is not None
    assert tag_problem("main", also_moving=[]) is not None


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("ghcr.io/estuary/source-gong:v1", ("ghcr.io/estuary/source-gong", "v1", "")),
        ("localhost:5000/mcp-linear", ("localhost:5000/mcp-linear", "", "")),
        ("localhost:5000/mcp-linear:1.2", ("localhost:5000/mcp-linear", "1.2", "")),
        ("mcp@sha256:" + "a" * 64, ("mcp", "", "sha256:" + "a" * 64)),
    ],
)
def test_a_registry_port_is_not_a_tag(image: str, parts: tuple[str, str, str]) -> None:
    assert split_image(image) == parts


def test_a_digest_pins_any_image_and_the_advice_offers_one() -> None:
    assert (
        image_problem("ghcr.io/estuary/source-gong:dev@sha256:" + "b" * 64, ImageKind.ESTUARY_CONNECTOR)
        is None
    )
    problem = image_problem("localhost:5000/mcp-linear")
    assert problem is not None
    assert "has no tag" in problem and "@sha256 digest" in problem


def test_the_rule_needs_no_pydantic_because_the_pack_has_none() -> None:
    probe = "import sys, domain.image_tags; print(sorted(m for m in sys.modules if m.startswith('pydantic')))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
