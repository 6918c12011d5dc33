"""The part of tests/engine/cluster_program.py a bare test cluster can take: the GPU pool and the MCP servers.

Left out, and why: Monitoring (its ServiceMonitor and PrometheusRule kinds need the Prometheus Operator's
CRDs), McpAuth (oauth2-proxy's chart and its identity provider), and the Estuary half (flowctl). Copied as
__main__.py into the engine project by real_engine.EngineProject.
"""

import pulumi
import pulumi_kubernetes as kubernetes

from components.config import load_stack_config
from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs, plan_gpu_pool
from components.mcp_auth import edge_auth
from components.mcp_servers import McpServers, McpServersArgs, SnowflakeConnection
from components.snowflake_platform import snowflake_names
from domain.mcp_edge import external_auth_annotations

config = load_stack_config()
gpu_plan = plan_gpu_pool(config.gpu_pool, list(config.mcp.servers), config.lambda_cloud.region)
edge = edge_auth(config.mcp, config.mcp_auth)
names = snowflake_names(config.snowflake)

cluster = kubernetes.Provider("cluster", kubeconfig=config.cluster.kubeconfig)

gpu_pool = GpuNodePool(
    "gpu-pool",
    GpuNodePoolArgs(gpu_plan, config.lambda_cloud, config.cluster),
    opts=pulumi.ResourceOptions(provider=cluster),
)

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

pulumi.export("gpuPlan", gpu_plan.to_output())
pulumi.export("mcpEndpoints", mcp.endpoints)
