"""McpAuth: the edge that decides who may call an MCP server (docs/mcp-auth.md).

oauth2-proxy answers ingress-nginx's auth subrequests (bearer JWTs of the team's issuer, for the MCP
audience, from an allowed group), and a small nginx serves the RFC 9728 protected-resource metadata and the
401 challenge that points at it. What they run is plain data from `domain.mcp_edge`, so the loopback test in
tests/edge runs the real oauth2-proxy and nginx with exactly these flags and this config.

Plain Kubernetes objects with pinned images, not the oauth2-proxy Helm chart: the chart repository is out of
reach of the build machines, so neither `pulumi preview` nor the offline gate could render a pinned chart,
and the pack would see a Release's values instead of the Deployment it checks field by field. Argument names
follow pulumi-kubernetes 4.x (`apps/v1/Deployment.py`, `core/v1/_inputs.py`, `networking/v1/_inputs.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.config import McpAuthConfig, McpConfig
from components.mcp_servers import DEFAULT_INGRESS_CONTROLLER_NAMESPACE, public_path
from components.versions import METADATA_NGINX_IMAGE, OAUTH2_PROXY_IMAGE
from domain.mcp_edge import (
    CLIENT_SECRET_FILE,
    COOKIE_SECRET_FILE,
    ISSUER_CA_DIR,
    ISSUER_CA_FILE,
    METADATA_PORT,
    METADATA_PREFIX,
    METADATA_SERVICE_NAME,
    OAUTH2_PROXY_NAME,
    OAUTH2_PROXY_PING_PATH,
    OAUTH2_PROXY_PORT,
    OAUTH2_PROXY_READY_PATH,
    OAUTH2_PROXY_SECRETS_DIR,
    EdgeAuth,
    metadata_server_config,
    oauth2_proxy_args,
)

COMPONENT_TYPE = "sophia:index:McpAuth"
REPLICAS = 2
# The images' own unprivileged users: oauth2-proxy's runtime image is gcr.io/distroless/static:nonroot (its
# Makefile, DOCKER_BUILD_RUNTIME_IMAGE), nginx-unprivileged runs as `nginx`.
OAUTH2_PROXY_UID = 65532
ISSUER_CA_CONFIG_MAP = "oauth2-proxy-issuer-ca"
NGINX_UID = 101


def edge_auth(mcp: McpConfig, auth: McpAuthConfig) -> EdgeAuth:
    """The edge's settings from stack config: the host and paths the servers are published on, the issuer."""
    return EdgeAuth(
        host=mcp.ingress_host,
        namespace=mcp.namespace,
        issuer_url=auth.issuer_url,
        audience=auth.audience,
        allowed_groups=tuple(auth.allowed_groups),
        groups_claim=auth.groups_claim,
        server_paths=tuple(public_path(server.name) for server in mcp.servers),
    )


@dataclass(frozen=True)
class McpAuthArgs:
    """The edge's settings, the namespace it runs in (the MCP servers', where their Ingress looks up the
    metadata Service as its default backend), the ingress setup and oauth2-proxy's secrets from ESC."""

    edge: EdgeAuth
    namespace: pulumi.Input[str]
    ingress_class: str
    tls_secret: str
    client_secret: pulumi.Input[str]
    cookie_secret: pulumi.Input[str]
    # PEM CA certificates of the issuer's TLS: oauth2-proxy trusts only these for discovery and the JWKS.
    issuer_ca_bundle: str
    # The only namespace that may talk to the edge's pods: ingress-nginx's, which sends the auth subrequests
    # and the 401s to them (the MCP servers' own NetworkPolicy admits it alone as well).
    ingress_controller_namespace: str = DEFAULT_INGRESS_CONTROLLER_NAMESPACE


def _hardened(uid: int) -> kubernetes.core.v1.SecurityContextArgs:
    # What Pod Security "restricted" (the MCP namespace's level) demands, and a read-only root.
    return kubernetes.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        capabilities=kubernetes.core.v1.CapabilitiesArgs(drop=["ALL"]),
        read_only_root_filesystem=True,
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        seccomp_profile=kubernetes.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def _http_probe(path: str, port: str) -> kubernetes.core.v1.ProbeArgs:
    return kubernetes.core.v1.ProbeArgs(
        http_get=kubernetes.core.v1.HTTPGetActionArgs(path=path, port=port), period_seconds=10
    )


def _resources(cpu: str, memory: str) -> kubernetes.core.v1.ResourceRequirementsArgs:
    return kubernetes.core.v1.ResourceRequirementsArgs(
        requests={"cpu": cpu, "memory": memory}, limits={"memory": memory}
    )


