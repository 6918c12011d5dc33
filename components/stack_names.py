"""The names a stack owns, derived from its config: what the other stacks' `stack-isolation` config lists.

Every name here is the one the components create (SnowflakePlatform's objects, the Estuary catalog's specs,
the MCP namespace, the GPU pool's instances), computed the same way and at plan time.
"""

from __future__ import annotations

from components.config import StackConfig
from components.estuary_flow import plan_catalog
from components.snowflake_platform import monitor_name, network_policy_name, snowflake_names
from domain.gpu_pool import instance_name_prefix
from domain.stack_isolation import OwnedNames, estuary_prefixes


def owned_names(stack: str, config: StackConfig) -> OwnedNames:
    names = snowflake_names(config.snowflake)
    catalog = plan_catalog(config.estuary, names)
    users = (names.estuary_user, names.mcp_user)
    snowflake_objects = {
        names.database: "database",
        names.warehouse: "warehouse",
        monitor_name(names.warehouse): "resource monitor",
        names.estuary_role: "role",
        names.mcp_role: "role",
        **{user: "user" for user in users},
        **{network_policy_name(user): "network policy" for user in users},
    }
    spec_names = [
        *(capture.name for capture in catalog.captures),
        *(collection.name for collection in catalog.collections),
        *(materialization.name for materialization in catalog.materializations),
    ]
    return OwnedNames(
        stack=stack,
        snowflake_objects=snowflake_objects,
        estuary_prefixes=estuary_prefixes(spec_names),
        namespaces=(config.mcp.namespace,),
        lambda_instance_prefixes=(instance_name_prefix(config.gpu_pool.name),),
    )
