"""The children the Kubernetes provider renders for its rendering components, registered offline as it would.

`kubernetes:helm.sh/v4:Chart`, `kubernetes:yaml/v2:ConfigFile` / `ConfigGroup` and
`kubernetes:kustomize/v2:Directory` are components the provider constructs: it renders or parses the
manifests itself and registers one resource per object, so a real preview analyses every child. The mock
runtime never constructs them. This module does what the provider's Construct does, so the pack sees the same
children; when it cannot (a remote chart, no kustomize binary, an input unknown at preview), the component is
listed as unrendered and the gate refuses the plan naming it: the offline gate must never say clean where a
real preview would look further.

Followed from pulumi/pulumi-kubernetes (provider/pkg/provider/):
* yaml/v2/yaml.go: Parse (files, then the YAML text, documents decoded one by one, empty ones skipped),
  Normalize (List kinds expanded into their items, `core` group canonicalised, a kind and apiVersion and
  metadata.name required, the default namespace set on namespaced kinds), register (the name
  `<prefix>:<namespace>/<name>` or `<prefix>:<name>`, `skipAwait` as the `pulumi.com/skipAwait` annotation,
  Secret `data`/`stringData` marked secret) and
  Register (dependencies from the cli-utils graph: here a Namespace before the objects in it and a CRD
  before its custom resources; the `config.kubernetes.io/depends-on` annotation is not read).
* yaml/v2/configfile.go, configgroup.go: the prefix defaults to the component's name (an explicit empty prefix
  means none); ConfigGroup globs its files and adds `objs` after them.
* helm/v4/chart.go: `helm template` with the release name (`name`, else the component's name), the
  namespace, CRDs unless `skipCrds`, hooks never (`DisableHooks`), values files then `values`
  (helm/values.go, MergeValues); `helm.sh/resource-policy: keep` becomes retainOnDelete.
* kustomize/v2/directory.go: `kustomize build` with no load restrictions, helm enabled, no reordering (the
  pinned kustomize of scripts/install-kustomize.sh is built on the provider's kustomize API version).
* Type tokens: sdk/go/kubernetes/yaml/v2/kinds.go, RegisterResource (`kubernetes:<group>/<version>:<Kind>`,
  `core/v1` for the core group; the same form for custom resources).
* Namespace scope: kinds/kinds.go, Kind.Namespaced, for built-in groups; a CRD in the same manifests decides
  for its kind; anything else is left without a namespace (clients.IsNamespacedKind, NoNamespaceInfoErr).
* Default namespace: the provider's `namespace`, else "default" (provider.go, canonicalNamespace); offline
  the kubeconfig is a placeholder, so its context's namespace is not read.

Children inherit the component's provider and `protect` (Pulumi docs, resource option `protect`: "the
default is to inherit this value from the parent resource"). Their URNs are made as the mock monitor makes
every other URN of the plan (`MockMonitor.make_urn`).
Offline, helm renders with its own default Kubernetes version (a real preview asks the cluster), and local
charts and files only are read: nothing is fetched from a network.
"""

from __future__ import annotations

import glob
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from offline.plan import ResourcePlan, Secret, Unknown, Unrendered
from offline.wire import ASSET_SIG, SIG_KEY

__all__ = [
    "RENDERED_TYPES",
    "RENDERING_INVOKES",
    "Rendering",
    "Unrendered",
    "answer_invoke",
    "render_children",
]

CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"
KUSTOMIZE_DIRECTORY = "kubernetes:kustomize/v2:Directory"

_HELM_TIMEOUT_S = 120
_REPO_ROOT = Path(__file__).resolve().parents[1]

# kinds/kinds.go, Kind.Namespaced (a `List` suffix judged by its item kind).
_NAMESPACED_KINDS = frozenset(
    [
        "Binding",
        "ConfigMap",
        "ControllerRevision",
        "CronJob",
        "CSIStorageCapacity",
        "DaemonSet",
        "Deployment",
        "Endpoints",
        "EndpointSlice",
        "Event",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Job",
        "Lease",
        "LimitRange",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "Pod",
        "PodDisruptionBudget",
        "PodTemplate",
        "ReplicaSet",
        "ReplicationController",
        "ResourceQuota",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    ]
)
_CLUSTER_KINDS = frozenset(
    [
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    ]
)
_HELM_KEEP = ("helm.sh/resource-policy", "keep")
# yaml/v2 yaml.go, globPatternRegexp: a file is a pattern when it has an unescaped *, ? or [.
_GLOB_PATTERN = re.compile(r"(?:^|[^\\])[*?\[]")


