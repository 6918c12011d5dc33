"""ingress-tls-provided (stack policy): every TLS Secret an Ingress names is one the stack provides.

ingress-nginx serves its self-signed default certificate for a host whose `spec.tls[].secretName` does not
exist, so clients that verify the chain (every MCP client) fail, and nothing at preview shows it. A Secret
is provided by a `kubernetes.io/tls` Secret or a cert-manager `Certificate` (its `spec.secretName`) of the
same stack, in the Ingress's namespace (domain.ingress_tls). An Ingress whose name or namespace is not known
during preview is matched on what is known.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from domain.ingress_tls import (
    CERTIFICATE_RESOURCE,
    INGRESS_RESOURCE,
    provided_secret,
    served_secrets,
    unprovided,
)

from .known import resolve_unknowns
from .resources import describe

NAME = "ingress-tls-provided"


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    provided = [
        ref
        for item in args.resources
        if (ref := provided_secret(item.resource_type, resolve_unknowns(item.props))) is not None
    ]
    for item in args.resources:
        if item.resource_type != INGRESS_RESOURCE:
            continue
        for ref in unprovided(served_secrets(resolve_unknowns(item.props)), provided):
            report_violation(
                f"{describe(item.resource_type, item.name)}: spec.tls names the Secret {ref}, which "
                "nothing in the stack provides, so ingress-nginx would serve its self-signed default "
                "certificate; create it in the stack: a kubernetes.io/tls Secret (mcpIngressTlsCert and "
                f"mcpIngressTlsKey from ESC) or a {CERTIFICATE_RESOURCE.split(':', 1)[1]} with "
                f"spec.secretName {ref.name} (mcpIngressCertIssuer)",
                item.urn,
            )


ingress_tls_provided = StackValidationPolicy(
    name=NAME,
    description=(
        "Every Secret an Ingress names in spec.tls is provided by the stack: a kubernetes.io/tls Secret or a "
        "cert-manager Certificate's secretName, in the Ingress's namespace."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=(
        "Give the certificate an owner in the stack: mcpIngressTlsCert and mcpIngressTlsKey in ESC (the "
        "stack writes a kubernetes.io/tls Secret), or mcpIngressCertIssuer {kind, name} for cert-manager."
    ),
)
