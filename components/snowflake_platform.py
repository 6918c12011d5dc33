"""SnowflakePlatform: the database, warehouse, schemas, roles and service users on the one correct account.

Resource arguments follow pulumi-snowflake 2.x (terraform-provider-snowflake 2.x): the provider identifies
the account by `organization_name` + `account_name` and signs in with a key pair (`SNOWFLAKE_JWT`).
Each administrative job gets the narrowest system role that can do it, and no service ever gets one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from components.config import SnowflakeConfig

COMPONENT_TYPE = "sophia:index:SnowflakePlatform"

# Snowflake lets only ACCOUNTADMIN create resource monitors; object owners are SYSADMIN and roles/users
# belong to SECURITYADMIN (docs.snowflake.com "Overview of access control", "Working with resource monitors").
OBJECT_ADMIN_ROLE = "SYSADMIN"
SECURITY_ADMIN_ROLE = "SECURITYADMIN"
MONITOR_ADMIN_ROLE = "ACCOUNTADMIN"


@dataclass(frozen=True)
class ServiceAccess:
    """A consumer's role and service user, as later components need them."""

    role: pulumi.Output[str]
    user: pulumi.Output[str]


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
    estuary_role: str = "SOPHIA_ESTUARY_LOADER"
    estuary_user: str = "SOPHIA_ESTUARY_SVC"
    mcp_role: str = "SOPHIA_MCP_SERVER"
    mcp_user: str = "SOPHIA_MCP_SVC"


