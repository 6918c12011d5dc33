"""McpServers: every MCP server as one Helm release of charts/sophia-mcp on the GPU pool, behind one Ingress.

Each server replica gets exactly one `nvidia.com/gpu` time slice of the pool, is scheduled onto the pool
(node selector, taint toleration, RuntimeClass), reads its Snowflake connection settings from one Secret by
reference and its private key from a file mounted from another, and is published at
`https://<host>/<server>/mcp`.

Argument names follow pulumi-kubernetes 4.x (`pulumi_kubernetes/helm/v3/Release.py` `ReleaseArgs`,
`networking/v1/_inputs.py` `IngressSpecArgs`/`HTTPIngressPathArgs`, `core/v1/Secret.py`). The Ingress is
written for ingress-nginx, the production IngressClass (`nginx`); its annotations are that controller's.

Why one slice and never more: time-slicing gives no proportional compute (a pod holding 2 slices gets no more
of the GPU than a pod holding 1), so the pool always sets `failRequestsGreaterThanOne: true` and the device
plugin refuses any larger request at admission with UnexpectedAdmissionError (NVIDIA k8s-device-plugin README,
"With CUDA Time-Slicing"). A server's `gpuShare` is therefore exactly `1 / gpuPoolTimeSlicingReplicas`; a
different share is refused here, while it is still only config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as kubernetes
import yaml

from components.config import PROJECT, McpConfig, McpServerConfig, StackConfigError
from components.gpu_node_pool import pool_config_error
from domain.gpu import GPU_RESOURCE, GpuPoolScheduling, slices_for_share
from domain.gpu_pool import PoolPlanError, ServerDemand, check_capacity, server_demand

if TYPE_CHECKING:
    from components.snowflake_platform import SnowflakeNames, SnowflakePlatform

COMPONENT_TYPE = "sophia:index:McpServers"

CHART_NAME = "sophia-mcp"
# Relative to the project directory, where Pulumi runs the program and the kubernetes provider: an
# absolute path would differ between a laptop and CI and show as a diff on every release
# (pulumi/pulumi-kubernetes#2573).
CHART_PATH = f"charts/{CHART_NAME}"
CHART_DIR = Path(__file__).resolve().parent.parent / CHART_PATH


def _chart_version(chart_dir: Path) -> str:
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    return str(chart["version"])


# A local chart's templates are not Release inputs; the provider resolves `version` during Check and
# upgrades when it changes (pulumi/pulumi-kubernetes#2672), so bumping Chart.yaml's version is what rolls a
# chart change out, and it shows in review.
CHART_VERSION = _chart_version(CHART_DIR)

SNOWFLAKE_SECRET_NAME = "sophia-mcp-snowflake"  # noqa: S105 - the Kubernetes Secret's name, not a value
# The private key has a Secret of its own, mounted as a file (the chart's snowflakeKey): in the settings
# Secret, envFrom would hand it to every process of the pod as an environment variable.
SNOWFLAKE_KEY_SECRET_NAME = "sophia-mcp-snowflake-key"  # noqa: S105 - a Secret's name, not a value
SNOWFLAKE_KEY_FILE = "rsa_key.p8"  # the chart's sophia-mcp.snowflakeKeyFile
INGRESS_NAME = "sophia-mcp"
# The namespace the NetworkPolicy admits traffic from: ingress-nginx's own, since the production
# IngressClass is `nginx` (the chart's default, kube-system, fits k3s's bundled Traefik instead).
DEFAULT_INGRESS_CONTROLLER_NAMESPACE = "ingress-nginx"
# Where Prometheus runs (kube-prometheus-stack's namespace): the only one a server's metrics port admits.
DEFAULT_METRICS_SCRAPER_NAMESPACE = "monitoring"
METRICS_PATH = "/metrics"

MCP_PATH = "/mcp"
MCP_TRANSPORT = "streamable-http"

# The stack config carries no per-server sizing. An MCP server is a small HTTP process whose heavy state
# (model weights) sits in GPU memory, which these numbers do not count.
CPU_REQUEST = "250m"
CPU_LIMIT = "2"
MEMORY_REQUEST = "1Gi"
MEMORY_LIMIT = "4Gi"

# Helm refuses longer release names (it suffixes them in the objects it stores per revision).
MAX_RELEASE_NAME_LENGTH = 53
# Long enough for a GPU image pull plus the chart's five-minute startup probe window.
RELEASE_TIMEOUT_SECONDS = 900
# Every Helm revision is a Secret in the namespace; keep enough to roll back, not the whole history.
RELEASE_MAX_HISTORY = 10

# ingress-nginx annotations (kubernetes/ingress-nginx docs/user-guide/nginx-configuration/annotations.md).
INGRESS_NGINX_ANNOTATIONS = {
    # Every server serves the protocol at MCP_PATH; the public path carries the server's name in front of
    # it. ingress-nginx rewrites the whole matched URI to the target (its `rewrite "(?i)<path>" <target>`).
    "nginx.ingress.kubernetes.io/rewrite-target": MCP_PATH,
    # No cookie affinity: MCP sessions (Mcp-Session-Id) live in one replica, but programmatic clients keep
    # no cookie jar, and ingress-nginx's sticky balancer would override the edge's `upstream-hash-by`
    # (balancer.lua `get_implementation`), which keeps a caller's sessions on one replica
    # (domain.mcp_edge.SESSION_HASH_KEY).
    # A Streamable HTTP GET holds an event stream open between server messages; nginx's 60 s default read
    # timeout would cut every quiet stream ("Custom timeouts").
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
    # Server-sent events must reach the client as they are written, not when a buffer fills.
    "nginx.ingress.kubernetes.io/proxy-buffering": "off",
}


@dataclass(frozen=True)
class SnowflakeConnection:
    """What an MCP server needs to reach Snowflake as its own service user, with key-pair auth."""

    host: pulumi.Input[str]
    account: pulumi.Input[str]
    database: pulumi.Input[str]
    warehouse: pulumi.Input[str]
    schema: pulumi.Input[str]
    role: pulumi.Input[str]
    user: pulumi.Input[str]
    private_key: pulumi.Input[str]

    @classmethod
    def from_platform(
        cls, platform: SnowflakePlatform, private_key: pulumi.Input[str]
    ) -> SnowflakeConnection:
        """The connection to what SnowflakePlatform created, as its outputs."""
        return cls(
            host=platform.host,
            account=platform.account_identifier,
            database=platform.database,
            warehouse=platform.warehouse,
            schema=platform.app_schema,
            role=platform.mcp.role,
            user=platform.mcp.user,
            private_key=private_key,
        )

    @classmethod
    def from_names(cls, names: SnowflakeNames, private_key: pulumi.Input[str]) -> SnowflakeConnection:
        """The connection as the stack config names it, for programs that deploy without SnowflakePlatform."""
        return cls(
            host=names.host,
            account=names.account_identifier,
            database=names.database,
            warehouse=names.warehouse,
            schema=names.app_schema,
            role=names.mcp_role,
            user=names.mcp_user,
            private_key=private_key,
        )


@dataclass(frozen=True)
class McpServersArgs:
    """The servers, the pool they run on and their Snowflake connection.

    The Kubernetes provider is not an argument: pass it as `opts.provider`, as for any resource.
    """

    config: McpConfig
    scheduling: GpuPoolScheduling
    snowflake: SnowflakeConnection
    ingress_controller_namespace: str = DEFAULT_INGRESS_CONTROLLER_NAMESPACE
    metrics_scraper_namespace: str = DEFAULT_METRICS_SCRAPER_NAMESPACE
    # Who may call the servers: the edge's authentication annotations (domain.mcp_edge), added to the
    # Ingress's own. The pack refuses an MCP Ingress without them.
    ingress_annotations: Mapping[str, str] = field(default_factory=dict)
    # What must exist before a server can schedule: the GPU pool's `ready` resource, created only once
    # every pool node has joined, is Ready and advertises its nvidia.com/gpu slices (components/pool_node.py
    # waits for that, bounded). A component's own depends_on is not sent with its children's registrations,
    # so the releases take it themselves; an atomic release would otherwise wait for GPU slices and roll back.
    gpu_pool_ready: pulumi.Resource | None = None


def check_release_names(servers: Sequence[McpServerConfig]) -> None:
    """Each server's name becomes its Helm release name, which Helm caps below a DNS label's 63."""
    for index, server in enumerate(servers):
        if len(server.name) > MAX_RELEASE_NAME_LENGTH:
            raise StackConfigError(
                f"{PROJECT}:mcpServers[{index}].name {server.name!r} has {len(server.name)} characters; it "
                f"names the server's Helm release, which may have at most {MAX_RELEASE_NAME_LENGTH}"
            )


def check_gpu_capacity(
    servers: Sequence[McpServerConfig], scheduling: GpuPoolScheduling
) -> list[ServerDemand]:
    """The servers' demand (domain/gpu_pool.py), or a StackConfigError if the pool cannot hold it."""
    try:
        demands = server_demand(servers, scheduling.replicas_per_gpu)
        check_capacity(demands, scheduling)
    except PoolPlanError as error:
        raise pool_config_error(error) from None
    return demands


