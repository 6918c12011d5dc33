"""stack-isolation: a stack never names another stack's Snowflake objects, Estuary specs, namespaces or nodes.

Staging shares production's Snowflake, Lambda and Estuary accounts, so a copied name is all it takes for a
staging change to write production's tables, publish over production's collections or adopt a production GPU
instance. The other stacks' names come from the pack config (`policies/config/<stack>.json`), written from
each stack's config and checked against it by the tests; the rule itself is `domain/stack_isolation.py`.
A Secret is read in both its forms, `stringData` and base64 `data` (secret_data.py).
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from domain.stack_isolation import OwnedNames, foreign_names

from .known import UNKNOWN, resolve_unknowns
from .resources import describe
from .secret_data import readable

NAME = "stack-isolation"
NAMESPACE = "kubernetes:core/v1:Namespace"
DYNAMIC_PREFIX = "pulumi-python:dynamic"


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    owned = OwnedNames.from_policy_config(args.get_config())
    if owned.is_empty():
        args.not_applicable("no other stack's names are configured")
        return
    for resource in args.resources:
        # A Secret's names sit in base64 `data` once the provider has checked it (secret_data.py).
        props = readable(resource.resource_type, resolve_unknowns(resource.props))
        if not isinstance(props, dict):
            continue
        namespace_name = None
        if resource.resource_type == NAMESPACE:
            name = (props.get("metadata") or {}).get("name")
            namespace_name = name if isinstance(name, str) else None
        instance_name = None
        if resource.resource_type.startswith(DYNAMIC_PREFIX):
            name = props.get("name")
            instance_name = name if isinstance(name, str) and name is not UNKNOWN else None
        for found in foreign_names(
            props, owned, kubernetes_namespace_name=namespace_name, lambda_instance_name=instance_name
        ):
            report_violation(
                f"{describe(resource.resource_type, resource.name)}: {found.path} names {owned.stack}'s "
                f"{found.what} {found.name!r}; this stack must use names of its own (set them in its "
                "Pulumi.<stack>.yaml)",
                resource.urn,
            )


stack_isolation = StackValidationPolicy(
    name=NAME,
    description=(
        "No resource names another stack's Snowflake database, warehouse, monitor, roles, users or network "
        "policies, its Estuary prefixes, its namespaces or its Lambda instance names (listed in the pack "
        "config as that stack owns them)."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Give this stack its own names in Pulumi.<stack>.yaml: snowflakeDatabase, snowflakeWarehouse, "
        "snowflakeServiceNamePrefix, estuaryPrefix, mcpNamespace and gpuPoolName."
    ),
    config_schema=PolicyConfigSchema(
        properties={
            "otherStack": {"type": "string", "description": "The stack whose names are listed."},
            "snowflakeObjects": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Account-wide Snowflake identifiers of the other stack -> what each is.",
            },
            "estuaryPrefixes": {"type": "array", "items": {"type": "string"}},
            "namespaces": {"type": "array", "items": {"type": "string"}},
            "lambdaInstancePrefixes": {"type": "array", "items": {"type": "string"}},
        }
    ),
)
