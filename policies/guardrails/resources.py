"""Which resources the rules look at, and where their pods, values and texts live.

Type tokens are those of pulumi-kubernetes 4.x (`kubernetes:<group>/<version>:<Kind>`, core as `core/v1`),
pulumi-command 1.x (`command:local:Command`) and pulumi-snowflake 2.x; inputs arrive in their wire (camelCase)
names, as the engine sends them to analyzers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from domain.gpu_pool import POOL_LABEL

from .known import UNKNOWN, Path, get_path

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 - a type token
POD = "kubernetes:core/v1:Pod"
SNOWFLAKE_PROVIDER = "pulumi:providers:snowflake"
SNOWFLAKE_DATABASE = "snowflake:index/database:Database"
COMMAND_TYPES = frozenset({"command:local:Command", "command:remote:Command"})
# pulumi-command inputs that hold text the command runs or is fed (create/update/delete scripts, stdin).
COMMAND_TEXT_INPUTS = ("create", "update", "delete", "stdin")

MCP_COMPONENT_LABEL = "app.kubernetes.io/component"
MCP_COMPONENT = "mcp-server"
MCP_CHART = "sophia-mcp"
GPU_POOL_LABEL = POOL_LABEL

_WORKLOAD = re.compile(
    r"^kubernetes:(apps|extensions|batch)/v[0-9a-z]+:(Deployment|StatefulSet|DaemonSet|ReplicaSet|Job|CronJob)$"
)
_PACKAGED_CHART = re.compile(rf"^{MCP_CHART}-\d+\.\d+\.\d+.*\.tgz$")


def describe(resource_type: str, name: str) -> str:
    """How messages name a resource: its type token and its Pulumi name."""
    return f'{resource_type} "{name}"'


def is_workload(resource_type: str) -> bool:
    return resource_type == POD or bool(_WORKLOAD.match(resource_type))


@dataclass(frozen=True)
class PodTemplate:
    """A workload's pod template: its labels and its pod spec, with the path of the spec for messages."""

    labels: Any
    spec: Any
    spec_path: Path


def pod_template(resource_type: str, props: dict[str, Any]) -> PodTemplate:
    """Where the pod lives: `spec` for a Pod, `spec.jobTemplate.spec.template` for a CronJob, else
    `spec.template`."""
    kind = resource_type.rsplit(":", 1)[-1]
    if kind == "Pod":
        return PodTemplate(get_path(props, "metadata", "labels"), get_path(props, "spec"), ("spec",))
    template_path: tuple[str, ...] = (
        ("spec", "jobTemplate", "spec", "template") if kind == "CronJob" else ("spec", "template")
    )
    template = get_path(props, *template_path)
    return PodTemplate(
        get_path(template, "metadata", "labels"), get_path(template, "spec"), (*template_path, "spec")
    )


def is_mcp_labels(labels: Any) -> bool:
    return isinstance(labels, dict) and labels.get(MCP_COMPONENT_LABEL) == MCP_COMPONENT


def is_mcp_chart(chart: Any) -> bool:
    """`sophia-mcp`, a path ending in it (`charts/sophia-mcp`, `oci://.../sophia-mcp`) or its package."""
    if not isinstance(chart, str):
        return False
    last = chart.rstrip("/").rsplit("/", 1)[-1]
    return last == MCP_CHART or bool(_PACKAGED_CHART.match(last))


def containers(pod_spec: Any) -> Iterator[tuple[int, Any]]:
    """The pod's app containers (init containers do not serve), with their index."""
    listed = pod_spec.get("containers") if isinstance(pod_spec, dict) else None
    if isinstance(listed, list):
        yield from enumerate(listed)


def release_pod_spec(values: dict[str, Any], release_name: str) -> dict[str, Any]:
    """The pod spec the sophia-mcp chart renders from these values, as far as GPU placement goes.

    The chart's Deployment (charts/sophia-mcp/templates/deployment.yaml) writes one container with
    `.Values.resources` and `.Values.image`, and the pod's `nodeSelector`, `tolerations` and
    `runtimeClassName` from the values of the same names; node affinity is not a chart value.
    """
    image = values.get("image")
    container: dict[str, Any] = {"name": release_name}
    if "resources" in values:
        container["resources"] = values["resources"]
    if image is UNKNOWN or isinstance(image, dict):
        container["image"] = image
    spec: dict[str, Any] = {"containers": [container]}
    for key in ("nodeSelector", "tolerations", "runtimeClassName"):
        if key in values:
            spec[key] = values[key]
    return spec


def release_field(pod_spec_path: Path) -> Path:
    """Map a field of `release_pod_spec` back to the release input it came from."""
    if pod_spec_path[:2] == ("containers", 0):
        return ("values", *pod_spec_path[2:])
    return ("values", *pod_spec_path)
