"""IngressCertificate: the owner of the TLS Secret the MCP Ingresses serve (docs/decisions/0009).

ingress-nginx answers a host whose `spec.tls` Secret does not exist with its own self-signed default
certificate, so the Secret needs an owner in the stack: a cert-manager `Certificate` when the stack names an
issuer (`mcpIngressCertIssuer`), else a `kubernetes.io/tls` Secret from the ESC certificate and key
(`mcpIngressTlsCert`, `mcpIngressTlsKey`). Certificate fields: cert-manager.io/v1 `Certificate.spec`
(`secretName`, `dnsNames`, `issuerRef` {name, kind, group}; cert-manager docs, "Certificate" concept). The
TLS Secret's keys: Kubernetes "Secrets", TLS secrets (`tls.crt`, `tls.key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.config import CertIssuer
from domain.ingress_tls import (
    CERT_MANAGER_API_VERSION,
    CERTIFICATE_KIND,
    TLS_CERT_KEY,
    TLS_KEY_KEY,
    TLS_SECRET_TYPE,
)

COMPONENT_TYPE = "sophia:index:IngressCertificate"


@dataclass(frozen=True)
class IngressCertificateArgs:
    """The Secret to provide, the host it is for, and where it comes from: an issuer, else ESC's PEMs."""

    namespace: pulumi.Input[str]
    secret_name: str
    host: str
    certificate_pem: pulumi.Input[str]
    private_key_pem: pulumi.Input[str]
    issuer: CertIssuer | None = None


def _both_given(pems: list[str]) -> Mapping[str, str]:
    certificate, key = pems
    if not certificate.strip() or not key.strip():
        raise ValueError(
            "the MCP ingress certificate has no source: set sophia-ai:mcpIngressTlsCert and "
            "sophia-ai:mcpIngressTlsKey in ESC, or sophia-ai:mcpIngressCertIssuer {kind, name} for "
            "cert-manager"
        )
    return {TLS_CERT_KEY: certificate, TLS_KEY_KEY: key}


class IngressCertificate(pulumi.ComponentResource):
    """The Secret `secret_name` in `namespace`, issued by cert-manager or written from ESC."""

    secret_name: str

    def __init__(
        self, name: str, args: IngressCertificateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.issuer is not None:
            kubernetes.apiextensions.CustomResource(
                f"{name}-certificate",
                api_version=CERT_MANAGER_API_VERSION,
                kind=CERTIFICATE_KIND,
                metadata=kubernetes.meta.v1.ObjectMetaArgs(name=args.secret_name, namespace=args.namespace),
                spec={
                    "secretName": args.secret_name,
                    "dnsNames": [args.host],
                    "issuerRef": {
                        "name": args.issuer.name,
                        "kind": args.issuer.kind,
                        "group": CERT_MANAGER_API_VERSION.split("/")[0],
                    },
                },
                opts=child,
            )
        else:
            # Empty ESC values (the keys' default) would make a Secret ingress-nginx cannot load: refuse them
            # when their values are known, before the Secret is sent.
            # Secret inputs make the result secret as well.
            pems = pulumi.Output.all(
                pulumi.Output.secret(args.certificate_pem), pulumi.Output.secret(args.private_key_pem)
            ).apply(_both_given)
            kubernetes.core.v1.Secret(
                f"{name}-secret",
                metadata=kubernetes.meta.v1.ObjectMetaArgs(name=args.secret_name, namespace=args.namespace),
                type=TLS_SECRET_TYPE,
                string_data=pems,
                opts=child,
            )
        self.secret_name = args.secret_name
        self.register_outputs({"secretName": self.secret_name})
