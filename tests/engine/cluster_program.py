"""The cluster half of the stack's __main__.py, for real previews without the Snowflake and command plugins.

The same configuration loader, GPU pool plan, GpuNodePool and McpServers components as __main__.py, wired the
same way; the MCP servers' Snowflake connection is made of the names SnowflakePlatform would create
(snowflake_names, the same function) instead of its outputs, and the Estuary half is left out (it needs the
command plugin). Copied as __main__.py into the engine project by real_engine.EngineProject.
"""

import pulumi
import pulumi_kubernetes as kubernetes

from components.config import load_stack_config
from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs, plan_gpu_pool
from components.mcp_servers import McpServers, McpServersArgs, SnowflakeConnection
from components.snowflake_platform import snowflake_names

config = load_stack_config()
gpu_plan = plan_gpu_pool(config.gpu_pool, list(config.mcp.servers), config.lambda_cloud.region)
names = snowflake_names(config.snowflake)

cluster = kubernetes.Provider("cluster", kubeconfig=config.cluster.kubeconfig)
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster})

gpu_pool = GpuNodePool(
    "gpu-pool", GpuNodePoolArgs(gpu_plan, config.lambda_cloud, config.cluster), opts=on_cluster
)

mcp = McpServers(
    "mcp",
    McpServersArgs(
        config=config.mcp,
        scheduling=gpu_pool.scheduling,
        gpu_pool_ready=gpu_pool.ready,
        snowflake=SnowflakeConnection(
            host=names.host,
            account=names.account_identifier,
            database=names.database,
            warehouse=names.warehouse,
            schema=names.app_schema,
            role=names.mcp_role,
            user=names.mcp_user,
            private_key=config.snowflake.mcp_private_key,
        ),
    ),
    opts=pulumi.ResourceOptions(provider=cluster),
)

pulumi.export("gpuPlan", gpu_plan.to_output())
pulumi.export("mcpEndpoints", mcp.endpoints)
