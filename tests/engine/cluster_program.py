"""The stack's __main__.py minus the Snowflake and Estuary resources, for previews without their plugins.

The same configuration, plans and components, wired the same way; the MCP servers' Snowflake connection is
made of the names SnowflakePlatform would create (snowflake_names, the same function) instead of its outputs,
and the Estuary catalog is planned (the monitoring watches it) but not published (that needs the command
plugin). Copied as __main__.py into the engine project by real_engine.EngineProject; keep it in step with
__main__.py.
"""

import pulumi
import pulumi_kubernetes as kubernetes

from components.config import load_stack_config
from components.estuary_flow import plan_catalog, require_flowctl
from components.gpu_node_pool import OPERATOR_NAMESPACE, GpuNodePool, GpuNodePoolArgs, plan_gpu_pool
from components.mcp_auth import McpAuth, McpAuthArgs, edge_auth
from components.mcp_servers import CHART_NAME, METRICS_PATH, McpServers, McpServersArgs, SnowflakeConnection
from components.monitoring import McpMetricsEndpoint, Monitoring, MonitoringArgs
from components.snowflake_platform import snowflake_names
from domain.mcp_edge import external_auth_annotations
from domain.slo import WatchedTargets, duration_minutes, objectives_table

# Everything that can be wrong with the configuration is found here, before any resource is registered.
config = load_stack_config()
gpu_plan = plan_gpu_pool(config.gpu_pool, list(config.mcp.servers), config.lambda_cloud.region)
estuary_catalog = plan_catalog(config.estuary, snowflake_names(config.snowflake))
# A real update publishes the catalog with flowctl: without it, stop now rather than after everything else.
require_flowctl()
# Who may call an MCP server: a bearer token of the team's issuer, checked at the edge for every server.
edge = edge_auth(config.mcp, config.mcp_auth)

# Every component that deploys to Kubernetes gets this one provider the same way, as its `provider` option.
cluster = kubernetes.Provider("cluster", kubeconfig=config.cluster.kubeconfig)

gpu_pool = GpuNodePool(
    "gpu-pool",
    GpuNodePoolArgs(gpu_plan, config.lambda_cloud, config.cluster),
    opts=pulumi.ResourceOptions(provider=cluster),
)

names = snowflake_names(config.snowflake)

mcp = McpServers(
    "mcp",
    McpServersArgs(
        config=config.mcp,
        scheduling=gpu_pool.scheduling,
        gpu_pool_ready=gpu_pool.ready,
        metrics_scraper_namespace=config.monitoring.namespace,
        ingress_annotations=external_auth_annotations(edge),
        snowflake=SnowflakeConnection.from_names(names, config.snowflake.mcp_private_key),
    ),
    opts=pulumi.ResourceOptions(provider=cluster),
)

mcp_auth = McpAuth(
    "mcp-auth",
    McpAuthArgs(
        edge=edge,
        namespace=mcp.namespace,
        ingress_class=config.mcp.ingress_class,
        tls_secret=config.mcp.ingress_tls_secret,
        client_secret=config.mcp_auth.client_secret,
        cookie_secret=config.mcp_auth.cookie_secret,
    ),
    opts=pulumi.ResourceOptions(provider=cluster),
)

objectives = config.monitoring.objectives(duration_minutes(config.estuary.sync_frequency))
monitoring = Monitoring(
    "monitoring",
    MonitoringArgs(
        namespace=config.monitoring.namespace,
        selector_labels=config.monitoring.labels,
        objectives=objectives,
        targets=WatchedTargets(
            mcp_namespace=config.mcp.namespace,
            mcp_ingress=mcp.ingress_name,
            mcp_service_suffix=f"-{CHART_NAME}",
            estuary_materialization=estuary_catalog.materializations[0].name,
            estuary_tenant=config.estuary.tenant + config.estuary.prefix,
        ),
        gpu_operator_namespace=OPERATOR_NAMESPACE,
        ingress_controller_namespace=mcp.ingress_controller_namespace,
        estuary_metrics_token=config.monitoring.estuary_metrics_token,
        mcp_metrics=[
            McpMetricsEndpoint(release=server.name, path=METRICS_PATH)
            for server in config.mcp.servers
            if server.metrics_port is not None
        ],
    ),
    opts=pulumi.ResourceOptions(provider=cluster),
)

pulumi.export("gpuPlan", gpu_plan.to_output())
pulumi.export("mcpEndpoints", mcp.endpoints)
pulumi.export("objectives", [list(row) for row in objectives_table(objectives)])
