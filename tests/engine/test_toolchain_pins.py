"""The toolchain's Go pins and the Python SDK pins move together (no Go or network needed)."""

from __future__ import annotations

import importlib.util
import re

from harness.real_engine import PROJECT_DIR
from toolchain import build


def pinned(requirement: str) -> str:
    text = (PROJECT_DIR / "requirements.txt").read_text()
    found = re.search(rf"^{re.escape(requirement)}==(\S+)$", text, re.MULTILINE)
    assert found, f"{requirement} is not pinned in requirements.txt"
    return found.group(1)


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split("."))


def go_mod_requires(module_dir: str, module: str) -> str:
    text = (PROJECT_DIR / "testkit" / "toolchain" / module_dir / "go.mod").read_text()
    found = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (\S+)", text, re.MULTILINE)
    assert found, f"testkit/toolchain/{module_dir}/go.mod does not require {module}"
    return found.group(1)


def test_the_cli_is_at_or_above_the_python_sdk() -> None:
    assert version_tuple(build.CLI_VERSION) >= version_tuple(pinned("pulumi"))


def test_the_cli_language_host_and_sdk_scripts_share_one_sdk_version() -> None:
    assert go_mod_requires("pulumi", "github.com/pulumi/pulumi/pkg/v3") == build.CLI_VERSION
    assert go_mod_requires("pulumi", build.SDK_MODULE) == build.CLI_VERSION
    assert go_mod_requires("python-host", build.SDK_MODULE) == build.CLI_VERSION
    assert build.PYTHON_HOST.version == build.CLI_VERSION


def test_every_pinned_provider_sdk_has_a_build_of_its_plugin_version_or_a_stated_blocker() -> None:
    for plugin in build.PLUGINS:
        version = pinned(f"pulumi-{plugin.name}")
        assert version in plugin.builds or plugin.blocked, (
            f"pulumi-{plugin.name}=={version} is pinned but testkit/toolchain/build.py builds only "
            f"{sorted(plugin.builds)}: pin the SDK and the provider together"
        )


def test_the_installed_sdk_declares_the_plugin_version_the_toolchain_builds() -> None:
    spec = importlib.util.find_spec("pulumi_kubernetes")
    assert spec is not None
    assert build.requested_version("kubernetes") in build.PLUGINS[0].builds


def test_the_kubernetes_recipe_builds_the_provider_at_the_release_commit() -> None:
    recipe = build.PLUGINS[0].builds["4.25.0"]
    # v4.25.0's tag points at f47bc2d6f199; the provider module has no tags, so this is its only name.
    assert go_mod_requires(recipe.module_dir, build.KUBERNETES_MODULE) == "v4.0.0-20260115033456-f47bc2d6f199"
    assert go_mod_requires(recipe.module_dir, "github.com/pulumi/pulumi-kubernetes/sdk/v4") == "v4.25.0"


def test_the_snowflake_recipe_bridges_the_terraform_release_it_names_with_the_bridges_own_sdk_fork() -> None:
    recipe = next(plugin for plugin in build.PLUGINS if plugin.name == "snowflake").project_build
    assert recipe is not None and recipe.version == build.SNOWFLAKE_TF_VERSION
    module = "github.com/Snowflake-Labs/terraform-provider-snowflake"
    assert go_mod_requires("snowflake", module) == f"v{build.SNOWFLAKE_TF_VERSION}"
    assert go_mod_requires("snowflake", "github.com/pulumi/pulumi-terraform-bridge/v3") == "v3.106.0"
    go_mod = (PROJECT_DIR / "testkit" / "toolchain" / "snowflake" / "go.mod").read_text()
    # The replace pulumi-terraform-bridge v3.106.0's own go.mod makes.
    assert (
        "replace github.com/hashicorp/terraform-plugin-sdk/v2 => "
        "github.com/pulumi/terraform-plugin-sdk/v2 v2.0.0-20250221232320-8d4cfd37a3cd"
    ) in go_mod


def test_the_command_stand_in_is_on_pulumi_commands_framework_and_claims_no_sdk_version() -> None:
    recipe = next(plugin for plugin in build.PLUGINS if plugin.name == "command").project_build
    assert recipe is not None
    assert go_mod_requires("command", "github.com/pulumi/pulumi-go-provider") == "v1.3.0"
    assert recipe.version != pinned("pulumi-command")
