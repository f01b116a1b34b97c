"""The pyiceberg private APIs the platform relies on still do what it relies on: a pyiceberg
upgrade that renames, re-signs or changes one fails here, naming it, before any writer breaks."""

import inspect

import pyarrow as pa
import pytest
from pyiceberg.io import pyarrow as pyiceberg_pyarrow
from pyiceberg.table import Transaction

from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.pyiceberg_internals import (
    append_producer,
    check_schema_compatible,
    iceberg_schema_of,
    write_data_files,
)

BATCH = pa.table({"id": pa.array(["a", "b", "c"]), "n": pa.array([1, 2, 3], pa.int64())})


@pytest.mark.parametrize(
    ("owner", "name", "parameters"),
    [
        (pyiceberg_pyarrow, "_dataframe_to_data_files", {"table_metadata", "df", "io", "write_uuid"}),
        (pyiceberg_pyarrow, "_check_pyarrow_schema_compatible", {"provided_schema", "format_version"}),
        (Transaction, "_append_snapshot_producer", {"snapshot_properties"}),
    ],
)
def test_the_private_functions_keep_the_parameters_the_adapter_passes(owner, name, parameters) -> None:
    function = getattr(owner, name, None)
    assert function is not None, f"pyiceberg no longer has {owner.__name__}.{name}"
    assert parameters <= set(inspect.signature(function).parameters), inspect.signature(function)


def test_a_batch_written_and_appended_through_the_adapter_reads_back_whole(home) -> None:
    catalog = load_catalog()
    catalog.create_namespace_if_not_exists("t")
    schema = iceberg_schema_of(catalog, BATCH.schema)
    assert [f.name for f in schema.fields] == ["id", "n"]  # an Arrow schema, converted
    table = catalog.create_table("t.things", schema=schema)

    with table.transaction() as tx:
        check_schema_compatible(tx.table_metadata, BATCH.schema)
        with append_producer(tx) as append:
            for half in (BATCH.slice(0, 2), BATCH.slice(2)):
                for data_file in write_data_files(tx.table_metadata, half, table.io):
                    append.append_data_file(data_file)

    table.refresh()
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == ["a", "b", "c"]
    assert len(table.snapshots()) == 1  # both batches in one append snapshot
    assert len(list(table.scan().plan_files())) == 2  # one file per call, names kept apart


def test_an_incompatible_batch_is_refused_before_anything_is_written(home) -> None:
    catalog = load_catalog()
    catalog.create_namespace_if_not_exists("t")
    table = catalog.create_table("t.things", schema=iceberg_schema_of(catalog, BATCH.schema))
    wrong = pa.schema([("id", pa.int64()), ("n", pa.int64())])
    with pytest.raises(ValueError, match="id"):
        check_schema_compatible(table.metadata, wrong)
