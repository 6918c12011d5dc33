"""production-data-protected: a production Snowflake database survives a stack operation and has Time Travel.

`protect` makes the engine refuse to delete (or replace by deleting) the database; Time Travel
(`DATA_RETENTION_TIME_IN_DAYS` >= 1) is what lets `UNDROP` and clones recover data within the window
(docs.snowflake.com, "Understanding & using Time Travel"). The stack is the pack process's own
(`pulumi.get_stack()`, set by the CLI through PULUMI_STACK).
"""

from __future__ import annotations

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .known import UNKNOWN, resolve_unknowns
from .resources import SNOWFLAKE_DATABASE, describe

NAME = "production-data-protected"
DEFAULT_STACKS = ("production",)
DEFAULT_MINIMUM_RETENTION_DAYS = 1


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != SNOWFLAKE_DATABASE:
        return
    config = args.get_config()
    stacks = config.get("stacks") or list(DEFAULT_STACKS)
    # Config numbers arrive as floats (protobuf Struct); a whole number reads better in messages.
    minimum = int(config.get("minimumRetentionDays", DEFAULT_MINIMUM_RETENTION_DAYS))
    resource = describe(args.resource_type, args.name)
    stack = pulumi.get_stack()
    if stack and stack not in stacks:
        args.not_applicable(f"stack {stack!r} is not one of the protected stacks {stacks}")
    # No stack name means the pack was started without PULUMI_STACK; "not production" would be a guess.
    on_stack = f"on stack {stack!r}" if stack else "on a stack the pack was not told (PULUMI_STACK unset)"
    if not args.opts.protect:
        report_violation(
            f"{resource}: is not protected {on_stack}; a stack destroy or a replacing change would drop it. "
            "Create it with ResourceOptions(protect=True)",
            None,
        )
    props = resolve_unknowns(args.props)
    days = props.get("dataRetentionTimeInDays")
    if days is UNKNOWN:
        report_violation(
            f"{resource}: dataRetentionTimeInDays is not known during preview, so its Time Travel window "
            "cannot be verified; set it from stack config",
            None,
        )
    elif days is None:
        report_violation(
            f"{resource}: dataRetentionTimeInDays is not set, so the account default applies (0 on Standard "
            f"edition: no Time Travel, no UNDROP); set data_retention_time_in_days to at least {minimum}",
            None,
        )
    elif isinstance(days, bool) or not isinstance(days, (int, float)) or days < minimum:
        report_violation(
            f"{resource}: dataRetentionTimeInDays is {days!r}; production data needs a Time Travel window "
            f"of at least {minimum} day(s) so a dropped or damaged table can be recovered",
            None,
        )
    if props.get("isTransient") is True:
        report_violation(
            f"{resource}: isTransient is true; a transient database has no Fail-safe and at most 1 day of "
            "Time Travel, which production data must not rely on",
            None,
        )


production_data_protected = ResourceValidationPolicy(
    name=NAME,
    description=(
        "On production stacks every Snowflake database is protected (protect=True) and keeps Time Travel "
        "(dataRetentionTimeInDays >= 1), so no stack operation can drop production data beyond recovery."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Create the database with opts=ResourceOptions(protect=True) (retain_on_delete=True as well keeps "
        "it if the resource is ever removed from the program) and data_retention_time_in_days >= 1 (up to "
        "90 on Enterprise edition); do not make it transient."
    ),
    config_schema=PolicyConfigSchema(
        properties={
            "stacks": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(DEFAULT_STACKS),
                "description": "Stacks whose databases must be protected.",
            },
            "minimumRetentionDays": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MINIMUM_RETENTION_DAYS,
                "description": "Smallest acceptable dataRetentionTimeInDays.",
            },
        }
    ),
)
