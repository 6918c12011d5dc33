"""Where the scheduler may place a pod, judged the way kube-scheduler's NodeAffinity plugin judges it.

A pod fits a node when the node's labels match its `nodeSelector` (every pair) AND, if the pod has a required
node affinity, at least one of its `nodeSelectorTerms` (every requirement of the term). Requirements take the
operators `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` and `Lt` (k8s.io/component-helpers
scheduling/corev1/nodeaffinity, `NodeSelectorRequirementsAsSelector`; kubernetes.io "Assigning Pods to
Nodes"): `NotIn` and `DoesNotExist` also match a node without the label, `Gt`/`Lt` compare the label as an
integer with the one value given, and a term with no requirements matches no node.

A node here is a model, not an object: each label is either a known value, absent, or free (any value, or
absence, the way a node nobody described may be labelled). `GPU_POOL_NODE` is a node of a GpuNodePool as
cloud-init joins it and the GPU Operator labels it; `NODE_OUTSIDE_POOL` is any other node of the cluster:
it carries no pool label and none of the labels only GPU nodes get, and any other label at all. A pod is
placed on a pool when some pool node fits it and no node outside the pool does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.gpu_pool import POOL_LABEL
from domain.unknown import UNKNOWN


class _Free:
    """A label a model leaves open: `present=True` means the node has it with some value."""

    def __init__(self, present: bool) -> None:
        self.present = present

    def __repr__(self) -> str:
        return "<any value>" if self.present else "<any value or none>"


ABSENT = None
SOME_VALUE = _Free(present=True)
ANY_VALUE = _Free(present=False)
LabelModel = str | _Free | None

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
# Labels only GPU nodes carry: GPU Feature Discovery's (`nvidia.com/gpu.*`) and Node Feature Discovery's
# NVIDIA PCI vendor label (10de), both written by the GPU Operator on nodes that have an NVIDIA GPU.
_GPU_ONLY_PREFIXES = ("nvidia.com/", "feature.node.kubernetes.io/pci-10de")


@dataclass(frozen=True)
class NodeModel:
    """What a kind of node's labels may be: known labels, then a default by key."""

    description: str
    labels: Mapping[str, LabelModel]
    gpu_node: bool

    def label(self, key: str) -> LabelModel:
        if key in self.labels:
            return self.labels[key]
        if key.startswith(_GPU_ONLY_PREFIXES):
            return ANY_VALUE if self.gpu_node else ABSENT
        # A pool node carries only the labels it is given; any other node may carry anything.
        return ABSENT if self.gpu_node else ANY_VALUE


def pool_node(pool: str | None) -> NodeModel:
    """A node of the pool `pool` (None: of some pool, name not known): the k3s agent's labels (kubelet's own,
    and `--node-label` from domain/cloud_init.py) and the GPU Operator's."""
    return NodeModel(
        f"a node of GPU pool {pool!r}" if pool else "a GPU pool node",
        {
            POOL_LABEL: pool if pool else SOME_VALUE,
            "kubernetes.io/os": "linux",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": SOME_VALUE,
            "beta.kubernetes.io/arch": SOME_VALUE,
            "kubernetes.io/hostname": SOME_VALUE,
            "metadata.name": SOME_VALUE,
            "node.kubernetes.io/instance-type": SOME_VALUE,
            "beta.kubernetes.io/instance-type": SOME_VALUE,
            "nvidia.com/gpu.present": "true",
            "nvidia.com/gpu.product": SOME_VALUE,
            "nvidia.com/gpu.count": SOME_VALUE,
            "nvidia.com/gpu.replicas": SOME_VALUE,
        },
        gpu_node=True,
    )


GPU_POOL_NODE = pool_node(None)
NODE_OUTSIDE_POOL = NodeModel(
    "a node outside the GPU pools", {POOL_LABEL: ABSENT, "metadata.name": SOME_VALUE}, gpu_node=False
)


class InvalidSelector(ValueError):
    """A selector the API server refuses (unknown operator, wrong number of values, a non-integer Gt)."""


class UnknownSelector(ValueError):
    """A part of the selector is not known during preview; the message names it."""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, value: str | None) -> bool:
        """Whether a node whose label `key` is `value` (None: no such label) meets this requirement."""
        if self.operator == "In":
            return value is not None and value in self.values
        if self.operator == "NotIn":
            return value is None or value not in self.values
        if self.operator == "Exists":
            return value is not None
        if self.operator == "DoesNotExist":
            return value is None
        number = _integer(value)
        if number is None:
            return False
        bound = int(self.values[0])
        return number > bound if self.operator == "Gt" else number < bound

    def __str__(self) -> str:
        shown = f" {list(self.values)}" if self.values else ""
        return f"{self.key} {self.operator}{shown}"


