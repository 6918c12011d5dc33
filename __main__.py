"""The sophia-ai stack: Snowflake, the Lambda GPU node pool, the MCP servers behind their authenticated edge,
Estuary Flow, and the monitoring that watches the platform's objectives."""

import pulumi

from components.config import load_stack_config
from components.estuary_flow import EstuaryFlow, EstuaryFlowArgs, require_flowctl
from components.mcp_servers import SnowflakeConnection
from components.snowflake_platform import SnowflakePlatform, SnowflakePlatformArgs
from components.wiring import (
    cluster_provider,
    deploy_gpu_pool,
    deploy_mcp_side,
    export_cluster_outputs,
    plan_stack,
)

# Everything that can be wrong with the configuration is found here, before any resource is registered.
plan = plan_stack(load_stack_config())
config = plan.config
# A real update publishes the catalog with flowctl: without it, stop now rather than after everything else.
require_flowctl()

cluster = cluster_provider(plan)
gpu_pool = deploy_gpu_pool(plan, cluster)

snowflake = SnowflakePlatform(
    "snowflake",
    SnowflakePlatformArgs(
        config=config.snowflake,
        protect_data=config.snowflake.protect_database,
        # Estuary's tasks run on the data plane the catalog is published to, and connect from its addresses.
        estuary_egress_addresses=config.estuary.egress_addresses(),
        # The MCP servers run on the GPU nodes and reach Snowflake from the nodes' public addresses.
        mcp_egress_addresses=gpu_pool.public_ips,
    ),
)

mcp_side = deploy_mcp_side(
    plan,
    cluster,
    gpu_pool,
    SnowflakeConnection.from_platform(snowflake, config.snowflake.mcp_private_key),
    depends_on=[snowflake],
)

estuary = EstuaryFlow(
    "estuary",
    EstuaryFlowArgs(
        config=config.estuary,
        catalog=plan.estuary_catalog,
        snowflake_private_key=config.snowflake.estuary_private_key,
    ),
    opts=pulumi.ResourceOptions(depends_on=[snowflake]),
)

pulumi.export("snowflakeHost", snowflake.host)
pulumi.export("snowflakeAccount", snowflake.account_identifier)
pulumi.export("snowflakeDatabase", snowflake.database)
pulumi.export("snowflakeWarehouse", snowflake.warehouse)
export_cluster_outputs(plan, mcp_side)
pulumi.export("estuaryCatalog", estuary.catalog_yaml)
