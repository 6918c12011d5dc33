"""images-pinned (advisory): MCP server images and Estuary connector images name one build.

A moving tag (`latest`, `dev`) or no tag at all (which means `latest`) makes a rollout unrepeatable, and for
Estuary connectors it also stops flowctl from encrypting endpoint secrets on publish (domain-facts, Estuary).
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

from .plain import UNKNOWN, Path, leaves, located, parse_document, plain
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
DEFAULT_FORBIDDEN_TAGS = ("latest", "dev")
_UNKNOWN = "is not known during preview, so the image tag cannot be verified"


def image_problem(image: Any, forbidden: frozenset[str]) -> str | None:
    """Why an image reference (`repo[:tag][@digest]`) does not pin one build; None when it does."""
    if image is UNKNOWN:
        return _UNKNOWN
    if not isinstance(image, str) or not image.strip():
        return "names no image"
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    if not tag:
        return f"{image!r} has no tag, which means :latest; pin a version tag or a digest"
    if tag.lower() in forbidden:
        return f"{image!r} uses the moving tag {tag!r}; pin a version tag or a digest"
    return None


def _release_problems(values: Any, forbidden: frozenset[str]) -> Iterator[tuple[Path, str]]:
    image = values.get("image") if isinstance(values, dict) else None
    if values is UNKNOWN or image is UNKNOWN:
        yield ("values", "image"), _UNKNOWN
        return
    if not isinstance(image, dict):
        yield ("values", "image"), "is missing; set image.repository and a pinned image.tag"
        return
    repository, tag, digest = image.get("repository"), image.get("tag"), image.get("digest")
    if (isinstance(repository, str) and "@sha256:" in repository) or (isinstance(digest, str) and digest):
        return
    if tag is UNKNOWN:
        yield ("values", "image", "tag"), _UNKNOWN
    elif not isinstance(tag, str) or not tag.strip():
        yield ("values", "image", "tag"), "is missing, so the image runs as :latest; pin a version tag"
    elif tag.lower() in forbidden:
        yield ("values", "image", "tag"), f"is the moving tag {tag!r}; pin a version tag"


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
                problem = image_problem(image, forbidden)
                if problem:
                    yield path, f"connector image {problem}"


def _forbidden(config: Mapping[str, Any]) -> frozenset[str]:
    listed = config.get("forbiddenTags") or DEFAULT_FORBIDDEN_TAGS
    return frozenset(str(tag).lower() for tag in listed)


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    forbidden = _forbidden(args.get_config())
    props = plain(args.props)
    problems: list[tuple[Path, str]] = []
    if is_workload(args.resource_type):
        template = pod_template(args.resource_type, props)
        if not is_mcp_labels(template.labels):
            return
        for index, container in containers(template.spec):
            image = container.get("image") if isinstance(container, dict) else UNKNOWN
            problem = image_problem(image, forbidden)
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
        "latest, dev or untagged."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Pin the tag in components/versions.py (one place for every version): a release tag such as 1.4.2 "
        "for MCP servers, a connector version such as :v4 for Estuary, or an @sha256 digest."
    ),
    config_schema=PolicyConfigSchema(
        properties={
            "forbiddenTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(DEFAULT_FORBIDDEN_TAGS),
                "description": "Tags that move between builds (compared case-insensitively).",
            }
        }
    ),
)
