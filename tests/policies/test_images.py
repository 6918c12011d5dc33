"""images-pinned (advisory), through the real pack process: MCP server images and Estuary connector images
name one build; latest, dev or no tag are advisory violations that do not fail the gate."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from components.config import McpServerConfig, config_keys
from domain.estuary.production import CaptureSource
from domain.image_tags import MOVING_TAGS
from offline.policy_gate import format_violations
from policies.guardrails.images import images_pinned
from tests.policies.conftest import Evaluate
from tests.policies.plans import (
    gpu_pool,
    mcp_deployment,
    mcp_pod_spec,
    mcp_release,
    mcp_values,
    on_resource,
    plan,
    resource,
)

NAME = "images-pinned"


def flow_catalog(image: str) -> str:
    return yaml.safe_dump(
        {
            "captures": {
                "Pay_Ready/gong/source-gong": {"endpoint": {"connector": {"image": image, "config": {}}}}
            }
        }
    )


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ({"repository": "ghcr.io/sophia-ai/mcp-ai-memory", "tag": "latest"}, "moving tag 'latest'"),
        ({"repository": "ghcr.io/sophia-ai/mcp-ai-memory", "tag": "dev"}, "moving tag 'dev'"),
        ({"repository": "ghcr.io/sophia-ai/mcp-ai-memory"}, "is missing"),
    ],
    ids=["latest", "dev", "no tag"],
)
def test_mcp_release_with_a_moving_tag_is_an_advisory_violation(
    evaluate: Evaluate, image: dict[str, str], expected: str
) -> None:
    release = mcp_release(values=mcp_values() | {"image": image})
    result = evaluate(plan(release, *gpu_pool()))
    [violation] = on_resource(result, NAME, release)
    assert violation.level == "advisory"
    assert "values.image" in violation.message
    assert expected in violation.message
    assert result.mandatory_count == 0, format_violations(result)


@pytest.mark.parametrize("tag", ["1.0.8-", "_1.0.8", "1.0.8_", "1" * 64])
def test_mcp_release_with_a_tag_the_chart_refuses_is_a_violation_naming_the_chart(
    evaluate: Evaluate, tag: str
) -> None:
    release = mcp_release(
        values=mcp_values() | {"image": {"repository": "ghcr.io/sophia-ai/mcp", "tag": tag}}
    )
    [violation] = on_resource(evaluate(plan(release, *gpu_pool())), NAME, release)
    assert "values.image.tag" in violation.message
    assert "the sophia-mcp chart refuses" in violation.message


@pytest.mark.parametrize(
    "image",
    ["ghcr.io/sophia-ai/mcp-linear", "ghcr.io/sophia-ai/mcp-linear:latest", "localhost:5000/mcp-linear"],
)
def test_mcp_workload_container_images_are_pinned(evaluate: Evaluate, image: str) -> None:
    spec = mcp_pod_spec()
    spec["containers"][0]["image"] = image
    workload = mcp_deployment(pod_spec=spec)
    [violation] = on_resource(evaluate(plan(workload)), NAME, workload)
    assert "spec.template.spec.containers[0].image" in violation.message
    assert violation.level == "advisory"


@pytest.mark.parametrize(
    "inputs",
    [
        {
            "create": "cat > flow.yaml <<'EOF'\n"
            + flow_catalog("ghcr.io/estuary/source-gong:dev")
            + "EOF\nflowctl catalog publish\n"
        },
        {
            "update": "python scripts/publish_flow.py publish",
            "environment": {"FLOW_CATALOG": flow_catalog("ghcr.io/estuary/source-gong")},
        },
    ],
    ids=["catalog in the script", "catalog in the environment"],
)
def test_estuary_connector_images_are_pinned(evaluate: Evaluate, inputs: dict[str, Any]) -> None:
    command = resource("command:local:Command", "estuary-publish", inputs)
    [violation] = on_resource(evaluate(plan(command)), NAME, command)
    assert "connector image 'ghcr.io/estuary/source-gong" in violation.message
    assert violation.level == "advisory"


def test_pinned_tags_and_digests_pass(evaluate: Evaluate) -> None:
    digest = "ghcr.io/sophia-ai/mcp-gong@sha256:" + "a" * 64
    spec = mcp_pod_spec()
    spec["containers"][0]["image"] = digest
    targets = [
        mcp_release(),
        mcp_deployment(pod_spec=spec),
        resource(
            "command:local:Command",
            "estuary-publish",
            {"environment": {"FLOW_CATALOG": flow_catalog("ghcr.io/estuary/materialize-snowflake:v4")}},
        ),
    ]
    result = evaluate(plan(*targets))
    assert [violation for violation in result.violations if violation.policy == NAME] == [], (
        format_violations(result)
    )


def test_a_release_pinned_by_image_digest_passes(evaluate: Evaluate) -> None:
    image = {"repository": "ghcr.io/sophia-ai/mcp-gong", "tag": "latest", "digest": "sha256:" + "ab" * 32}
    release = mcp_release(values=mcp_values() | {"image": image})
    assert on_resource(evaluate(plan(release, *gpu_pool())), NAME, release) == []


@pytest.mark.parametrize(
    ("image", "field", "expected"),
    [
        (
            {"repository": "ghcr.io/sophia-ai/mcp-gong@sha256:" + "ab" * 32, "tag": "1.4.2"},
            "repository",
            "carries a digest",
        ),
        (
            {"repository": "ghcr.io/sophia-ai/mcp-gong", "tag": "1.4.2", "digest": "sha256:abab"},
            "digest",
            "not a sha256 digest",
        ),
    ],
    ids=["digest in the repository", "malformed digest"],
)
def test_a_digest_the_chart_cannot_deploy_is_not_counted_as_pinned(
    evaluate: Evaluate, image: dict[str, str], field: str, expected: str
) -> None:
    release = mcp_release(values=mcp_values() | {"image": image})
    [violation] = on_resource(evaluate(plan(release, *gpu_pool())), NAME, release)
    assert f"image.{field}" in violation.message or field in violation.message
    assert expected in violation.message


def test_the_config_can_make_pinning_mandatory_and_add_tags(evaluate: Evaluate) -> None:
    release = mcp_release(
        values=mcp_values() | {"image": {"repository": "ghcr.io/sophia-ai/mcp-gong", "tag": "stable"}}
    )
    result = evaluate(
        plan(release, *gpu_pool()), {NAME: {"enforcementLevel": "mandatory", "forbiddenTags": ["Stable"]}}
    )
    [violation] = on_resource(result, NAME, release)
    assert violation.level == "mandatory"
    assert result.mandatory_count == 1


# The tags the stack config refuses: every moving tag in any case, and text that is no image tag.
CONFIG_REFUSED_TAGS = [*sorted(MOVING_TAGS), "Main", "LATEST", "1.0 beta", "-rc1"]


@pytest.mark.parametrize("tag", CONFIG_REFUSED_TAGS)
def test_every_mcp_tag_the_config_refuses_the_pack_refuses(evaluate: Evaluate, tag: str) -> None:
    server = {
        "name": "gong",
        "image": "ghcr.io/sophia-ai/mcp-gong",
        "port": 3004,
        "replicas": 1,
        "gpuShare": 1,
    }
    with pytest.raises(ValidationError):
        McpServerConfig.model_validate({**server, "tag": tag})
    release = mcp_release(values=mcp_values() | {"image": {"repository": server["image"], "tag": tag}})

    # An empty forbiddenTags cannot let a moving tag through.
    result = evaluate(plan(release, *gpu_pool()), {NAME: {"forbiddenTags": []}})

    [violation] = on_resource(result, NAME, release)
    assert "values.image.tag" in violation.message
    assert "pin a version tag such as 1.4.2" in violation.message


@pytest.mark.parametrize("tag", [*CONFIG_REFUSED_TAGS, "1.2.3", "4"])
def test_every_connector_tag_the_config_refuses_the_pack_refuses(evaluate: Evaluate, tag: str) -> None:
    entry = {"source": "gong", "connectorTag": tag, "interval": "15m", "streams": ["calls"]}
    with pytest.raises(ValidationError):
        CaptureSource.model_validate(entry)
    command = resource(
        "command:local:Command",
        "estuary-publish",
        {"environment": {"FLOW_CATALOG": flow_catalog(f"ghcr.io/estuary/source-gong:{tag}")}},
    )

    [violation] = on_resource(evaluate(plan(command)), NAME, command)

    assert "pin a version tag such as v1" in violation.message


def test_connector_version_tags_and_mcp_release_tags_pass(evaluate: Evaluate) -> None:
    targets = [
        mcp_release(
            values=mcp_values() | {"image": {"repository": "ghcr.io/sophia-ai/mcp-gong", "tag": "2.0.1"}}
        ),
        resource(
            "command:local:Command",
            "estuary-publish",
            {"environment": {"FLOW_CATALOG": flow_catalog("ghcr.io/estuary/source-gong:v1.2")}},
        ),
    ]
    result = evaluate(plan(*targets, *gpu_pool()))
    assert [violation for violation in result.violations if violation.policy == NAME] == [], (
        format_violations(result)
    )


def test_the_advice_names_the_keys_that_hold_the_tags() -> None:
    advice = images_pinned.remediation_steps or ""
    for key in ("mcpServers", "estuaryCaptures", "estuaryMaterializeTag"):
        assert f"sophia-ai:{key}" in advice
        assert key in config_keys()
    assert "versions.py" not in advice
