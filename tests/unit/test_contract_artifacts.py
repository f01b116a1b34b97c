"""Every artifact generated from a contract agrees with it: pandera, dbt, Iceberg, Dagster metadata."""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml
from pyiceberg.catalog.sql import SqlCatalog

from platform_resources.contracts.column_types import column_type
from platform_resources.contracts.model import Contract
from platform_resources.contracts.specs import contract_tags, product_spec
from platform_resources.core.keys import REPO_ROOT
from platform_resources.mesh.workspace import workspace_contracts
from platform_resources.products.dbt_model_contracts import (
    GENERATED,
    model_properties,
    write_model_properties,
)
from platform_resources.storage.iceberg_io import write_frames

CONTRACTS = list(workspace_contracts().values())
ORDERS_V1 = workspace_contracts()["data://orders/customer_daily_orders/v1"]
ORDERS_V2 = workspace_contracts()["data://orders/customer_daily_orders/v2"]


def _ids(contract: Contract) -> str:
    return contract.uri.removeprefix("data://")


@pytest.mark.parametrize("contract", CONTRACTS, ids=_ids)
def test_pandera_schema_has_the_contract_columns_types_and_nullability(contract: Contract) -> None:
    schema = contract.pandera_schema()
    assert list(schema.columns) == [c.name for c in contract.columns]
    for column in contract.columns:
        generated = schema.columns[column.name]
        assert generated.dtype.type == column_type(column.type).polars
        assert generated.nullable is not column.required
        assert generated.unique is column.unique
    assert schema.unique == (list(contract.composite_grain) or None)


@pytest.mark.parametrize("contract", CONTRACTS, ids=_ids)
def test_iceberg_schema_has_the_contract_columns_types_required_flags_and_docs(contract: Contract) -> None:
    fields = contract.iceberg_schema().fields
    assert [f.name for f in fields] == [c.name for c in contract.columns]
    for field, column in zip(fields, contract.columns, strict=True):
        assert field.field_type == column_type(column.type).iceberg
        assert field.required is column.required
        assert field.doc == (column.description or None)


@pytest.mark.parametrize("contract", CONTRACTS, ids=_ids)
def test_dagster_metadata_carries_the_contract(contract: Contract) -> None:
    spec = product_spec(contract)
    assert spec.description == contract.description.strip() and spec.owners == [contract.owner]
    assert spec.metadata["contract_uri"] == contract.uri
    assert spec.metadata["contract_file"] == contract.source and (REPO_ROOT / contract.source).exists()
    columns = spec.metadata["dagster/column_schema"].columns
    assert [(c.name, c.type, c.tags.get("classification")) for c in columns] == [
        (c.name, c.type, c.classification) for c in contract.columns
    ]
    assert [c.constraints.nullable for c in columns] == [not c.required for c in contract.columns]
    assert spec.tags["layer"] == contract.layer and spec.tags["retention"] == contract.retention
    assert ("published" in spec.tags) is contract.published


def test_tags_name_the_most_sensitive_classification_and_pii() -> None:
    tags = contract_tags(ORDERS_V1)
    assert tags["classification"] == "confidential" and tags["pii"] == "true" and tags["deprecated"] == "true"
    assert "deprecated" not in contract_tags(ORDERS_V2)


def _dbt_models(project: str) -> dict[tuple[str, int | None], dict]:
    """The generated dbt properties that are on disk, by (model, version)."""
    text = (REPO_ROOT / "dbt" / project / GENERATED).read_text()
    models = {}
    for model in yaml.safe_load(text)["models"]:
        for version in model.get("versions", [None]):
            models[(model["name"], version and version["v"])] = version or model
    return models


@pytest.mark.parametrize(
    "contract", [c for c in CONTRACTS if c.layer == "gold" and c.domain != "growth"], ids=_ids
)
def test_the_dbt_model_contract_on_disk_is_the_one_generated_from_the_contract(contract: Contract) -> None:
    models = _dbt_models(contract.domain)
    versioned = (contract.name, contract.major_version) in models
    model = models[(contract.name, contract.major_version if versioned else None)]
    assert model["config"]["contract"] == {"enforced": True}
    assert model["config"]["alias"] == contract.asset_name  # relation = Iceberg table name
    assert [(c["name"], c["data_type"]) for c in model["columns"]] == [
        (c.name, column_type(c.type).sql) for c in contract.columns
    ]
    required = {c["name"] for c in model["columns"] if {"type": "not_null"} in c.get("constraints", [])}
    assert required == {c.name for c in contract.columns if c.required}
    if contract.composite_grain:
        assert {"unique_combination": {"arguments": {"columns": list(contract.composite_grain)}}} in model[
            "data_tests"
        ]


def test_versions_side_by_side_become_one_dbt_versioned_model_with_the_deprecation_date() -> None:
    (model,) = model_properties([ORDERS_V1, ORDERS_V2])["models"]
    assert model["latest_version"] == 2
    v1, v2 = model["versions"]
    assert v1["deprecation_date"] == "2027-06-30" and "deprecation_date" not in v2
    assert "orders" in [c["name"] for c in v1["columns"]] and "orders_placed" in [
        c["name"] for c in v2["columns"]
    ]
    assert ORDERS_V2.asset_key == dg.AssetKey(["orders", "gold", "customer_daily_orders_v2"])
    assert ORDERS_V1.product_id != ORDERS_V2.product_id


def test_generated_properties_are_rewritten_only_when_the_contracts_change(tmp_path: Path) -> None:
    (tmp_path / GENERATED).parent.mkdir(parents=True)
    assert write_model_properties(tmp_path, [ORDERS_V1]) is True
    assert write_model_properties(tmp_path, [ORDERS_V1]) is False
    assert write_model_properties(tmp_path, [ORDERS_V1, ORDERS_V2]) is True


def test_a_table_is_created_with_the_contract_schema_and_refuses_nulls_in_required_columns(tmp_path) -> None:
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path}/c.db", warehouse=f"file://{tmp_path}")
    frame = pl.DataFrame(
        {
            "order_date": [dt.date(2026, 11, 20)],
            "user_token": ["tok_" + "0" * 32],
            "orders": [1],
            "cancelled": [0],
            "refunded": [0],
            "last_order_at": [dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)],
        },
        schema=ORDERS_V1.polars_schema(),
    )
    table, _ = write_frames(
        catalog, "orders.t", frame, partition_column="order_date", schema=ORDERS_V1.iceberg_schema()
    )
    assert table.schema().as_struct() == ORDERS_V1.iceberg_schema().as_struct()
    with pytest.raises(dg.DagsterInvariantViolationError, match=r"required column .* holds nulls"):
        write_frames(catalog, "orders.t", frame.with_columns(orders=pl.lit(None, pl.Int64)))