def _integer(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


Term = tuple[Requirement, ...]


@dataclass(frozen=True)
class NodeSelection:
    """The pod's node selection: `nodeSelector` as requirements, then the required affinity's terms (None when
    the pod has none)."""

    node_selector: Term = ()
    terms: tuple[Term, ...] | None = None
    described: str = field(default="", compare=False)

    def alternatives(self) -> Iterator[Term]:
        """Each way a node may fit: nodeSelector AND one term."""
        if self.terms is None:
            yield self.node_selector
            return
        for term in self.terms:
            if term:  # an empty term matches no node
                yield (*self.node_selector, *term)

    def fits(self, node: NodeModel) -> bool:
        """Whether some node of this model fits the pod."""
        return any(_term_fits(term, node) for term in self.alternatives())

    def pool_values(self) -> set[str]:
        """Every pool name the selection mentions (the candidates for a pool it may land on)."""
        return {
            value
            for term in (self.node_selector, *(self.terms or ()))
            for requirement in term
            if requirement.key == POOL_LABEL
            for value in requirement.values
        }

    def pools_it_may_land_on(self, pools: list[str]) -> list[str]:
        return [pool for pool in pools if self.fits(pool_node(pool))]


def _candidates(requirements: list[Requirement], model: LabelModel) -> list[str | None]:
    """Label values worth trying: those the requirements name, their integer neighbours, a fresh value."""
    if not isinstance(model, _Free):
        return [model]
    values: list[str | None] = [] if model.present else [None]
    for requirement in requirements:
        for value in requirement.values:
            values.append(value)
            number = _integer(value)
            if number is not None:
                values += [str(number - 1), str(number + 1)]
    values.append("\x00another value")
    return values


def _term_fits(term: Term, node: NodeModel) -> bool:
    by_key: dict[str, list[Requirement]] = {}
    for requirement in term:
        by_key.setdefault(requirement.key, []).append(requirement)
    return all(
        any(all(requirement.matches(value) for requirement in requirements) for value in candidates)
        for key, requirements in by_key.items()
        if (candidates := _candidates(requirements, node.label(key)))
    )


def _requirement(item: Any, where: str) -> Requirement:
    if item is UNKNOWN or not isinstance(item, Mapping):
        raise UnknownSelector(where) if item is UNKNOWN else InvalidSelector(f"{where} is not a mapping")
    key, operator, values = item.get("key"), item.get("operator"), item.get("values")
    if UNKNOWN in (key, operator, values) or (isinstance(values, list) and UNKNOWN in values):
        raise UnknownSelector(where)
    if not isinstance(key, str) or operator not in OPERATORS:
        raise InvalidSelector(f"{where}: operator {operator!r} is not one of {', '.join(OPERATORS)}")
    listed = tuple(str(value) for value in values) if isinstance(values, list) else ()
    if operator in ("In", "NotIn") and not listed:
        raise InvalidSelector(f"{where}: {operator} needs at least one value")
    if operator in ("Exists", "DoesNotExist") and listed:
        raise InvalidSelector(f"{where}: {operator} takes no values")
    if operator in ("Gt", "Lt") and (len(listed) != 1 or _integer(listed[0]) is None):
        raise InvalidSelector(f"{where}: {operator} takes exactly one integer value")
    return Requirement(key, operator, listed)


def _term(term: Any, where: str) -> Term:
    if term is UNKNOWN:
        raise UnknownSelector(where)
    if not isinstance(term, Mapping):
        return ()
    found: list[Requirement] = []
    # matchFields select by the Node object's fields (only `metadata.name`), read here like a label.
    for field_name in ("matchExpressions", "matchFields"):
        listed = term.get(field_name)
        if listed is UNKNOWN:
            raise UnknownSelector(f"{where}.{field_name}")
        for index, item in enumerate(listed if isinstance(listed, list) else []):
            found.append(_requirement(item, f"{where}.{field_name}[{index}]"))
    return tuple(found)


def node_selection(pod_spec: Mapping[str, Any]) -> NodeSelection:
    """The node selection a pod spec states. Raises UnknownSelector (naming the field) for parts preview does
    not know, InvalidSelector for selectors the API server refuses."""
    selector = pod_spec.get("nodeSelector")
    if selector is UNKNOWN:
        raise UnknownSelector("nodeSelector")
    pairs: list[Requirement] = []
    for key, value in (selector or {}).items() if isinstance(selector, Mapping) else ():
        if value is UNKNOWN:
            raise UnknownSelector(f"nodeSelector[{key!r}]")
        pairs.append(Requirement(str(key), "In", (str(value),)))
    path = ("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
    node: Any = pod_spec
    for index, step in enumerate(path):
        if node is UNKNOWN:
            raise UnknownSelector(".".join(path[:index]))
        node = node.get(step) if isinstance(node, Mapping) else None
    if node is UNKNOWN:
        raise UnknownSelector(".".join(path))
    terms = None
    if isinstance(node, list):
        terms = tuple(_term(term, f"{'.'.join(path)}[{index}]") for index, term in enumerate(node))
    return NodeSelection(tuple(pairs), terms)


@dataclass(frozen=True)
class Placement:
    """Where a pod may land: whether a pool node fits it, and whether a node outside the pools does."""

    fits_pool: bool
    escapes_pool: bool

    @property
    def on_pool(self) -> bool:
        return self.fits_pool and not self.escapes_pool


def placement(selection: NodeSelection, pool: NodeModel = GPU_POOL_NODE) -> Placement:
    return Placement(selection.fits(pool), selection.fits(NODE_OUTSIDE_POOL))
