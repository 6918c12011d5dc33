"""SnowflakePlatform: the database, warehouse, schemas, roles and service users on the one correct account.

Resource arguments follow pulumi-snowflake 2.x (terraform-provider-snowflake 2.x): the provider identifies
the account by `organization_name` + `account_name` and signs in with a key pair (`SNOWFLAKE_JWT`).
Each administrative job gets the narrowest system role that can do it, and no service ever gets one.
Each service user signs in with a key pair only, only from the addresses its network policy allows, and has
a second key slot so its key can be rotated without downtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from components.config import SnowflakeConfig
from domain.snowflake_network import ingress_addresses

COMPONENT_TYPE = "sophia:index:SnowflakePlatform"

# Object owners are SYSADMIN; roles, users, grants, network rules and network policies belong to
# SECURITYADMIN, which alone (or higher) may create network policies (docs.snowflake.com "Overview of access
# control", "CREATE NETWORK POLICY"). Only ACCOUNTADMIN may create a resource monitor or attach one to a
# warehouse ("Working with resource monitors"; snowflakedb/terraform-provider-snowflake#3019).
OBJECT_ADMIN_ROLE = "SYSADMIN"
SECURITY_ADMIN_ROLE = "SECURITYADMIN"
MONITOR_ADMIN_ROLE = "ACCOUNTADMIN"


@dataclass(frozen=True)
class SnowflakePlatformArgs:
    """The stack's Snowflake config, whether its data is protected, and where Estuary and the MCP servers
    connect from."""

    config: SnowflakeConfig
    protect_data: bool
    # The Estuary data plane's published egress addresses (EstuaryConfig.egress_addresses): the loader's tasks
    # run there, on the plane the catalog is published to.
    estuary_egress_addresses: Sequence[str]
    # The GPU nodes' public addresses: the MCP servers run there and reach Snowflake from them.
    mcp_egress_addresses: pulumi.Input[Sequence[str]]


@dataclass(frozen=True)
class ServiceAccess:
    """A consumer's role and service user, as later components need them."""

    role: pulumi.Output[str]
    user: pulumi.Output[str]
    network_policy: pulumi.Output[str]


@dataclass(frozen=True)
class SnowflakeNames:
    """The platform's names, all decided by configuration, so other components can use them at plan time.

    Consumers that need the objects to exist also depend on the SnowflakePlatform component itself.
    """

    host: str
    account_identifier: str
    database: str
    warehouse: str
    landing_schema: str
    app_schema: str
    estuary_role: str
    estuary_user: str
    mcp_role: str
    mcp_user: str


def monitor_name(warehouse: str) -> str:
    return f"{warehouse}_MONITOR"


def network_policy_name(user: str) -> str:
    return f"{user}_NETWORK_POLICY"


def snowflake_names(args: SnowflakeConfig) -> SnowflakeNames:
    return SnowflakeNames(
        host=args.host,
        account_identifier=args.identity.identifier,
        database=args.database,
        warehouse=args.warehouse,
        landing_schema=args.landing_schema,
        app_schema=args.app_schema,
        estuary_role=f"{args.service_name_prefix}_ESTUARY_LOADER",
        estuary_user=f"{args.service_name_prefix}_ESTUARY_SVC",
        mcp_role=f"{args.service_name_prefix}_MCP_SERVER",
        mcp_user=f"{args.service_name_prefix}_MCP_SVC",
    )


