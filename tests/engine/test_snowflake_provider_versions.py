"""docs/snowflake-provider-versions.md lists exactly the inputs the program sets whose type or requiredness
differs between the 2.22.0 SDK and the schema of the v1.2.3 plugin the engine tests run."""

from __future__ import annotations

from harness import snowflake_versions
from harness.real_engine import project_plugin_or_skip, toolchain_or_skip


def test_the_table_of_differences_is_the_one_the_sdk_and_the_built_plugin_give_today() -> None:
    toolchain = toolchain_or_skip()
    schema = snowflake_versions.plugin_schema(project_plugin_or_skip(toolchain, "snowflake"))
    inputs = snowflake_versions.program_inputs()
    assert len(inputs) >= 12, sorted(inputs)
    table = snowflake_versions.markdown_table(snowflake_versions.differences(schema, inputs))
    documented = snowflake_versions.document_table(snowflake_versions.DOCUMENT.read_text())
    assert documented == table, "run `python -m harness.snowflake_versions` and review the new table"
