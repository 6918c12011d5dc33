"""Every pod a resource will run, found by shape wherever it is written, and where the scheduler may put it.

A pod is found:
* as a pod spec (a mapping with a `containers` list) anywhere in a resource's inputs: Pods and the pod
  templates of workloads of any group, version and kind (Deployment ... CronJob, `*List` items, custom
  resources such as Argo Rollouts or KServe), manifests and chart values of other charts, and YAML or JSON
  documents carried in strings (a manifest in a ConfigMap, a chart's `extraDeploy`). Its labels are those
  of the template around it (`{metadata: {labels}, spec: <pod spec>}`);
* as chart values that render one (Helm conventions): a mapping with `resources` naming a GPU, with the
  `nodeSelector`, `affinity`, `tolerations` and `podLabels` beside it;
* as the pod a sophia-mcp release renders (resources.release_pod_spec).

Helm v3 Releases install through Helm, so their values are all a policy sees of their pods; a helm.v4
Chart registers what it renders as resources of their own, so its values are not read again.

Where it may run is domain/scheduling.py's judgement of its nodeSelector and required node affinity.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from domain.gpu_pool import GPU_RESOURCES

from .known import UNKNOWN, Document, Path, parse_document
from .resources import HELM_RELEASE, MCP_COMPONENT, MCP_COMPONENT_LABEL, is_mcp_chart, release_pod_spec

# A helm.v4 Chart's rendered objects are resources of their own, judged as such: its values are not walked.
HELM_CHART = "kubernetes:helm.sh/v4:Chart"
# Chart values beside a values pod's `resources` that the pod spec takes (Helm's `helm create` layout).
_VALUES_POD_FIELDS = ("nodeSelector", "affinity", "tolerations", "runtimeClassName")


@dataclass(frozen=True)
class FoundPod:
    """One pod template: its labels, its pod spec, and where both are in the resource's inputs."""

    labels: Any
    spec: Any
    path: Path
    # The workload kind around it (`Deployment`, or the manifest's `kind`), for how many pods it runs.
    kind: str | None
    # The mapping that holds the template (a workload's spec): `replicas`, `parallelism` are read there.
    owner: Any
    # True for a pod rendered from chart values: its fields are values, at `values_field`.
    from_values: bool = False

    @property
    def is_mcp(self) -> bool:
        return isinstance(self.labels, dict) and self.labels.get(MCP_COMPONENT_LABEL) == MCP_COMPONENT

    def field(self, spec_path: Path) -> Path:
        """The input path of a field of the pod spec (`containers[0].resources` of a values pod is
        `<values>.resources`)."""
        if self.from_values:
            rest = spec_path[2:] if spec_path[:2] == ("containers", 0) else spec_path
            return (*self.path, *rest)
        return (*self.path, *spec_path)


def _is_pod_spec(node: Mapping[str, Any]) -> bool:
    listed = node.get("containers")
    return isinstance(listed, list) and all(isinstance(item, dict) or item is UNKNOWN for item in listed)


def _names_a_gpu(resources: Any) -> bool:
    return isinstance(resources, dict) and any(
        isinstance(resources.get(part), dict) and any(key in resources[part] for key in GPU_RESOURCES)
        for part in ("limits", "requests")
    )


def _values_pod(values: Mapping[str, Any], path: Path) -> FoundPod:
    container: dict[str, Any] = {
        "name": str(path[-1]) if path else "values",
        "resources": values["resources"],
    }
    spec: dict[str, Any] = {"containers": [container]}
    spec.update({key: values[key] for key in _VALUES_POD_FIELDS if key in values})
    return FoundPod(values.get("podLabels"), spec, path, None, values, from_values=True)


def _walk(node: Any, path: Path, kind: str | None, context: dict[str, Any]) -> Iterator[FoundPod]:
    if isinstance(node, dict):
        kind = node["kind"] if isinstance(node.get("kind"), str) else kind
        if _is_pod_spec(node):
            yield FoundPod(context.get("labels"), node, path, kind, context.get("owner"))
            return
        if context.get("values") and _names_a_gpu(node.get("resources")):
            yield _values_pod(node, path)
        metadata = node.get("metadata")
        for key, child in node.items():
            inner = dict(context)
            if key == "spec":
                inner["labels"] = metadata.get("labels") if isinstance(metadata, dict) else metadata
            if key == "template":
                inner["owner"] = node
            yield from _walk(child, (*path, key), kind, inner)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, (*path, index), kind, context)
    elif isinstance(node, str) and "containers" in node and "\n" in node:
        document = parse_document(node)
        if document is not None:
            yield from _walk(
                document, (*path, Document("as YAML/JSON")), None, {"values": context.get("values")}
            )


def _kind_of(resource_type: str) -> str:
    kind = resource_type.rsplit(":", 1)[-1]
    return kind[: -len("List")] if kind.endswith("List") and kind != "List" else kind


def may_hold_pods(resource_type: str) -> bool:
    """Only Kubernetes objects (and Helm, through them) run pods; the rest are not worth reading."""
    return resource_type.startswith("kubernetes:")


def pods_in(resource_type: str, name: str, props: Any) -> list[FoundPod]:
    """Every pod template this resource's inputs hold or render."""
    if not isinstance(props, dict) or not may_hold_pods(resource_type):
        return []
    found: list[FoundPod] = []
    rest = props
    if resource_type == HELM_CHART:
        rest = {key: value for key, value in props.items() if key != "values"}
    elif resource_type == HELM_RELEASE:
        values = props.get("values")
        rest = {key: value for key, value in props.items() if key != "values"}
        if is_mcp_chart(props.get("chart")) and isinstance(values, dict):
            spec = release_pod_spec(values, name)
            labels = {MCP_COMPONENT_LABEL: MCP_COMPONENT}
            found.append(FoundPod(labels, spec, ("values",), None, values, from_values=True))
            values = {key: value for key, value in values.items() if key != "resources"}
        found += _walk(values, ("values",), None, {"values": True})
    found += _walk(rest, (), _kind_of(resource_type), {})
    return found


def replicas_of(pod: FoundPod) -> tuple[str, Any] | None:
    """The field that counts this template's pods and its value: (`spec.replicas`, 2); None for kinds whose
    count is not a field (a Pod: one; a DaemonSet: one per node)."""
    owner = pod.owner if isinstance(pod.owner, dict) else {}
    if pod.from_values:
        autoscaling = owner.get("autoscaling")
        if isinstance(autoscaling, dict) and autoscaling.get("enabled") is True:
            return "autoscaling.maxReplicas", autoscaling.get("maxReplicas")
        return "replicaCount", owner.get("replicaCount")
    if pod.kind in ("Job",):
        return "parallelism", owner.get("parallelism")
    if pod.kind == "CronJob":
        return "jobTemplate.spec.parallelism", owner.get("parallelism")
    if pod.kind in ("Pod", "DaemonSet"):
        return None
    return "replicas", owner.get("replicas")