class McpAuth(pulumi.ComponentResource):
    """oauth2-proxy and the metadata service beside the MCP servers, and the metadata's public route."""

    auth_service: pulumi.Output[str]
    metadata_service: pulumi.Output[str]

    def __init__(self, name: str, args: McpAuthArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        edge = args.edge
        # Refuses an edge without allowed groups before anything is registered.
        proxy_args = oauth2_proxy_args(edge)
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def metadata(resource_name: str, app: str) -> kubernetes.meta.v1.ObjectMetaArgs:
            return kubernetes.meta.v1.ObjectMetaArgs(
                name=resource_name, namespace=args.namespace, labels=_labels(app)
            )

        secret = kubernetes.core.v1.Secret(
            f"{name}-oauth2-proxy",
            metadata=metadata(OAUTH2_PROXY_NAME, OAUTH2_PROXY_NAME),
            type="Opaque",
            string_data=pulumi.Output.secret(
                {CLIENT_SECRET_FILE: args.client_secret, COOKIE_SECRET_FILE: args.cookie_secret}
            ),
            opts=child,
        )
        issuer_ca = kubernetes.core.v1.ConfigMap(
            f"{name}-issuer-ca",
            metadata=metadata(ISSUER_CA_CONFIG_MAP, OAUTH2_PROXY_NAME),
            data={ISSUER_CA_FILE: args.issuer_ca_bundle},
            opts=child,
        )
        proxy = _deployment(
            f"{name}-oauth2-proxy",
            OAUTH2_PROXY_NAME,
            metadata,
            kubernetes.core.v1.ContainerArgs(
                name=OAUTH2_PROXY_NAME,
                image=OAUTH2_PROXY_IMAGE,
                args=proxy_args,
                ports=[kubernetes.core.v1.ContainerPortArgs(name="http", container_port=OAUTH2_PROXY_PORT)],
                liveness_probe=_http_probe(OAUTH2_PROXY_PING_PATH, "http"),
                # /ready also checks the session store; nothing here needs the issuer up.
                readiness_probe=_http_probe(OAUTH2_PROXY_READY_PATH, "http"),
                resources=_resources("50m", "64Mi"),
                security_context=_hardened(OAUTH2_PROXY_UID),
                volume_mounts=[
                    kubernetes.core.v1.VolumeMountArgs(
                        name="secrets", mount_path=OAUTH2_PROXY_SECRETS_DIR, read_only=True
                    ),
                    kubernetes.core.v1.VolumeMountArgs(
                        name="issuer-ca", mount_path=ISSUER_CA_DIR, read_only=True
                    ),
                ],
            ),
            volumes=[
                kubernetes.core.v1.VolumeArgs(
                    name="secrets",
                    secret=kubernetes.core.v1.SecretVolumeSourceArgs(secret_name=OAUTH2_PROXY_NAME),
                ),
                kubernetes.core.v1.VolumeArgs(
                    name="issuer-ca",
                    config_map=kubernetes.core.v1.ConfigMapVolumeSourceArgs(name=ISSUER_CA_CONFIG_MAP),
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret, issuer_ca]),
        )
        auth_service = _service(f"{name}-oauth2-proxy", OAUTH2_PROXY_NAME, OAUTH2_PROXY_PORT, metadata, child)

        nginx_config = kubernetes.core.v1.ConfigMap(
            f"{name}-metadata",
            metadata=metadata(METADATA_SERVICE_NAME, METADATA_SERVICE_NAME),
            data={"default.conf": metadata_server_config(edge)},
            opts=child,
        )
        _deployment(
            f"{name}-metadata",
            METADATA_SERVICE_NAME,
            metadata,
            kubernetes.core.v1.ContainerArgs(
                name="nginx",
                image=METADATA_NGINX_IMAGE,
                ports=[kubernetes.core.v1.ContainerPortArgs(name="http", container_port=METADATA_PORT)],
                readiness_probe=_http_probe(METADATA_PREFIX + edge.server_paths[0], "http"),
                resources=_resources("20m", "32Mi"),
                security_context=_hardened(NGINX_UID),
                volume_mounts=[
                    kubernetes.core.v1.VolumeMountArgs(
                        name="config", mount_path="/etc/nginx/conf.d", read_only=True
                    ),
                    # The image keeps its pid file and temp files in /tmp.
                    kubernetes.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),  # noqa: S108
                ],
            ),
            volumes=[
                kubernetes.core.v1.VolumeArgs(
                    name="config",
                    config_map=kubernetes.core.v1.ConfigMapVolumeSourceArgs(name=METADATA_SERVICE_NAME),
                ),
                kubernetes.core.v1.VolumeArgs(
                    name="tmp", empty_dir=kubernetes.core.v1.EmptyDirVolumeSourceArgs()
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[nginx_config]),
        )
        metadata_service = _service(f"{name}-metadata", METADATA_SERVICE_NAME, METADATA_PORT, metadata, child)

        kubernetes.networking.v1.NetworkPolicy(
            f"{name}-ingress-controller-only",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=_EDGE, namespace=args.namespace, labels={_PART_OF: _EDGE}
            ),
            spec=kubernetes.networking.v1.NetworkPolicySpecArgs(
                pod_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels={_PART_OF: _EDGE}),
                policy_types=["Ingress"],
                ingress=[
                    kubernetes.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[
                            kubernetes.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=kubernetes.meta.v1.LabelSelectorArgs(
                                    match_labels={
                                        "kubernetes.io/metadata.name": args.ingress_controller_namespace
                                    }
                                )
                            )
                        ],
                        ports=[kubernetes.networking.v1.NetworkPolicyPortArgs(port="http", protocol="TCP")],
                    )
                ],
            ),
            opts=child,
        )

        # The metadata is public by design (RFC 9728): it is how a client learns where to get a token. Only
        # the well-known prefix is routed, never a server's own path.
        kubernetes.networking.v1.Ingress(
            f"{name}-metadata",
            metadata=metadata(METADATA_SERVICE_NAME, METADATA_SERVICE_NAME),
            spec=kubernetes.networking.v1.IngressSpecArgs(
                ingress_class_name=args.ingress_class,
                tls=[kubernetes.networking.v1.IngressTLSArgs(hosts=[edge.host], secret_name=args.tls_secret)],
                rules=[
                    kubernetes.networking.v1.IngressRuleArgs(
                        host=edge.host,
                        http=kubernetes.networking.v1.HTTPIngressRuleValueArgs(
                            paths=[
                                kubernetes.networking.v1.HTTPIngressPathArgs(
                                    path=METADATA_PREFIX,
                                    path_type="Prefix",
                                    backend=kubernetes.networking.v1.IngressBackendArgs(
                                        service=kubernetes.networking.v1.IngressServiceBackendArgs(
                                            name=METADATA_SERVICE_NAME,
                                            port=kubernetes.networking.v1.ServiceBackendPortArgs(
                                                number=METADATA_PORT
                                            ),
                                        )
                                    ),
                                )
                            ]
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[metadata_service]),
        )

        self.auth_service = auth_service.metadata.name
        self.metadata_service = metadata_service.metadata.name
        self.register_outputs(
            {
                "authService": self.auth_service,
                "metadataService": self.metadata_service,
                "oauth2ProxyDeployment": proxy.metadata.name,
            }
        )


_PART_OF = "app.kubernetes.io/part-of"
_EDGE = "sophia-mcp-edge"


def _deployment(
    resource_name: str,
    app: str,
    metadata: Callable[[str, str], kubernetes.meta.v1.ObjectMetaArgs],
    container: kubernetes.core.v1.ContainerArgs,
    volumes: list[kubernetes.core.v1.VolumeArgs],
    opts: pulumi.ResourceOptions,
) -> kubernetes.apps.v1.Deployment:
    """One of the edge's Deployments: REPLICAS pods of one container, labelled and selected by `app`."""
    return kubernetes.apps.v1.Deployment(
        resource_name,
        metadata=metadata(app, app),
        spec=kubernetes.apps.v1.DeploymentSpecArgs(
            replicas=REPLICAS,
            selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels=_labels(app)),
            template=kubernetes.core.v1.PodTemplateSpecArgs(
                metadata=kubernetes.meta.v1.ObjectMetaArgs(labels=_labels(app)),
                spec=kubernetes.core.v1.PodSpecArgs(
                    automount_service_account_token=False, containers=[container], volumes=volumes
                ),
            ),
        ),
        opts=opts,
    )


def _labels(app: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, _PART_OF: _EDGE}


def _service(
    resource_name: str,
    service_name: str,
    port: int,
    metadata: Callable[[str, str], kubernetes.meta.v1.ObjectMetaArgs],
    opts: pulumi.ResourceOptions,
) -> kubernetes.core.v1.Service:
    return kubernetes.core.v1.Service(
        resource_name,
        metadata=metadata(service_name, service_name),
        spec=kubernetes.core.v1.ServiceSpecArgs(
            selector=_labels(service_name),
            ports=[kubernetes.core.v1.ServicePortArgs(name="http", port=port, target_port="http")],
        ),
        opts=opts,
    )
