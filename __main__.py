"""The sophia-ai stack: Snowflake, the Lambda GPU node pool, the MCP servers and Estuary Flow."""

import pulumi

from components.config import load_stack_config
from components.snowflake_platform import SnowflakePlatform

config = load_stack_config()
production = pulumi.get_stack() == "production"

snowflake = SnowflakePlatform(
    "snowflake", config.snowflake, protect_data=config.snowflake.protect_database or production
)

pulumi.export("snowflakeHost", snowflake.host)
pulumi.export("snowflakeAccount", snowflake.account_identifier)
pulumi.export("snowflakeDatabase", snowflake.database)
pulumi.export("snowflakeWarehouse", snowflake.warehouse)