class CannotRender(Exception):
    """Why a component's children cannot be rendered offline; the text names no resource (the caller does)."""


@dataclass
class Rendering:
    children: list[ResourcePlan] = field(default_factory=list)
    unrendered: list[Unrendered] = field(default_factory=list)


@dataclass(frozen=True)
class _Manifests:
    objects: list[dict[str, Any]]
    prefix: str
    namespace: str
    skip_await: bool = False
    retain_kept: bool = False


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _plain(value: Any, path: str, secrets: set[str]) -> Any:
    """The value with secrets unwrapped (their strings collected) and unknowns refused."""
    if isinstance(value, Secret):
        inner = _plain(value.value, path, secrets)
        secrets.update(_strings(inner))
        return inner
    if isinstance(value, Unknown):
        raise CannotRender(
            f"its input {path} is not known during preview, so the provider's rendering cannot be repeated; "
            "derive it from stack config"
        )
    if isinstance(value, Mapping):
        return {key: _plain(item, _join(path, key), secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, f"{path}[{index}]", secrets) for index, item in enumerate(value)]
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _is_url(text: str) -> bool:
    return bool(urlparse(text).scheme) and "://" in text


def _decode(text: str, source: str) -> list[dict[str, Any]]:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        raise CannotRender(f"{source} is not valid YAML: {error}") from None
    objects = []
    for document in documents:
        if not document:
            continue
        if not isinstance(document, dict):
            raise CannotRender(f"{source} holds a document that is not a Kubernetes object: {document!r:.80}")
        objects.append(document)
    return objects


def _read_file(path: str, project_dir: Path) -> str:
    if _is_url(path):
        raise CannotRender(
            f"it reads {path} over the network, which the offline gate does not reach; commit the manifest "
            "and give its path"
        )
    try:
        return (project_dir / path).read_text(encoding="utf-8")
    except OSError as error:
        raise CannotRender(f"its file {path} cannot be read ({error.strerror})") from None


def _prefix(inputs: Mapping[str, Any], name: str) -> str:
    prefix = inputs.get("resourcePrefix")
    return name if prefix is None else str(prefix)


def _default_namespace(provider: ResourcePlan | None, secrets: set[str]) -> str:
    namespace = _plain(provider.inputs.get("namespace"), "namespace", secrets) if provider else None
    return namespace if isinstance(namespace, str) and namespace else "default"


def _config_file(inputs: dict[str, Any], name: str, project_dir: Path, namespace: str) -> _Manifests:
    file = inputs.get("file")
    if not isinstance(file, str) or not file:
        raise CannotRender("it has no `file`")
    objects = _decode(_read_file(file, project_dir), file)
    return _Manifests(objects, _prefix(inputs, name), namespace, bool(inputs.get("skipAwait")))


def _config_group(inputs: dict[str, Any], name: str, project_dir: Path, namespace: str) -> _Manifests:
    objects: list[dict[str, Any]] = []
    for pattern in inputs.get("files") or []:
        if _is_url(pattern):
            _read_file(pattern, project_dir)
        matches = (
            sorted(glob.glob(pattern, root_dir=project_dir)) if _GLOB_PATTERN.search(pattern) else [pattern]
        )
        for match in matches:
            objects += _decode(_read_file(match, project_dir), match)
    if inputs.get("yaml"):
        objects += _decode(str(inputs["yaml"]), "its `yaml`")
    for index, obj in enumerate(inputs.get("objs") or []):
        if not isinstance(obj, dict):
            raise CannotRender(f"objs[{index}] is not a Kubernetes object")
        objects.append(obj)
    return _Manifests(objects, _prefix(inputs, name), namespace, bool(inputs.get("skipAwait")))


def _tool(name: str) -> str | None:
    """`name` on PATH, else the pinned one scripts/install-<name>.sh installs into .tools/bin."""
    installed = _REPO_ROOT / ".tools" / "bin" / name
    return shutil.which(name) or (str(installed) if installed.is_file() else None)


def helm_binary() -> str | None:
    return _tool("helm")


def kustomize_binary() -> str | None:
    return _tool("kustomize")


def _require_helm() -> str:
    helm = helm_binary()
    if helm is None:
        raise CannotRender("helm is not installed here; run `make helm` (scripts/install-helm.sh) and retry")
    return helm


