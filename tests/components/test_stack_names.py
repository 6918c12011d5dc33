"""Production and staging side by side: what differs between them is only what is meant to differ."""

from __future__ import annotations

import json

import pytest
import yaml

from components.config import PROJECT, StackConfig, build_stack_config, parse_values
from components.stack_names import owned_names
from harness.paths import PROJECT_DIR
from offline.config_reference import PAGE, page_with_reference
from offline.engine import preview
from offline.stack_files import load_stack_settings

STACKS = ("production", "staging")

# Each key staging sets differently, and why.
MEANT_TO_DIFFER = {
    # Its own Snowflake objects on the same account.
    "snowflakeDatabase",
    "snowflakeWarehouse",
    "snowflakeServiceNamePrefix",
    "snowflakeMonthlyCreditQuota",
    # Staging data is rebuilt from the sources; a destroy may drop it.
    "snowflakeProtectDatabase",
    # Its own cluster and GPU pool, smaller.
    "clusterK3sServerUrl",
    "clusterK3sServerPublicIp",
    "gpuPoolName",
    "gpuPoolHeadroomSlices",
    "mcpNamespace",
    "mcpIngressHost",
    "mcpIngressTlsSecret",
    "mcpServers",
    # Tokens for its own audience, so a production token does not open staging's servers.
    "mcpAuthAudience",
    # Its own Estuary names under the tenant, synced less often.
    "estuaryPrefix",
    "estuarySyncFrequency",
    "estuaryCaptures",
}


def stack_values(stack: str) -> dict[str, object]:
    settings = load_stack_settings(PROJECT_DIR, stack)
    return parse_values({key.removeprefix(f"{PROJECT}:"): value for key, value in settings.config.items()})


def stack_config(stack: str) -> StackConfig:
    return build_stack_config(stack_values(stack))


def test_every_difference_between_the_stacks_is_meant() -> None:
    production, staging = stack_values("production"), stack_values("staging")
    differing = {key for key in production.keys() | staging.keys() if production.get(key) != staging.get(key)}
    assert differing - MEANT_TO_DIFFER == set()
    assert MEANT_TO_DIFFER - differing == set(), "a key listed as differing is the same in both stacks"


def test_both_stacks_use_the_one_allowed_account() -> None:
    assert {stack_config(stack).snowflake.identity.identifier for stack in STACKS} == {"UHDECNO-CVB64222"}


def test_staging_owns_none_of_productions_names() -> None:
    production, staging = (owned_names(stack, stack_config(stack)) for stack in STACKS)
    assert not set(production.snowflake_objects) & set(staging.snowflake_objects)
    assert not set(production.namespaces) & set(staging.namespaces)
    for prefix in staging.estuary_prefixes:
        assert not any(
            prefix.startswith(other) or other.startswith(prefix) for other in production.estuary_prefixes
        )


@pytest.mark.parametrize(("stack", "other"), [("production", "staging"), ("staging", "production")])
def test_each_stacks_policy_config_lists_exactly_the_other_stacks_names(stack: str, other: str) -> None:
    config = json.loads((PROJECT_DIR / "policies" / "config" / f"{stack}.json").read_text())
    assert config["stack-isolation"] == owned_names(other, stack_config(other)).to_policy_config()


def test_protect_follows_the_stacks_config_not_its_name() -> None:
    for stack, protected in (("production", True), ("staging", False)):
        (database,) = [
            r for r in preview(PROJECT_DIR, stack).resources if r.type.endswith("database:Database")
        ]
        assert database.protect is protected, stack
    unprotected = preview(PROJECT_DIR, "production", {"snowflakeProtectDatabase": False})
    (database,) = [r for r in unprotected.resources if r.type.endswith("database:Database")]
    assert database.protect is False


def test_the_config_reference_page_is_generated_from_the_project_and_stack_files() -> None:
    page = (PROJECT_DIR / PAGE).read_text()
    assert page_with_reference(page) == page, "run: python -m offline.config_reference --write"


@pytest.mark.parametrize("stack", STACKS)
def test_a_stack_file_sets_only_what_the_stack_decides(stack: str) -> None:
    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    stack_file = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    restated = {
        key
        for full_key, value in stack_file.items()
        if "default" in declared.get(key := full_key.removeprefix(f"{PROJECT}:"), {})
        and str(declared[key]["default"]) == str(value)
    }
    assert not restated, f"Pulumi.{stack}.yaml repeats these defaults of Pulumi.yaml: {sorted(restated)}"
