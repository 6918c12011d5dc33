"""snowflake-users-network-restricted: every Snowflake user the stack manages has a network policy attached.

Without one, a user accepts a valid credential from any address on the internet. The policy is attached
through the user's own `networkPolicy` (the NETWORK_POLICY user parameter, docs.snowflake.com "Controlling
network traffic with network policies"); `NetworkPolicyAttachment` does not count, because the provider
advises it only for users it does not manage (terraform-provider-snowflake
docs/resources/network_policy_attachment.md), and a managed user's own field is what the engine keeps in
step with the user.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .known import UNKNOWN, resolve_unknowns
from .resources import describe

NAME = "snowflake-users-network-restricted"
# Every pulumi-snowflake 2.x resource that creates a Snowflake user.
SNOWFLAKE_USER_TYPES = frozenset(
    {
        "snowflake:index/serviceUser:ServiceUser",
        "snowflake:index/legacyServiceUser:LegacyServiceUser",
        "snowflake:index/user:User",
    }
)
FIX = (
    "create a snowflake.NetworkRule (type IPV4, mode INGRESS) with the addresses its consumer connects "
    "from and a snowflake.NetworkPolicy that allows only that rule, then set network_policy=<policy>.name "
    "on the user"
)


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in SNOWFLAKE_USER_TYPES:
        return
    props = resolve_unknowns(args.props)
    user_name = props.get("name")
    user = f"Snowflake user {user_name}" if isinstance(user_name, str) else "the Snowflake user"
    resource = f"{describe(args.resource_type, args.name)} ({user})"
    policy = props.get("networkPolicy")
    if policy is UNKNOWN:
        report_violation(
            f"{resource}: networkPolicy is not known during preview, so whether a network policy is attached "
            "cannot be verified; set it from the NetworkPolicy's name, which preview knows",
            None,
        )
    elif not isinstance(policy, str) or not policy.strip():
        report_violation(
            f"{resource}: has no network policy attached, so a valid key or password signs in from any "
            f"address on the internet; {FIX}",
            None,
        )


snowflake_users_network_restricted = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Every Snowflake user the stack manages (ServiceUser, LegacyServiceUser, User) has a network policy "
        "attached through its networkPolicy, so it signs in only from known addresses."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=(
        "Give the user a network policy: "
        + FIX
        + ". SECURITYADMIN creates the policy, and the role that sets it on a user must own it."
    ),
)
