"""The sophia-ai stack: Snowflake, the Lambda GPU node pool, the MCP servers and Estuary Flow."""

import pulumi

from components.config import load_stack_config
from components.estuary_flow import EstuaryFlow, EstuaryFlowArgs, plan_catalog
from components.snowflake_platform import SnowflakePlatform, snowflake_names

# Everything that can be wrong with the configuration is found here, before any resource is registered.
config = load_stack_config()
production = pulumi.get_stack() == "production"
estuary_catalog = plan_catalog(config.estuary, snowflake_names(config.snowflake))

snowflake = SnowflakePlatform(
    "snowflake", config.snowflake, protect_data=config.snowflake.protect_database or production
)

estuary = EstuaryFlow(
    "estuary",
    EstuaryFlowArgs(
        config=config.estuary,
        catalog=estuary_catalog,
        snowflake_private_key=config.snowflake.estuary_private_key,
    ),
    opts=pulumi.ResourceOptions(depends_on=[snowflake]),
)

pulumi.export("snowflakeHost", snowflake.host)
pulumi.export("snowflakeAccount", snowflake.account_identifier)
pulumi.export("snowflakeDatabase", snowflake.database)
pulumi.export("snowflakeWarehouse", snowflake.warehouse)
pulumi.export("estuaryCatalog", estuary.catalog_yaml)