def release_values(
    server: McpServerConfig,
    scheduling: GpuPoolScheduling,
    secret_name: str,
    key_secret_name: str = SNOWFLAKE_KEY_SECRET_NAME,
    ingress_controller_namespace: str = DEFAULT_INGRESS_CONTROLLER_NAMESPACE,
    metrics_scraper_namespace: str = DEFAULT_METRICS_SCRAPER_NAMESPACE,
) -> dict[str, Any]:
    """The sophia-mcp chart values for one server on the pool: plain data, known at preview.

    Policies read a release's values, never its pods, so everything they check must be here as a value.
    """
    gpu_slices = slices_for_share(server.gpu_share, scheduling.replicas_per_gpu)
    metrics = (
        {
            "metrics": {
                "enabled": True,
                "port": server.metrics_port,
                "path": METRICS_PATH,
                "scraperNamespace": metrics_scraper_namespace,
            }
        }
        if server.metrics_port is not None
        else {}
    )
    return {
        "image": {
            "repository": server.image,
            "tag": server.tag,
            **({"digest": server.digest} if server.digest else {}),
        },
        "replicaCount": server.replicas,
        "mcp": {"path": MCP_PATH},
        "service": {"port": server.port},
        "resources": {
            # Kubernetes never overcommits an extended resource: the GPU request must equal the limit.
            "requests": {"cpu": CPU_REQUEST, "memory": MEMORY_REQUEST, GPU_RESOURCE: gpu_slices},
            "limits": {"cpu": CPU_LIMIT, "memory": MEMORY_LIMIT, GPU_RESOURCE: gpu_slices},
        },
        "nodeSelector": dict(scheduling.node_selector),
        "tolerations": [dict(toleration) for toleration in scheduling.tolerations],
        "runtimeClassName": scheduling.runtime_class,
        "secretName": secret_name,
        "snowflakeKey": {"secretName": key_secret_name},
        "env": [
            {"name": "MCP_TRANSPORT", "value": MCP_TRANSPORT},
            {"name": "MCP_PATH", "value": MCP_PATH},
        ],
        # One pod at a time may be evicted. A single replica gets no budget: it would block every drain.
        "podDisruptionBudget": (
            {"enabled": True, "minAvailable": server.replicas - 1}
            if server.replicas > 1
            else {"enabled": False}
        ),
        # Each replica holds GPU slices the capacity check counted; an autoscaler would add pods past it.
        "autoscaling": {"enabled": False},
        "networkPolicy": {"enabled": True, "ingressControllerNamespace": ingress_controller_namespace},
        **metrics,
    }