def snowflake_names(args: SnowflakeConfig) -> SnowflakeNames:
    return SnowflakeNames(
        host=args.host,
        account_identifier=args.identity.identifier,
        database=args.database,
        warehouse=args.warehouse,
        landing_schema=args.landing_schema,
        app_schema=args.app_schema,
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
        self, name: str, args: SnowflakeConfig, protect_data: bool, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def provider(suffix: str, role: str) -> snowflake.Provider:
            return snowflake.Provider(
                f"{name}-{suffix}",
                organization_name=args.organization,
                account_name=args.account_name,
                user=args.deployer_user,
                authenticator="SNOWFLAKE_JWT",
                private_key=args.deployer_private_key,
                role=role,
                opts=child,
            )

        objects = provider("sysadmin", OBJECT_ADMIN_ROLE)
        security = provider("securityadmin", SECURITY_ADMIN_ROLE)
        monitors = provider("accountadmin", MONITOR_ADMIN_ROLE)
        as_objects = pulumi.ResourceOptions(parent=self, provider=objects)
        as_security = pulumi.ResourceOptions(parent=self, provider=security)

        monitor = snowflake.ResourceMonitor(
            f"{name}-monitor",
            name=f"{args.warehouse}_MONITOR",
            credit_quota=args.monthly_credit_quota,
            frequency="MONTHLY",
            start_timestamp="IMMEDIATELY",
            notify_triggers=[50, 75, 90],
            suspend_trigger=100,
            suspend_immediate_trigger=110,
            opts=pulumi.ResourceOptions(parent=self, provider=monitors),
        )
        # Assigning a monitor to a warehouse needs MODIFY on the monitor; granting it to SYSADMIN keeps
        # ACCOUNTADMIN out of the warehouse's ownership.
        monitor_grant = snowflake.GrantPrivilegesToAccountRole(
            f"{name}-monitor-grant",
            account_role_name=OBJECT_ADMIN_ROLE,
            privileges=["MONITOR", "MODIFY"],
            on_account_object=snowflake.GrantPrivilegesToAccountRoleOnAccountObjectArgs(
                object_type="RESOURCE MONITOR", object_name=monitor.name
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=monitors),
        )

        database = snowflake.Database(
            f"{name}-database",
            name=args.database,
            data_retention_time_in_days=args.data_retention_days,
            is_transient=False,
            comment="Sophia AI platform data; managed by Pulumi (sophia-ai).",
            opts=pulumi.ResourceOptions(
                parent=self, provider=objects, protect=protect_data, retain_on_delete=protect_data
            ),
        )
        warehouse = snowflake.Warehouse(
            f"{name}-warehouse",
            name=args.warehouse,
            warehouse_size=args.warehouse_size,
            auto_suspend=args.warehouse_auto_suspend_seconds,
            auto_resume="true",
            initially_suspended=True,
            resource_monitor=monitor.name,
            comment="Sophia AI platform warehouse; managed by Pulumi (sophia-ai).",
            opts=pulumi.ResourceOptions(parent=self, provider=objects, depends_on=[monitor_grant]),
        )
        landing = snowflake.Schema(
            f"{name}-landing-schema",
            database=database.name,
            name=args.landing_schema,
            comment="Estuary Flow materializations land here.",
            opts=as_objects,
        )
        app = snowflake.Schema(
            f"{name}-app-schema",
            database=database.name,
            name=args.app_schema,
            comment="Application tables owned by the MCP servers.",
            opts=as_objects,
        )

        self._prefix = name
        self.names = names = snowflake_names(args)
        self._security = as_security
        self._database = database
        self._warehouse = warehouse
        self._schemas = {"landing": landing, "app": app}

        self.estuary = self._service(
            "estuary",
            role_name=names.estuary_role,
            user_name=names.estuary_user,
            public_key=args.estuary_public_key,
            default_schema="landing",
            # Estuary's materialize-snowflake creates its tables and stages in the target schema.
            schema_privileges={"landing": ["USAGE", "CREATE TABLE", "CREATE STAGE", "CREATE PIPE"]},
            table_privileges={},
        )
        self.mcp = self._service(
            "mcp",
            role_name=names.mcp_role,
            user_name=names.mcp_user,
            public_key=args.mcp_public_key,
            default_schema="app",
            schema_privileges={"landing": ["USAGE"], "app": ["USAGE", "CREATE TABLE", "CREATE VIEW"]},
            table_privileges={"landing": ["SELECT"], "app": ["SELECT", "INSERT", "UPDATE", "DELETE"]},
        )

        self.host = pulumi.Output.from_input(args.host)
        self.account_identifier = pulumi.Output.from_input(args.identity.identifier)
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
                "mcpRole": self.mcp.role,
                "mcpUser": self.mcp.user,
            }
        )

    def _qualified(self, schema: str) -> pulumi.Output[str]:
        # Built from the names, not the provider's computed fully_qualified_name, so preview knows it.
        return pulumi.Output.concat('"', self._database.name, '"."', self._schemas[schema].name, '"')

    def _service(
        self,
        consumer: str,
        *,
        role_name: str,
        user_name: str,
        public_key: str,
        default_schema: str,
        schema_privileges: dict[str, list[str]],
        table_privileges: dict[str, list[str]],
    ) -> ServiceAccess:
        """One consumer's role, its least-privilege grants and its key-pair service user."""
        prefix = f"{self._prefix}-{consumer}"
        opts = self._security
        role = snowflake.AccountRole(
            f"{prefix}-role", name=role_name, comment=f"Sophia AI {consumer} service role.", opts=opts
        )
        # Custom roles roll up to SYSADMIN so administrators keep sight of what services own.
        snowflake.GrantAccountRole(
            f"{prefix}-role-to-sysadmin", role_name=role.name, parent_role_name=OBJECT_ADMIN_ROLE, opts=opts
        )
        for object_type, object_name in (
            ("WAREHOUSE", self._warehouse.name),
            ("DATABASE", self._database.name),
        ):
            snowflake.GrantPrivilegesToAccountRole(
                f"{prefix}-{object_type.lower()}-usage",
                account_role_name=role.name,
                privileges=["USAGE"],
                on_account_object=snowflake.GrantPrivilegesToAccountRoleOnAccountObjectArgs(
                    object_type=object_type, object_name=object_name
                ),
                opts=opts,
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
        user = snowflake.ServiceUser(
            f"{prefix}-user",
            name=user_name,
            comment=f"Sophia AI {consumer} service user (key-pair only).",
            rsa_public_key=public_key,
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
        return ServiceAccess(role=role.name, user=user.name)
