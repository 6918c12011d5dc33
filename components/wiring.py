"""How the stack's components are wired together, shared by `__main__.py` and the engine tests' program.

`plan_stack` turns the stack config into every plan, so anything wrong with it stops the program before a
resource is registered. `deploy_gpu_pool` and `deploy_mcp_side` register the cluster half: the GPU pool, the
MCP servers, the edge that authenticates their callers and the monitoring that watches them. Snowflake and
Estuary stay in `__main__.py`: the MCP servers take their Snowflake connection as an argument
(SnowflakePlatform's outputs there; the names it would create in
testkit/harness/cluster_program.py, which runs this same wiring against a real API server without the
Snowflake plugin or flowctl).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.config import StackConfig
from components.estuary_flow import plan_catalog
from components.gpu_node_pool import OPERATOR_NAMESPACE, GpuNodePool, GpuNodePoolArgs, plan_gpu_pool
from components.ingress_certificate import IngressCertificate, IngressCertificateArgs
from components.mcp_auth import McpAuth, McpAuthArgs, edge_auth
from components.mcp_servers import CHART_NAME, METRICS_PATH, McpServers, McpServersArgs, SnowflakeConnection
from components.monitoring import McpMetricsEndpoint, Monitoring, MonitoringArgs
from components.snowflake_platform import SnowflakeNames, snowflake_names
from domain.estuary.models import Catalog
from domain.gpu_pool import GpuPoolPlan
from domain.mcp_edge import EdgeAuth, external_auth_annotations
from domain.slo import Objectives, WatchedTargets, duration_minutes, objectives_table


@dataclass(frozen=True)
class StackPlan:
    """Everything decided from config alone, before any resource exists."""

    config: StackConfig
    gpu_plan: GpuPoolPlan
    snowflake_names: SnowflakeNames
    estuary_catalog: Catalog
    # Who may call an MCP server: a bearer token of the team's issuer, checked at the edge for every server.
    edge: EdgeAuth
    objectives: Objectives


def plan_stack(config: StackConfig) -> StackPlan:
    """Size the pool, build the Estuary catalog and the edge, set the objectives; raise on any mistake."""
    names = snowflake_names(config.snowflake)
    return StackPlan(
        config=config,
        gpu_plan=plan_gpu_pool(config.gpu_pool, list(config.mcp.servers), config.lambda_cloud.region),
        snowflake_names=names,
        estuary_catalog=plan_catalog(config.estuary, names),
        edge=edge_auth(config.mcp, config.mcp_auth),
        objectives=config.monitoring.objectives(duration_minutes(config.estuary.sync_frequency)),
    )


def cluster_provider(plan: StackPlan) -> kubernetes.Provider:
    """The one Kubernetes provider every cluster component gets, as its `provider` option."""
    return kubernetes.Provider("cluster", kubeconfig=plan.config.cluster.kubeconfig)


def deploy_gpu_pool(plan: StackPlan, cluster: kubernetes.Provider) -> GpuNodePool:
    config = plan.config
    return GpuNodePool(
        "gpu-pool",
        GpuNodePoolArgs(plan.gpu_plan, config.lambda_cloud, config.cluster),
        opts=pulumi.ResourceOptions(provider=cluster),
    )


@dataclass(frozen=True)
class McpSide:
    servers: McpServers
    certificate: IngressCertificate
    auth: McpAuth
    monitoring: Monitoring


def deploy_mcp_side(
    plan: StackPlan,
    cluster: kubernetes.Provider,
    gpu_pool: GpuNodePool,
    snowflake: SnowflakeConnection,
    depends_on: Sequence[pulumi.Resource] = (),
) -> McpSide:
    """The MCP servers on the pool, their authenticated edge, and the monitoring of both and of Estuary."""
    config = plan.config
    servers = McpServers(
        "mcp",
        McpServersArgs(
            config=config.mcp,
            scheduling=gpu_pool.scheduling,
            gpu_pool_ready=gpu_pool.ready,
            metrics_scraper_namespace=config.monitoring.namespace,
            ingress_annotations=external_auth_annotations(plan.edge),
            snowflake=snowflake,
        ),
        opts=pulumi.ResourceOptions(provider=cluster, depends_on=list(depends_on)),
    )
    # The one certificate both MCP Ingresses (the servers' and the metadata's) serve for the host.
    certificate = IngressCertificate(
        "mcp-tls",
        IngressCertificateArgs(
            namespace=servers.namespace,
            secret_name=config.mcp.ingress_tls_secret,
            host=config.mcp.ingress_host,
            issuer=config.mcp.ingress_cert_issuer,
            certificate_pem=config.mcp.ingress_tls_cert,
            private_key_pem=config.mcp.ingress_tls_key,
        ),
        opts=pulumi.ResourceOptions(provider=cluster),
    )
    auth = McpAuth(
        "mcp-auth",
        McpAuthArgs(
            edge=plan.edge,
            namespace=servers.namespace,
            ingress_class=config.mcp.ingress_class,
            tls_secret=config.mcp.ingress_tls_secret,
            client_secret=config.mcp_auth.client_secret,
            cookie_secret=config.mcp_auth.cookie_secret,
            issuer_ca_bundle=config.mcp_auth.issuer_ca_bundle,
        ),
        opts=pulumi.ResourceOptions(provider=cluster),
    )
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            namespace=config.monitoring.namespace,
            selector_labels=config.monitoring.labels,
            objectives=plan.objectives,
            targets=WatchedTargets(
                mcp_namespace=config.mcp.namespace,
                mcp_ingress=servers.ingress_name,
                mcp_service_suffix=f"-{CHART_NAME}",
                estuary_materialization=plan.estuary_catalog.materializations[0].name,
                estuary_tenant=config.estuary.tenant + config.estuary.prefix,
            ),
            gpu_operator_namespace=OPERATOR_NAMESPACE,
            ingress_controller_namespace=servers.ingress_controller_namespace,
            estuary_metrics_token=config.monitoring.estuary_metrics_token,
            mcp_metrics=[
                McpMetricsEndpoint(release=server.name, path=METRICS_PATH)
                for server in config.mcp.servers
                if server.metrics_port is not None
            ],
        ),
        opts=pulumi.ResourceOptions(provider=cluster),
    )
    return McpSide(servers=servers, certificate=certificate, auth=auth, monitoring=monitoring)


def export_cluster_outputs(plan: StackPlan, side: McpSide) -> None:
    pulumi.export("gpuPlan", plan.gpu_plan.to_output())
    pulumi.export("mcpEndpoints", side.servers.endpoints)
    pulumi.export("objectives", [list(row) for row in objectives_table(plan.objectives)])
