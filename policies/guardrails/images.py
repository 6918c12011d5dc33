"""images-pinned (advisory): MCP server images and Estuary connector images name one build.

What a pinned tag is, is domain.image_tags' rule, the one the stack config applies to the same tags: a moving
tag (`latest`, `dev`, `main`, ...) or no tag at all makes a rollout unrepeatable, and an Estuary connector
must be pinned to a `vN` tag (flowctl encrypts endpoint secrets on publish only for pinned images), and a
sophia-mcp release's `image.tag` must be one the chart's schema accepts (it is also a label value). The
policy's `forbiddenTags` can refuse more tags, never fewer than the config refuses.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from domain.image_tags import ImageKind, digest_problem, tag_problem
from domain.image_tags import image_problem as pinned_image_problem

from .known import UNKNOWN, Path, leaves, located, parse_document, resolve_unknowns
from .resources import (
    COMMAND_TEXT_INPUTS,
    COMMAND_TYPES,
    HELM_RELEASE,
    containers,
    describe,
    is_mcp_chart,
    is_mcp_labels,
    is_workload,
    pod_template,
)
from .text import heredocs, settings, without_heredocs

NAME = "images-pinned"
_UNKNOWN = "is not known during preview, so the image tag cannot be verified"


def image_problem(image: Any, kind: ImageKind, forbidden: frozenset[str]) -> str | None:
    """Why an image reference (`repo[:tag][@digest]`) does not pin one build; None when it does."""
    if image is UNKNOWN:
        return _UNKNOWN
    if not isinstance(image, str) or not image.strip():
        return "names no image"
    problem = pinned_image_problem(image, kind, forbidden)
    return f"{image!r} {problem}" if problem else None


def _release_problems(values: Any, forbidden: frozenset[str]) -> Iterator[tuple[Path, str]]:
    image = values.get("image") if isinstance(values, dict) else None
    if values is UNKNOWN or image is UNKNOWN:
        yield ("values", "image"), _UNKNOWN
        return
    if not isinstance(image, dict):
        yield ("values", "image"), "is missing; set image.repository and a pinned image.tag"
        return
    repository, tag, digest = image.get("repository"), image.get("tag"), image.get("digest")
    # The chart renders repository@digest from image.digest, and repository:tag otherwise: a digest written
    # into the repository would render repository@digest:tag, which no registry resolves.
    if isinstance(repository, str) and "@" in repository:
        yield (
            ("values", "image", "repository"),
            f"{repository!r} carries a digest, which the chart would render as {repository}:{tag}, no image "
            "reference; give the repository alone and the digest as image.digest",
        )
        return
    if digest is UNKNOWN:
        yield ("values", "image", "digest"), "is not known during preview, so the image cannot be verified"
        return
    if isinstance(digest, str) and digest:
        problem = digest_problem(digest)
        if problem:
            yield ("values", "image", "digest"), problem
        return
    if tag is UNKNOWN:
        yield ("values", "image", "tag"), _UNKNOWN
    elif not isinstance(tag, str) or not tag.strip():
        yield ("values", "image", "tag"), "is missing, so the image runs as :latest; pin a version tag"
    else:
        problem = tag_problem(tag, ImageKind.MCP_CHART, forbidden)
        if problem:
            yield ("values", "image", "tag"), f"the image {problem}"


def _text_images(name: str, text: str) -> Iterator[tuple[Path, Any]]:
    whole = parse_document(text)
    documents = [whole] if whole is not None else [parse_document(body) for body in heredocs(text)]
    for document in documents:
        for leaf in leaves(document, (name,), documents=True):
            if leaf.key == "image":
                yield leaf.path, leaf.value
    if whole is None:
        for setting in settings(without_heredocs(text)):
            if setting.key == "image":
                yield (name,), setting.value


def _command_problems(props: dict[str, Any], forbidden: frozenset[str]) -> Iterator[tuple[Path, str]]:
    texts: list[tuple[str, Any]] = [(name, props.get(name)) for name in COMMAND_TEXT_INPUTS]
    environment = props.get("environment")
    if isinstance(environment, dict):
        texts += [(f"environment.{key}", value) for key, value in environment.items()]
    for name, text in texts:
        if isinstance(text, str):
            for path, image in _text_images(name, text):
                problem = image_problem(image, ImageKind.ESTUARY_CONNECTOR, forbidden)
                if problem:
                    yield path, f"connector image {problem}"


def _forbidden(config: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(str(tag).lower() for tag in config.get("forbiddenTags") or ())


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    forbidden = _forbidden(args.get_config())
    props = resolve_unknowns(args.props)
    problems: list[tuple[Path, str]] = []
    if is_workload(args.resource_type):
        template = pod_template(args.resource_type, props)
        if not is_mcp_labels(template.labels):
            return
        for index, container in containers(template.spec):
            image = container.get("image") if isinstance(container, dict) else UNKNOWN
            problem = image_problem(image, ImageKind.CONTAINER, forbidden)
            if problem:
                problems.append(((*template.spec_path, "containers", index, "image"), problem))
    elif args.resource_type == HELM_RELEASE and is_mcp_chart(props.get("chart")):
        problems += _release_problems(props.get("values"), forbidden)
    elif args.resource_type in COMMAND_TYPES:
        problems += _command_problems(props, forbidden)
    resource = describe(args.resource_type, args.name)
    for path, message in problems:
        report_violation(located(resource, path, message), None)


images_pinned = ResourceValidationPolicy(
    name=NAME,
    description=(
        "MCP server images (sophia-mcp release image.tag, MCP workload containers) and Estuary connector "
        "images in the flow catalog a command publishes are pinned to a version tag or digest, never "
        "a moving tag (latest, dev, main, ...) or untagged; Estuary connectors to a vN tag; a sophia-mcp "
        "release's tag to one the chart's values.schema.json accepts."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Pin the tag where the stack sets it, in Pulumi.<stack>.yaml: sophia-ai:mcpServers[].tag for an MCP "
        "server (a release such as 1.4.2), sophia-ai:estuaryCaptures[].connectorTag or "
        "sophia-ai:estuaryMaterializeTag for an Estuary connector (a version such as v4)."
    ),
    config_schema=PolicyConfigSchema(
        properties={
            "forbiddenTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": (
                    "Tags refused besides the moving tags domain/image_tags.py always refuses "
                    "(compared case-insensitively)."
                ),
            }
        }
    ),
)