def _require_kustomize() -> str:
    kustomize = kustomize_binary()
    if kustomize is None:
        raise CannotRender(
            "the provider builds it with kustomize, and no kustomize binary is installed here; run "
            "scripts/install-kustomize.sh (it builds the pinned kustomize from its Go module), then preview"
        )
    return kustomize


def _asset_text(asset: Any, project_dir: Path, what: str) -> str:
    if isinstance(asset, dict) and asset.get(SIG_KEY) == ASSET_SIG:
        if asset.get("text") is not None:
            return str(asset["text"])
        if asset.get("path"):
            return _read_file(str(asset["path"]), project_dir)
        if asset.get("uri"):
            return _read_file(str(asset["uri"]), project_dir)
    raise CannotRender(f"{what} is not a file or text asset the offline gate can read")


def _expand_assets(value: Any, project_dir: Path, path: str) -> Any:
    """Assets inside `values` become their content, as the provider's marshalValue does (--set-file)."""
    if isinstance(value, dict) and value.get(SIG_KEY) == ASSET_SIG:
        return _asset_text(value, project_dir, path)
    if isinstance(value, dict):
        return {key: _expand_assets(item, project_dir, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_expand_assets(item, project_dir, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def _local_chart(inputs: Mapping[str, Any], project_dir: Path) -> Path:
    chart = str(inputs.get("chart") or "")
    repository = (inputs.get("repositoryOpts") or {}).get("repo")
    local = project_dir / chart
    if chart and not repository and not _is_url(chart) and local.exists():
        return local
    where = repository or chart
    raise CannotRender(
        f"its chart {chart!r} comes from {where!r}, a chart repository the offline gate does not reach (nor "
        "may it); vendor the chart into the repository and give its local path"
    )


def _chart(inputs: dict[str, Any], name: str, project_dir: Path, namespace: str) -> _Manifests:
    for flag, why in (
        (
            "postRenderer",
            "a post-renderer rewrites the rendered manifests, and the offline gate does not run it",
        ),
        ("dependencyUpdate", "dependencyUpdate fetches the chart's dependencies from their repositories"),
        ("verify", "verify checks a packaged chart's signature against a keyring"),
    ):
        if inputs.get(flag):
            raise CannotRender(f"{why}; render the chart without `{flag}` or vendor what it needs")
    chart = _local_chart(inputs, project_dir)
    helm = _require_helm()
    release = str(inputs.get("name") or name)
    chart_namespace = str(inputs.get("namespace") or "")
    files = [
        _asset_text(asset, project_dir, f"valueYamlFiles[{index}]")
        for index, asset in enumerate(inputs.get("valueYamlFiles") or [])
    ]
    files.append(yaml.safe_dump(_expand_assets(inputs.get("values") or {}, project_dir, "values")))
    with tempfile.TemporaryDirectory(prefix="offline-chart-") as workdir:
        arguments = [helm, "template", release, str(chart), "--no-hooks"]
        if chart_namespace:
            arguments += ["--namespace", chart_namespace]
        if not inputs.get("skipCrds"):
            arguments.append("--include-crds")
        for index, text in enumerate(files):
            values_file = Path(workdir) / f"values-{index}.yaml"
            values_file.write_text(text, encoding="utf-8")
            arguments += ["--values", str(values_file)]
        result = subprocess.run(
            arguments, capture_output=True, text=True, check=False, cwd=project_dir, timeout=_HELM_TIMEOUT_S
        )
    if result.returncode != 0:
        raise CannotRender(f"`helm template` of {inputs.get('chart')} failed: {result.stderr.strip()}")
    return _Manifests(
        _decode(result.stdout, f"the chart {chart.name}"),
        _prefix(inputs, name),
        chart_namespace or namespace,
        bool(inputs.get("skipAwait")),
        retain_kept=True,
    )


def _directory(inputs: dict[str, Any], name: str, project_dir: Path, namespace: str) -> _Manifests:
    directory = str(inputs.get("directory") or "")
    kustomize = _require_kustomize()
    if _is_url(directory):
        _read_file(directory, project_dir)
    arguments = [
        kustomize,
        "build",
        directory,
        "--load-restrictor",
        "LoadRestrictionsNone",
        "--reorder",
        "none",
    ]
    helm = helm_binary()
    if helm is not None:
        arguments += ["--enable-helm", "--helm-command", helm]
    result = subprocess.run(
        arguments, capture_output=True, text=True, check=False, cwd=project_dir, timeout=_HELM_TIMEOUT_S
    )
    if result.returncode != 0:
        raise CannotRender(f"`kustomize build {directory}` failed: {result.stderr.strip()}")
    return _Manifests(
        _decode(result.stdout, directory),
        _prefix(inputs, name),
        str(inputs.get("namespace") or namespace),
        bool(inputs.get("skipAwait")),
    )


_Renderer = Callable[[dict[str, Any], str, Path, str], _Manifests]
RENDERED_TYPES: dict[str, _Renderer] = {
    CONFIG_FILE: _config_file,
    CONFIG_GROUP: _config_group,
    HELM_CHART: _chart,
    KUSTOMIZE_DIRECTORY: _directory,
}


def _expanded(objects: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """List kinds give their items (recursively), as the API server and the provider treat them."""
    for obj in objects:
        if isinstance(obj.get("items"), list):
            yield from _expanded(item for item in obj["items"] if isinstance(item, dict))
        else:
            yield obj


def _group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return ("" if group == "core" else group), version


def _is_builtin_group(group: str) -> bool:
    # kinds.KnownGroupVersions: the core group, the unqualified built-in groups and the *.k8s.io ones.
    return group == "" or "." not in group or group.endswith(".k8s.io")


def _namespaced(obj: dict[str, Any], objects: list[dict[str, Any]]) -> bool | None:
    group, _ = _group_version(str(obj.get("apiVersion", "")))
    kind = str(obj.get("kind", "")).removesuffix("Patch").removesuffix("List")
    if _is_builtin_group(group) and kind in _NAMESPACED_KINDS | _CLUSTER_KINDS:
        return kind in _NAMESPACED_KINDS
    for crd in objects:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        if crd.get("kind") == "CustomResourceDefinition" and (spec.get("group"), names.get("kind")) == (
            group,
            obj.get("kind"),
        ):
            return spec.get("scope") == "Namespaced"
    return None


def _normalised(manifests: _Manifests) -> list[dict[str, Any]]:
    objects = list(_expanded(manifests.objects))
    for obj in objects:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version or not kind:
            raise CannotRender(f"Kubernetes resources require a kind and apiVersion: {obj!r:.100}")
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else None
        if not metadata or not metadata.get("name"):
            raise CannotRender(f"Kubernetes resources require a .metadata.name: {obj!r:.100}")
        group, version = _group_version(str(api_version))
        obj["apiVersion"] = f"{group}/{version}" if group else version
        if not metadata.get("namespace") and _namespaced(obj, objects):
            metadata["namespace"] = manifests.namespace
        if manifests.skip_await:
            metadata["annotations"] = {**(metadata.get("annotations") or {}), "pulumi.com/skipAwait": "true"}
    return objects


def type_token(api_version: str, kind: str) -> str:
    """The resource type the provider registers a manifest object as (yaml/v2 kinds.go)."""
    group, version = _group_version(api_version)
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


def child_name(obj: Mapping[str, Any], prefix: str) -> str:
    """`<prefix>:<namespace>/<name>`, without the parts that are empty (yaml/v2 yaml.go, register)."""
    metadata = obj["metadata"]
    name = f"{metadata['namespace']}/{metadata['name']}" if metadata.get("namespace") else metadata["name"]
    return f"{prefix}:{name}" if prefix else str(name)


def _depends_on(obj: dict[str, Any], registered: Mapping[tuple[str, str, str], str]) -> list[str]:
    """A Namespace before what is in it, a CRD before its custom resources (the cli-utils graph's edges)."""
    dependencies = []
    namespace = obj["metadata"].get("namespace")
    if namespace and ("Namespace", "", namespace) in registered:
        dependencies.append(registered[("Namespace", "", namespace)])
    group, _ = _group_version(obj["apiVersion"])
    crd = registered.get(("CRD", group, obj["kind"]))
    if crd:
        dependencies.append(crd)
    return dependencies


def _keys(obj: dict[str, Any], urn: str) -> dict[tuple[str, str, str], str]:
    if obj["kind"] == "Namespace" and obj["apiVersion"] == "v1":
        return {("Namespace", "", obj["metadata"]["name"]): urn}
    if obj["kind"] == "CustomResourceDefinition":
        spec = obj.get("spec") or {}
        return {("CRD", str(spec.get("group")), str((spec.get("names") or {}).get("kind"))): urn}
    return {}


def _marked(obj: dict[str, Any], secrets: set[str]) -> dict[str, Any]:
    """Secret data is secret (as register does); so is any field that carries a secret the component got."""
    inputs: dict[str, Any] = {}
    for key, value in obj.items():
        is_secret_data = (obj["apiVersion"], obj["kind"]) == ("v1", "Secret") and key in (
            "data",
            "stringData",
        )
        carries_secret = key not in ("apiVersion", "kind") and any(
            secret and secret in text for text in _strings(value) for secret in secrets
        )
        inputs[key] = Secret(value) if is_secret_data or carries_secret else value
    return inputs


def _children(
    component: ResourcePlan,
    manifests: _Manifests,
    secrets: set[str],
    make_urn: Callable[[str, str, str], str],
) -> list[ResourcePlan]:
    objects = _normalised(manifests)
    # CRDs and Namespaces first, as the dependency graph orders them.
    ordered = sorted(objects, key=lambda obj: obj["kind"] not in ("CustomResourceDefinition", "Namespace"))
    registered: dict[tuple[str, str, str], str] = {}
    children = []
    for obj in ordered:
        resource_type = type_token(obj["apiVersion"], obj["kind"])
        name = child_name(obj, manifests.prefix)
        urn = make_urn(component.urn, resource_type, name)
        annotations = obj["metadata"].get("annotations") or {}
        children.append(
            ResourcePlan(
                urn=urn,
                type=resource_type,
                name=name,
                custom=True,
                parent=component.urn,
                provider=component.provider,
                protect=component.protect,
                retain_on_delete=manifests.retain_kept and annotations.get(_HELM_KEEP[0]) == _HELM_KEEP[1],
                dependencies=_depends_on(obj, registered),
                property_dependencies={},
                inputs=_marked(obj, secrets),
            )
        )
        registered.update(_keys(obj, urn))
    return children


def render_children(
    resources: list[ResourcePlan], project_dir: Path, make_urn: Callable[[str, str, str], str]
) -> Rendering:
    """The children the provider would register for every rendering component among `resources`."""
    by_urn = {resource.urn: resource for resource in resources}
    rendering = Rendering()
    for component in resources:
        renderer = RENDERED_TYPES.get(component.type)
        if renderer is None:
            continue
        secrets: set[str] = set()
        try:
            inputs = _plain(component.inputs, "", secrets)
            namespace = _default_namespace(by_urn.get(component.provider or ""), secrets)
            manifests = renderer(inputs, component.name, project_dir, namespace)
            rendering.children += _children(component, manifests, secrets, make_urn)
        except CannotRender as error:
            rendering.unrendered.append(Unrendered(component.urn, component.type, component.name, str(error)))
    return rendering


# ----------------------------------------------------------------------------------------------------------
# The provider's invokes that the SDK's own rendering components (yaml.ConfigFile / ConfigGroup,
# helm.v3.Chart, kustomize.Directory) call and then register children from, in the program itself. The mock
# runtime answers every invoke with nothing, which would make those children vanish; these answer as the
# provider does
# (pulumi-kubernetes provider/pkg/provider/: provider.go Invoke, invoke_decode_yaml.go,
# invoke_helm_template.go, invoke_kustomize.go).


def _decode_yaml(text: str, default_namespace: str, source: str) -> list[dict[str, Any]]:
    """decodeYaml: objects without a kind or apiVersion skipped; the default namespace set on namespaced
    kinds, and on kinds whose scope is unknown (the provider assumes them namespaced)."""
    objects = []
    for obj in _decode(text, source):
        if not obj.get("kind") or not obj.get("apiVersion"):
            continue
        metadata = obj.get("metadata")
        if (
            default_namespace
            and isinstance(metadata, dict)
            and not metadata.get("namespace")
            and _namespaced(obj, []) is not False
        ):
            metadata["namespace"] = default_namespace
        objects.append(obj)
    return objects


def _yaml_decode_invoke(args: Mapping[str, Any], project_dir: Path) -> list[dict[str, Any]]:
    return _decode_yaml(str(args.get("text") or ""), str(args.get("defaultNamespace") or ""), "the YAML")


def _helm_template_invoke(args: Mapping[str, Any], project_dir: Path) -> list[dict[str, Any]]:
    """helmTemplate: a local chart (`path`) rendered with hooks but without test hooks unless asked, CRDs
    unless skipped, namespace "default" unless given; a chart to fetch from a repository is refused."""
    opts = _json_opts(args)
    path = opts.get("path")
    if not path:
        fetch = opts.get("fetch_opts") or {}
        where = fetch.get("repo") or opts.get("repo") or opts.get("chart")
        raise CannotRender(
            f"its chart {opts.get('chart')!r} is fetched from {where!r}, a chart repository the offline gate "
            "does not reach (nor may it); vendor the chart and use LocalChartOpts(path=...)"
        )
    helm = _require_helm()
    arguments = [helm, "template", str(opts.get("release_name") or "release"), str(project_dir / path)]
    arguments += ["--namespace", str(opts.get("namespace") or "default")]
    if not opts.get("skip_crd_rendering"):
        arguments.append("--include-crds")
    if not opts.get("include_test_hook_resources"):
        arguments.append("--skip-tests")
    if opts.get("kube_version"):
        arguments += ["--kube-version", str(opts["kube_version"])]
    for api_version in opts.get("api_versions") or []:
        arguments += ["--api-versions", str(api_version)]
    with tempfile.TemporaryDirectory(prefix="offline-chart-") as workdir:
        values_file = Path(workdir) / "values.yaml"
        values_file.write_text(yaml.safe_dump(opts.get("values") or {}), encoding="utf-8")
        arguments += ["--values", str(values_file)]
        result = subprocess.run(
            arguments, capture_output=True, text=True, check=False, cwd=project_dir, timeout=_HELM_TIMEOUT_S
        )
    if result.returncode != 0:
        raise CannotRender(f"`helm template` of {path} failed: {result.stderr.strip()}")
    return _decode_yaml(result.stdout, str(opts.get("namespace") or ""), f"the chart {path}")


def _kustomize_invoke(args: Mapping[str, Any], project_dir: Path) -> list[dict[str, Any]]:
    """kustomizeDirectory: `kustomize build` with the legacy order; a directory that is not on disk (a git
    URL the provider would clone) is refused."""
    directory = str(args.get("directory") or "")
    if not (project_dir / directory).is_dir():
        raise CannotRender(
            f"its directory {directory!r} is not on disk, and the provider would fetch it from a git "
            "repository the offline gate does not reach; commit the kustomization"
        )
    kustomize = _require_kustomize()
    result = subprocess.run(
        [kustomize, "build", directory, "--reorder", "legacy"],
        capture_output=True,
        text=True,
        check=False,
        cwd=project_dir,
        timeout=_HELM_TIMEOUT_S,
    )
    if result.returncode != 0:
        raise CannotRender(f"`kustomize build {directory}` failed: {result.stderr.strip()}")
    return _decode(result.stdout, directory)


_Invoke = Callable[[Mapping[str, Any], Path], list[dict[str, Any]]]
# token -> (the SDK component that calls it, how its subject is named, the provider's answer)
_INVOKES: dict[str, tuple[str, Callable[[Mapping[str, Any]], str], _Invoke]] = {
    "kubernetes:yaml:decode": (
        "kubernetes:yaml:ConfigFile/ConfigGroup",
        lambda args: "YAML",
        _yaml_decode_invoke,
    ),
    "kubernetes:helm:template": (
        "kubernetes:helm.sh/v3:Chart",
        lambda args: str(_json_opts(args).get("release_name") or "chart"),
        _helm_template_invoke,
    ),
    "kubernetes:kustomize:directory": (
        "kubernetes:kustomize:Directory",
        lambda args: str(args.get("directory") or ""),
        _kustomize_invoke,
    ),
}


RENDERING_INVOKES = tuple(_INVOKES)


def _json_opts(args: Mapping[str, Any]) -> dict[str, Any]:
    try:
        loaded = json.loads(str(args.get("jsonOpts") or "{}"))
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def answer_invoke(
    token: str, args: Mapping[str, Any], project_dir: Path
) -> tuple[dict[str, Any], Unrendered | None] | None:
    """The provider's answer to a rendering invoke (None for other invokes) and what it could not render."""
    known = _INVOKES.get(token)
    if known is None:
        return None
    component_type, subject, handler = known
    try:
        return {"result": handler(args, project_dir)}, None
    except CannotRender as error:
        return {"result": []}, Unrendered("", component_type, subject(args), str(error))