class SnowflakePlatform(pulumi.ComponentResource):
    """Everything the platform keeps in Snowflake, on the account named by the stack's identity config."""

    host: pulumi.Output[str]
    account_identifier: pulumi.Output[str]
    database: pulumi.Output[str]
    landing_schema: pulumi.Output[str]
    app_schema: pulumi.Output[str]
    warehouse: pulumi.Output[str]
    names: SnowflakeNames
    estuary: ServiceAccess
    mcp: ServiceAccess

    def __init__(
        self, name: str, args: SnowflakePlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        def provider(suffix: str, role: str) -> snowflake.Provider:
            return snowflake.Provider(
                f"{name}-{suffix}",
                organization_name=config.organization,
                account_name=config.account_name,
                user=config.deployer_user,
                authenticator="SNOWFLAKE_JWT",
                private_key=config.deployer_private_key,
                role=role,
                opts=child,
            )

        objects = provider("sysadmin", OBJECT_ADMIN_ROLE)
        security = provider("securityadmin", SECURITY_ADMIN_ROLE)
        monitors = provider("accountadmin", MONITOR_ADMIN_ROLE)
        as_objects = pulumi.ResourceOptions(parent=self, provider=objects)
        as_security = pulumi.ResourceOptions(parent=self, provider=security)
        as_monitor_admin = pulumi.ResourceOptions(parent=self, provider=monitors)

        monitor = snowflake.ResourceMonitor(
            f"{name}-monitor",
            name=monitor_name(config.warehouse),
            credit_quota=config.monthly_credit_quota,
            frequency="MONTHLY",
            start_timestamp="IMMEDIATELY",
            notify_triggers=[50, 75, 90],
            suspend_trigger=100,
            suspend_immediate_trigger=110,
            opts=as_monitor_admin,
        )
        database = snowflake.Database(
            f"{name}-database",
            name=config.database,
            data_retention_time_in_days=config.data_retention_days,
            is_transient=False,
            comment="Sophia AI platform data; managed by Pulumi (sophia-ai).",
            opts=pulumi.ResourceOptions(
                parent=self, provider=objects, protect=args.protect_data, retain_on_delete=args.protect_data
            ),
        )
        # Only ACCOUNTADMIN may attach a monitor to a warehouse, so ACCOUNTADMIN creates the warehouse with
        # its monitor and hands ownership to SYSADMIN; it inherits SYSADMIN's privileges and keeps managing
        # it (the provider's warehouse docs; snowflakedb/terraform-provider-snowflake#3019, workaround 2).
        # Attaching the monitor with `Execute` beside a SYSADMIN-managed warehouse would diff forever: the
        # warehouse reads its monitor back from SHOW WAREHOUSES as an external change and plans to unset it.
        warehouse = snowflake.Warehouse(
            f"{name}-warehouse",
            name=config.warehouse,
            warehouse_size=config.warehouse_size,
            auto_suspend=config.warehouse_auto_suspend_seconds,
            auto_resume="true",
            initially_suspended=True,
            resource_monitor=monitor.name,
            comment="Sophia AI platform warehouse; managed by Pulumi (sophia-ai).",
            opts=as_monitor_admin,
        )
        warehouse_ownership = snowflake.GrantOwnership(
            f"{name}-warehouse-ownership",
            account_role_name=OBJECT_ADMIN_ROLE,
            on=snowflake.GrantOwnershipOnArgs(object_type="WAREHOUSE", object_name=warehouse.name),
            # Usage grants made before the transfer survive it.
            outbound_privileges="COPY",
            opts=as_monitor_admin,
        )
        landing = snowflake.Schema(
            f"{name}-landing-schema",
            database=database.name,
            name=config.landing_schema,
            comment="Estuary Flow materializations land here.",
            opts=as_objects,
        )
        app = snowflake.Schema(
            f"{name}-app-schema",
            database=database.name,
            name=config.app_schema,
            comment="Application tables owned by the MCP servers.",
            opts=as_objects,
        )
        network_rules = snowflake.Schema(
            f"{name}-network-rule-schema",
            database=database.name,
            name=config.network_rule_schema,
            comment="Network rules of the service users' network policies (owned by SECURITYADMIN).",
            opts=as_objects,
        )

        self._prefix = name
        self.names = names = snowflake_names(config)
        self._security = as_security
        self._database = database
        self._warehouse = warehouse
        self._warehouse_ownership = warehouse_ownership
        self._schemas = {"landing": landing, "app": app, "network_rules": network_rules}
        self._network_rule_grants = self._network_rule_privileges(as_objects)

        self.estuary = self._service(
            "estuary",
            role_name=names.estuary_role,
            user_name=names.estuary_user,
            public_keys=(config.estuary_public_key, config.estuary_public_key2),
            ingress=ingress_addresses(args.estuary_egress_addresses),
            ingress_from="the published egress addresses of the Estuary data plane (estuaryDataPlane)",
            default_schema="landing",
            # Estuary's materialize-snowflake creates its tables and stages in the target schema.
            schema_privileges={"landing": ["USAGE", "CREATE TABLE", "CREATE STAGE", "CREATE PIPE"]},
            table_privileges={},
        )
        self.mcp = self._service(
            "mcp",
            role_name=names.mcp_role,
            user_name=names.mcp_user,
            public_keys=(config.mcp_public_key, config.mcp_public_key2),
            ingress=pulumi.Output.from_input(args.mcp_egress_addresses).apply(
                lambda gpu_nodes: ingress_addresses(gpu_nodes, config.mcp_extra_ingress_cidrs)
            ),
            ingress_from="the GPU nodes' public addresses and snowflakeMcpExtraIngressCidrs",
            default_schema="app",
            schema_privileges={"landing": ["USAGE"], "app": ["USAGE", "CREATE TABLE", "CREATE VIEW"]},
            table_privileges={"landing": ["SELECT"], "app": ["SELECT", "INSERT", "UPDATE", "DELETE"]},
        )

        self.host = pulumi.Output.from_input(config.host)
        self.account_identifier = pulumi.Output.from_input(config.identity.identifier)
        self.database = database.name
        self.landing_schema = landing.name
        self.app_schema = app.name
        self.warehouse = warehouse.name
        self.register_outputs(
            {
                "host": self.host,
                "accountIdentifier": self.account_identifier,
                "database": self.database,
                "landingSchema": self.landing_schema,
                "appSchema": self.app_schema,
                "warehouse": self.warehouse,
                "estuaryRole": self.estuary.role,
                "estuaryUser": self.estuary.user,
                "estuaryNetworkPolicy": self.estuary.network_policy,
                "mcpRole": self.mcp.role,
                "mcpUser": self.mcp.user,
                "mcpNetworkPolicy": self.mcp.network_policy,
            }
        )

    def _qualified(self, schema: str) -> pulumi.Output[str]:
        # Built from the names, not the provider's computed fully_qualified_name, so preview knows it.
        return pulumi.Output.concat('"', self._database.name, '"."', self._schemas[schema].name, '"')

    def _network_rule_privileges(
        self, as_owner: pulumi.ResourceOptions
    ) -> list[snowflake.GrantPrivilegesToAccountRole]:
        """SECURITYADMIN creates the network rules in SYSADMIN's schema and owns them, so the policies that
        list them and the rules have one owner (CREATE NETWORK RULE on the schema, USAGE on its database)."""
        return [
            snowflake.GrantPrivilegesToAccountRole(
                f"{self._prefix}-network-rule-database-usage",
                account_role_name=SECURITY_ADMIN_ROLE,
                privileges=["USAGE"],
                on_account_object=snowflake.GrantPrivilegesToAccountRoleOnAccountObjectArgs(
                    object_type="DATABASE", object_name=self._database.name
                ),
                opts=as_owner,
            ),
            snowflake.GrantPrivilegesToAccountRole(
                f"{self._prefix}-network-rule-schema",
                account_role_name=SECURITY_ADMIN_ROLE,
                privileges=["USAGE", "CREATE NETWORK RULE"],
                on_schema=snowflake.GrantPrivilegesToAccountRoleOnSchemaArgs(
                    schema_name=self._qualified("network_rules")
                ),
                opts=as_owner,
            ),
        ]

    def _network_policy(
        self, consumer: str, user_name: str, ingress: pulumi.Input[Sequence[str]], ingress_from: str
    ) -> snowflake.NetworkPolicy:
        """An INGRESS rule of the addresses the user may sign in from, and a policy allowing only it."""
        prefix = f"{self._prefix}-{consumer}"
        rule = snowflake.NetworkRule(
            f"{prefix}-ingress-rule",
            name=f"{user_name}_INGRESS",
            database=self._database.name,
            schema=self._schemas["network_rules"].name,
            type="IPV4",
            mode="INGRESS",
            # Updated in place when the addresses change (only name, database, schema, type and mode force a
            # replacement: terraform-provider-snowflake pkg/resources/network_rule.go).
            value_lists=ingress,
            comment=f"Where {user_name} may sign in from: {ingress_from}.",
            opts=pulumi.ResourceOptions.merge(
                self._security, pulumi.ResourceOptions(depends_on=self._network_rule_grants)
            ),
        )
        return snowflake.NetworkPolicy(
            f"{prefix}-network-policy",
            name=network_policy_name(user_name),
            allowed_network_rule_lists=[
                pulumi.Output.concat('"', rule.database, '"."', rule.schema, '"."', rule.name, '"')
            ],
            comment=f"Admits {user_name} only from its ingress rule.",
            opts=self._security,
        )

    def _service(
        self,
        consumer: str,
        *,
        role_name: str,
        user_name: str,
        public_keys: tuple[str, str],
        ingress: pulumi.Input[Sequence[str]],
        ingress_from: str,
        default_schema: str,
        schema_privileges: dict[str, list[str]],
        table_privileges: dict[str, list[str]],
    ) -> ServiceAccess:
        """One consumer's role, least-privilege grants, network policy and key-pair service user."""
        prefix = f"{self._prefix}-{consumer}"
        opts = self._security
        role = snowflake.AccountRole(
            f"{prefix}-role", name=role_name, comment=f"Sophia AI {consumer} service role.", opts=opts
        )
        # Custom roles roll up to SYSADMIN so administrators keep sight of what services own.
        snowflake.GrantAccountRole(
            f"{prefix}-role-to-sysadmin", role_name=role.name, parent_role_name=OBJECT_ADMIN_ROLE, opts=opts
        )
        # The warehouse grant waits for SYSADMIN to own the warehouse: it is made on the final owner's object.
        for object_type, object_name, after in (
            ("WAREHOUSE", self._warehouse.name, [self._warehouse_ownership]),
            ("DATABASE", self._database.name, []),
        ):
            snowflake.GrantPrivilegesToAccountRole(
                f"{prefix}-{object_type.lower()}-usage",
                account_role_name=role.name,
                privileges=["USAGE"],
                on_account_object=snowflake.GrantPrivilegesToAccountRoleOnAccountObjectArgs(
                    object_type=object_type, object_name=object_name
                ),
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=after)),
            )
        for short, privileges in schema_privileges.items():
            snowflake.GrantPrivilegesToAccountRole(
                f"{prefix}-{short}-schema",
                account_role_name=role.name,
                privileges=privileges,
                on_schema=snowflake.GrantPrivilegesToAccountRoleOnSchemaArgs(
                    schema_name=self._qualified(short)
                ),
                opts=opts,
            )
        for short, privileges in table_privileges.items():
            snowflake.GrantPrivilegesToAccountRole(
                f"{prefix}-{short}-future-tables",
                account_role_name=role.name,
                privileges=privileges,
                on_schema_object=snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectArgs(
                    future=snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectFutureArgs(
                        object_type_plural="TABLES", in_schema=self._qualified(short)
                    )
                ),
                opts=opts,
            )
        network_policy = self._network_policy(consumer, user_name, ingress, ingress_from)
        current_key, next_key = public_keys
        user = snowflake.ServiceUser(
            f"{prefix}-user",
            name=user_name,
            comment=f"Sophia AI {consumer} service user (key-pair only).",
            # Both key slots change with an in-place ALTER USER: neither attribute forces a new user
            # (terraform-provider-snowflake pkg/resources/user.go, userSchema), so rotating never drops it.
            rsa_public_key=current_key,
            rsa_public_key2=next_key or None,
            # Setting it needs OWNERSHIP of the policy, which SECURITYADMIN holds as its creator.
            network_policy=network_policy.name,
            default_role=role.name,
            default_warehouse=self._warehouse.name,
            default_namespace=pulumi.Output.concat(
                self._database.name, ".", self._schemas[default_schema].name
            ),
            opts=opts,
        )
        snowflake.GrantAccountRole(
            f"{prefix}-role-to-user", role_name=role.name, user_name=user.name, opts=opts
        )
        return ServiceAccess(role=role.name, user=user.name, network_policy=network_policy.name)
