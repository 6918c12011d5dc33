"""The stack's __main__.py without the Snowflake and Estuary resources, for the real engine's tests.

The same configuration, plans and wiring (components/wiring.py): the GPU pool, the MCP servers, their
authenticated edge and the monitoring. The MCP servers' Snowflake connection is made of the names
SnowflakePlatform would create (snowflake_names, the same function) instead of its outputs, and the Estuary
catalog is planned (the monitoring watches it) but not published, so neither the Snowflake nor the command
plugin nor flowctl is needed. Copied as __main__.py into the engine project by real_engine.EngineProject.
"""

from components.config import load_stack_config
from components.mcp_servers import SnowflakeConnection
from components.wiring import (
    cluster_provider,
    deploy_gpu_pool,
    deploy_mcp_side,
    export_cluster_outputs,
    plan_stack,
)

plan = plan_stack(load_stack_config())
cluster = cluster_provider(plan)
gpu_pool = deploy_gpu_pool(plan, cluster)
mcp_side = deploy_mcp_side(
    plan,
    cluster,
    gpu_pool,
    SnowflakeConnection.from_names(plan.snowflake_names, plan.config.snowflake.mcp_private_key),
)
export_cluster_outputs(plan, mcp_side)
