"""gpu-quantities-valid: GPU quantities the API server will accept, wherever a workload or release sets one.

`nvidia.com/gpu` is an extended resource: whole quantities only, set in limits, and a request (if any)
equal to the limit (kubernetes.io, "Schedule GPUs" and "Consuming extended resources"). A release's values
reach the API server only at install time, so a bad quantity there would fail the deployment halfway; this
rule stops it at preview.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from domain.gpu import InvalidQuantity, parse_quantity, whole_gpu_count

from .known import UNKNOWN, Path, located, resolve_unknowns
from .mcp_gpu import GPU_RESOURCES, Problem
from .resources import HELM_RELEASE, describe, is_workload

NAME = "gpu-quantities-valid"
_UNKNOWN_HINT = "is not known during preview, so the GPU quantity cannot be verified"


def _pair_problems(path: Path, limits: Any, requests: Any, resource_name: str) -> list[Problem]:
    limit = limits.get(resource_name) if isinstance(limits, dict) else None
    request = requests.get(resource_name) if isinstance(requests, dict) else None
    limit_path: Path = (*path, "limits", resource_name)
    request_path: Path = (*path, "requests", resource_name)
    if limit is UNKNOWN:
        return [Problem(limit_path, _UNKNOWN_HINT)]
    if request is UNKNOWN:
        return [Problem(request_path, _UNKNOWN_HINT)]
    if limit is None and request is None:
        return []
    if limit is None:
        return [
            Problem(
                request_path,
                f"{resource_name} is requested without a limit; an extended resource is set in limits (a "
                "request, if present, must equal the limit)",
            )
        ]
    problems: list[Problem] = []
    try:
        whole_gpu_count(limit)
    except InvalidQuantity as error:
        problems.append(Problem(limit_path, str(error)))
    if request is not None:
        try:
            whole_gpu_count(request)
            equal = parse_quantity(request) == parse_quantity(limit)
        except InvalidQuantity as error:
            problems.append(Problem(request_path, str(error)))
        else:
            if not equal:
                problems.append(
                    Problem(
                        request_path,
                        f"request {request!r} differs from limit {limit!r}; Kubernetes does not overcommit "
                        "extended resources, so drop the request or make it equal the limit",
                    )
                )
    return problems


def gpu_quantity_problems(tree: Any, path: Path = ()) -> Iterator[Problem]:
    """Every GPU quantity in `tree` (any `limits`/`requests` pair at any depth) that the API server "
    "rejects."""
    if isinstance(tree, dict):
        limits, requests = tree.get("limits"), tree.get("requests")
        if limits is UNKNOWN or requests is UNKNOWN:
            yield Problem((*path, "limits" if limits is UNKNOWN else "requests"), _UNKNOWN_HINT)
        elif isinstance(limits, dict) or isinstance(requests, dict):
            for resource_name in GPU_RESOURCES:
                yield from _pair_problems(path, limits, requests, resource_name)
        for key, child in tree.items():
            if key not in ("limits", "requests"):
                yield from gpu_quantity_problems(child, (*path, key))
    elif isinstance(tree, list):
        for index, item in enumerate(tree):
            yield from gpu_quantity_problems(item, (*path, index))


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not (is_workload(args.resource_type) or args.resource_type == HELM_RELEASE):
        return
    resource = describe(args.resource_type, args.name)
    props = resolve_unknowns(args.props)
    if is_workload(args.resource_type):
        problems = list(gpu_quantity_problems(props))
    elif args.resource_type == HELM_RELEASE:
        values = props.get("values")
        if values is UNKNOWN:
            problems = [Problem(("values",), _UNKNOWN_HINT)]
        else:
            problems = list(gpu_quantity_problems(values or {}, ("values",)))
    else:
        return
    for problem in problems:
        report_violation(located(resource, problem.path, problem.message), None)


gpu_quantities_valid = ResourceValidationPolicy(
    name=NAME,
    description=(
        "GPU quantities (nvidia.com/gpu, nvidia.com/gpu.shared) in workloads and Helm release values are "
        "whole numbers, set in limits, with any request equal to the limit; the API server rejects anything "
        "else."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=(
        'Write the GPU as a whole number in limits, e.g. resources.limits["nvidia.com/gpu"]: 1 ("1000m" is '
        "the same). To give a server a fraction of a GPU, enable time-slicing on the node pool (each GPU is "
        "then advertised as several units) and ask for 1 unit. Drop the GPU request or make it equal the "
        "limit."
    ),
)
