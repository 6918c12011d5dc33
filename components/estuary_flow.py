"""EstuaryFlow: the SaaS captures and the Snowflake materialization, as one reviewed flow.yaml.

No Pulumi or Terraform provider exists for Estuary, so the catalog is published with `flowctl` by a
`pulumi_command` local Command (pulumi-command 1.x `local.Command`: create/update/delete, environment,
triggers, logging). The Command runs `scripts/publish_flow.py`, which keeps secrets out of argv, logs and
files in the repo, and it runs again only when the rendered catalog's hash changes. On update the script gets
the previous run's stdout (PULUMI_COMMAND_STDOUT), which names the specs it published, and deletes those that
left the catalog.

flowctl runs on the machine that runs `pulumi up`, so a real update checks for it before anything is
registered: found missing after the rest of the stack was deployed, it would leave Estuary unpublished.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pulumi
from pulumi_command import local

from components.config import PROJECT, EstuaryConfig, StackConfigError
from components.snowflake_platform import SnowflakeNames
from components.versions import FLOWCTL_INSTALL, FLOWCTL_VERSION
from domain.estuary.models import SNOWFLAKE_PRIVATE_KEY, Catalog, CatalogError
from domain.estuary.production import SnowflakeTarget, build_production_catalog
from domain.estuary.rendering import catalog_hash, render_catalog

COMPONENT_TYPE = "sophia:index:EstuaryFlow"
# Relative to the project directory, where Pulumi runs local commands; the virtualenv is the one Pulumi.yaml
# names, which has PyYAML and pydantic for the script.
PUBLISH = ".venv/bin/python scripts/publish_flow.py"


@dataclass(frozen=True)
class EstuaryFlowArgs:
    config: EstuaryConfig
    catalog: Catalog
    snowflake_private_key: pulumi.Input[str]


def require_flowctl(find: Callable[[str], str | None] = shutil.which) -> None:
    """On a real update, stop unless flowctl is on PATH; a preview never runs the publish command."""
    if pulumi.runtime.is_dry_run() or find("flowctl"):
        return
    raise StackConfigError(
        "flowctl is not on PATH, and this update publishes the Estuary catalog with it; nothing has been "
        f"created. Install flowctl {FLOWCTL_VERSION}: {FLOWCTL_INSTALL}. Then run `pulumi up` again "
        "(`pulumi preview` does not need flowctl)."
    )


def plan_catalog(config: EstuaryConfig, names: SnowflakeNames) -> Catalog:
    """Build and validate the catalog from config alone: a mistake stops the stack before anything exists."""
    target = SnowflakeTarget(
        host=names.host,
        database=names.database,
        landing_schema=names.landing_schema,
        warehouse=names.warehouse,
        role=names.estuary_role,
        user=names.estuary_user,
    )
    try:
        return build_production_catalog(
            config.tenant,
            config.captures,
            target,
            config.sync_frequency,
            materialize_tag=config.materialize_tag,
            prefix=config.prefix,
        )
    except CatalogError as error:
        problems = "\n  - ".join(
            f"{PROJECT}:{EstuaryConfig.stack_key(problem.path)}: {problem.message}"
            for problem in error.problems
        )
        raise StackConfigError(f"the Estuary catalog cannot be built:\n  - {problems}") from None


class EstuaryFlow(pulumi.ComponentResource):
    """The Estuary catalog of the stack and the Command that publishes it."""

    catalog_yaml: str
    catalog_hash: str

    def __init__(self, name: str, args: EstuaryFlowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        self.catalog_yaml = render_catalog(args.catalog)
        self.catalog_hash = catalog_hash(self.catalog_yaml)
        secrets = {**args.config.source_secrets(), SNOWFLAKE_PRIVATE_KEY: args.snowflake_private_key}
        secrets_json: pulumi.Output[str] = pulumi.Output.all(**secrets).apply(
            lambda values: json.dumps(values, sort_keys=True)
        )
        self.publish = local.Command(
            f"{name}-publish",
            create=f"{PUBLISH} publish",
            update=f"{PUBLISH} publish",
            delete=f"{PUBLISH} delete",
            environment={
                "FLOW_CATALOG": self.catalog_yaml,
                "FLOW_DATA_PLANE": args.config.data_plane,
                "FLOW_SECRETS_JSON": pulumi.Output.secret(cast(Any, secrets_json)),
                "FLOW_AUTH_TOKEN": pulumi.Output.secret(args.config.flow_auth_token),
            },
            triggers=[self.catalog_hash],
            logging=local.Logging.STDOUT_AND_STDERR,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"catalogHash": self.catalog_hash, "catalog": self.catalog_yaml})