class McpServers(pulumi.ComponentResource):
    """The MCP servers: namespace, Snowflake Secret, one Helm release per server and the Ingress."""

    endpoints: dict[str, str]
    ingress_name: str
    ingress_controller_namespace: str
    namespace: pulumi.Output[str]
    releases: pulumi.Output[list[str]]

    def __init__(self, name: str, args: McpServersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        config = args.config
        # Before anything is registered: these are config mistakes, not reasons for a half-deployed stack.
        check_release_names(config.servers)
        check_gpu_capacity(config.servers, args.scheduling)
        super().__init__(COMPONENT_TYPE, name, None, opts)
        if self.get_provider("kubernetes:core/v1:Namespace") is None:
            raise ValueError(
                f"McpServers {name!r} needs an explicit Kubernetes provider in opts.provider; without one it "
                "would deploy to whatever cluster the ambient kubeconfig points at"
            )

        namespace = kubernetes.core.v1.Namespace(
            f"{name}-namespace",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=config.namespace,
                labels={
                    f"pod-security.kubernetes.io/{mode}": "restricted"
                    for mode in ("enforce", "audit", "warn")
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        namespace_name = namespace.metadata.name

        snowflake = args.snowflake
        secret = kubernetes.core.v1.Secret(
            f"{name}-snowflake",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=SNOWFLAKE_SECRET_NAME, namespace=namespace_name),
            type="Opaque",
            # The whole map is secret, not only the key: account, user and role are reconnaissance too. (The
            # Secret class also marks its data/stringData outputs secret; this keeps the inputs secret.)
            string_data=pulumi.Output.secret(
                {
                    "SNOWFLAKE_HOST": snowflake.host,
                    "SNOWFLAKE_ACCOUNT": snowflake.account,
                    "SNOWFLAKE_DATABASE": snowflake.database,
                    "SNOWFLAKE_WAREHOUSE": snowflake.warehouse,
                    "SNOWFLAKE_SCHEMA": snowflake.schema,
                    "SNOWFLAKE_ROLE": snowflake.role,
                    "SNOWFLAKE_USER": snowflake.user,
                    "SNOWFLAKE_AUTHENTICATOR": "SNOWFLAKE_JWT",
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        key = kubernetes.core.v1.Secret(
            f"{name}-snowflake-key",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=SNOWFLAKE_KEY_SECRET_NAME, namespace=namespace_name
            ),
            type="Opaque",
            string_data=pulumi.Output.secret({SNOWFLAKE_KEY_FILE: snowflake.private_key}),
            opts=pulumi.ResourceOptions(parent=self),
        )

        pool = [args.gpu_pool_ready] if args.gpu_pool_ready is not None else []
        releases = [
            kubernetes.helm.v3.Release(
                f"{name}-{server.name}",
                name=server.name,
                chart=CHART_PATH,
                version=CHART_VERSION,
                namespace=namespace_name,
                values=release_values(
                    server,
                    args.scheduling,
                    SNOWFLAKE_SECRET_NAME,
                    SNOWFLAKE_KEY_SECRET_NAME,
                    args.ingress_controller_namespace,
                    args.metrics_scraper_namespace,
                ),
                # atomic: a rollout that never becomes ready (crash loop, unpullable image, no free GPU
                # slice) is rolled back and fails `pulumi up`, instead of reporting success over broken
                # pods as skip_await would. It waits, so skip_await is off by construction.
                atomic=True,
                cleanup_on_fail=True,
                timeout=RELEASE_TIMEOUT_SECONDS,
                max_history=RELEASE_MAX_HISTORY,
                # The pods load the settings with envFrom and mount the key: neither can be missing at start.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[secret, key, *pool]),
            )
            for server in config.servers
        ]

        kubernetes.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=INGRESS_NAME,
                namespace=namespace_name,
                annotations={**INGRESS_NGINX_ANNOTATIONS, **args.ingress_annotations},
            ),
            spec=kubernetes.networking.v1.IngressSpecArgs(
                ingress_class_name=config.ingress_class,
                tls=[
                    kubernetes.networking.v1.IngressTLSArgs(
                        hosts=[config.ingress_host], secret_name=config.ingress_tls_secret
                    )
                ],
                rules=[
                    kubernetes.networking.v1.IngressRuleArgs(
                        host=config.ingress_host,
                        http=kubernetes.networking.v1.HTTPIngressRuleValueArgs(
                            paths=[_server_path(server) for server in config.servers]
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.endpoints = {
            server.name: f"https://{config.ingress_host}{public_path(server.name)}"
            for server in config.servers
        }
        self.namespace = namespace_name
        self.ingress_name = INGRESS_NAME
        self.ingress_controller_namespace = args.ingress_controller_namespace
        self.releases = pulumi.Output.all(*[release.name for release in releases]).apply(
            lambda names: [str(release_name) for release_name in names]
        )
        self.register_outputs(
            {"endpoints": self.endpoints, "namespace": self.namespace, "releases": self.releases}
        )


def public_path(server_name: str) -> str:
    return f"/{server_name}{MCP_PATH}"


def service_name(release_name: str) -> str:
    """The Service the chart names for a release: its `sophia-mcp.fullname` helper, mirrored."""
    full_name = release_name if CHART_NAME in release_name else f"{release_name}-{CHART_NAME}"
    return full_name[:63].removesuffix("-")


def _server_path(server: McpServerConfig) -> kubernetes.networking.v1.HTTPIngressPathArgs:
    return kubernetes.networking.v1.HTTPIngressPathArgs(
        path=public_path(server.name),
        # Exact: Streamable HTTP is one endpoint, and nothing else the server serves (health, metrics) is
        # meant to be public. ingress-nginx matches by regex once rewrite-target is set, but rewrites every
        # match onto MCP_PATH, so the contract holds there too.
        path_type="Exact",
        backend=kubernetes.networking.v1.IngressBackendArgs(
            service=kubernetes.networking.v1.IngressServiceBackendArgs(
                name=service_name(server.name),
                port=kubernetes.networking.v1.ServiceBackendPortArgs(number=server.port),
            )
        ),
    )
