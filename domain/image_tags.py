"""What a pinned image tag is: the one rule the stack config, the Estuary catalog and images-pinned share.

Plain Python with no pydantic: the policy pack's virtualenv holds only policies/requirements.txt.

A tag pins one build when it is a valid tag (the OCI distribution spec's grammar,
`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`) and not one of the tags that move to each new build. Kinds of image
differ in what else a tag must look like, and the table `_RULES` states it:
- a container image may use any such tag, e.g. 1.4.2;
- an MCP server's tag is the sophia-mcp chart's `image.tag`, which the chart also writes into the
  `app.kubernetes.io/version` label: a label value is at most 63 characters and begins and ends with a
  letter or digit (k8s.io/apimachinery pkg/util/validation `IsValidLabelValue`), so the chart's
  values.schema.json refuses `1.0.8-` or a 64-character tag, and Helm refuses the release, but only at
  `pulumi up`.
  `MCP_CHART_TAG_PATTERN` is that schema pattern, and tests/charts/test_shared_rules.py keeps the two equal;
- an Estuary connector must use a version tag `vN` (v1, v4.2) or a commit hash: Estuary publishes each
  connector as `:vN` beside its moving `:dev`, a moving tag changes a running task under it, and flowctl
  encrypts endpoint secrets on publish only for pinned images.
An `@sha256:` digest pins any image whatever its tag. The sophia-mcp chart takes it as `image.digest`
(`sha256:<64 hex digits>`, the OCI image spec's registered sha256 digest form) and renders
`repository@digest`; a digest written into `image.repository` would render `repository@digest:tag`, which is
no image reference at all, so the chart's schema and images-pinned refuse it there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

# Tags that name whatever was built last. Compared case-insensitively.
MOVING_TAGS = frozenset({"latest", "dev", "main", "master", "edge", "nightly"})

# Whole-string patterns (re.fullmatch): `$` would also accept a trailing line break, which neither a registry
# nor Helm's schema validation (Go regexp) does.
_TAG_GRAMMAR = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# properties.image.properties.tag.pattern of charts/sophia-mcp/values.schema.json.
MCP_CHART_TAG_PATTERN = "^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$"
_DIGEST_MARK = "@sha256:"
# OCI image spec, descriptor.md "Digests": algorithm sha256, encoded as 64 lowercase hex digits.
DIGEST = r"sha256:[a-f0-9]{64}"
_DIGEST = re.compile(f"^{DIGEST}$")


class ImageKind(Enum):
    CONTAINER = "container image"
    MCP_CHART = "sophia-mcp chart image"
    ESTUARY_CONNECTOR = "Estuary connector"


@dataclass(frozen=True)
class _PinRule:
    form: re.Pattern[str] | None  # the form a tag must take beyond the grammar (whole tag); None: any tag
    unlike_form: str  # why a tag is refused when it does not take that form, after "which"
    example: str
    why: str


_RULES: dict[ImageKind, _PinRule] = {
    ImageKind.CONTAINER: _PinRule(
        form=None,
        unlike_form="",
        example="1.4.2",
        why="a moving tag makes a rollout unrepeatable",
    ),
    ImageKind.MCP_CHART: _PinRule(
        form=re.compile(MCP_CHART_TAG_PATTERN.removeprefix("^").removesuffix("$")),
        unlike_form=(
            "the sophia-mcp chart refuses: the tag is also its app.kubernetes.io/version label, so at most "
            "63 letters, digits, '_', '.', '-', beginning and ending with a letter or digit"
        ),
        example="1.4.2",
        why="Helm checks the chart's schema only at `pulumi up`, after a preview has passed",
    ),
    ImageKind.ESTUARY_CONNECTOR: _PinRule(
        form=re.compile(r"v\d+(\.\d+)*|[0-9a-f]{7,40}"),
        unlike_form="is not a version",
        example="v1",
        why=(
            "Estuary connectors are pinned to their vN tags; a moving tag changes a running task, and "
            "flowctl encrypts endpoint secrets only for pinned images"
        ),
    ),
}


def tag_problem(
    tag: str, kind: ImageKind = ImageKind.CONTAINER, also_moving: Iterable[str] = ()
) -> str | None:
    """Why `tag` does not pin one build of an image of `kind` (a phrase after "the image"), or None.

    `also_moving` names tags a caller refuses besides MOVING_TAGS (the policy's `forbiddenTags`); it can only
    refuse more, never less.
    """
    return _problem(tag, kind, also_moving, "")


def _problem(tag: str, kind: ImageKind, also_moving: Iterable[str], alternative: str) -> str | None:
    rule = _RULES[kind]
    moving = MOVING_TAGS | {extra.lower() for extra in also_moving}
    if not tag:
        what = "has no tag, which means :latest"
    elif tag.lower() in moving:
        what = f"uses the moving tag {tag!r}"
    elif not _TAG_GRAMMAR.fullmatch(tag):
        what = f"uses {tag!r}, which is not an image tag (letters, digits, '_', '.', '-', at most 128)"
    elif rule.form is not None and not rule.form.fullmatch(tag):
        what = f"uses the tag {tag!r}, which {rule.unlike_form}"
    else:
        return None
    return f"{what}; pin a version tag such as {rule.example}{alternative} ({rule.why})"


def digest_problem(digest: str) -> str | None:
    """Why `digest` is not an image digest the chart's `image.digest` takes, or None."""
    if _DIGEST.match(digest):
        return None
    return f"{digest!r} is not a sha256 digest; give sha256: and the 64 lowercase hex digits of the image"


def moving_tag_pattern() -> str:
    """MOVING_TAGS as one anchored regular expression that ignores case without a flag, as a JSON Schema
    `pattern` must (the chart's values.schema.json refuses `image.tag` with it): `dev` -> `[Dd][Ee][Vv]`."""
    spelled = (
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in tag)
        for tag in sorted(MOVING_TAGS)
    )
    return f"^({'|'.join(spelled)})$"


def split_image(image: str) -> tuple[str, str, str]:
    """`repository[:tag][@digest]` -> (repository, tag, digest); a registry port is not a tag."""
    name, _, digest = image.partition("@")
    registry_and_path, _, last = name.rpartition("/")
    repository_last, _, tag = last.partition(":")
    repository = f"{registry_and_path}/{repository_last}" if registry_and_path else repository_last
    return repository, tag, digest


def image_problem(
    image: str, kind: ImageKind = ImageKind.CONTAINER, also_moving: Iterable[str] = ()
) -> str | None:
    """Why an image reference does not pin one build, as a phrase after the reference; None when it does."""
    if _DIGEST_MARK in image:
        return None
    _, tag, _ = split_image(image)
    return _problem(tag, kind, also_moving, " or an @sha256 digest")
