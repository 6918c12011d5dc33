"""Every Snowflake input the program sets (production and staging) is one the pinned pulumi_snowflake SDK
declares, with a value its annotation admits: the engine tests run an older provider schema
(docs/snowflake-provider-versions.md), so this keeps the program honest against the SDK users run."""

from __future__ import annotations

from harness import snowflake_versions


def test_every_snowflake_input_fits_the_pinned_sdk_types() -> None:
    inputs = snowflake_versions.program_inputs()
    assert "snowflake:index/serviceUser:ServiceUser" in inputs
    assert snowflake_versions.sdk_type_mismatches(inputs) == []


def test_a_value_the_sdk_would_not_accept_is_named() -> None:
    inputs = {"snowflake:index/warehouse:Warehouse": {"autoSuspend": ["60"], "warehouseSize": ["XSMALL"]}}
    inputs["snowflake:index/warehouse:Warehouse"]["sizeOfWarehouse"] = ["XSMALL"]
    assert snowflake_versions.sdk_type_mismatches(inputs) == [
        "snowflake:index/warehouse:Warehouse.autoSuspend: '60' is not integer",
        "snowflake:index/warehouse:Warehouse.sizeOfWarehouse: not an input of the 2.22.0 SDK",
    ]
