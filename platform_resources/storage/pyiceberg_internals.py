"""The one adapter over pyiceberg's private APIs: everything the platform uses of pyiceberg that
is not public goes through here, so an upgrade that changes them breaks one module and its test
(tests/unit/test_pyiceberg_internals.py), not the writers.

What is used, and why the public API does not serve (pyiceberg 0.12):
- ``Transaction._append_snapshot_producer``: one append snapshot fed batch by batch
  (``Transaction.append`` takes one whole table; a reader into a partitioned table is refused);
- ``pyiceberg.io.pyarrow._dataframe_to_data_files``: Parquet data files written for a batch
  without committing them (compaction and streamed writes commit their files themselves);
- ``pyiceberg.io.pyarrow._check_pyarrow_schema_compatible``: the check ``append`` makes, per batch;
- ``Catalog._convert_schema_if_needed``: an Arrow schema as the Iceberg schema ``create_table``
  would make of it, so the partition spec's source id is known before the table exists.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from typing import Any

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible, _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.table import Transaction
from pyiceberg.table.metadata import TableMetadata


def append_producer(tx: Transaction, summary: dict[str, str] | None = None) -> AbstractContextManager[Any]:
    """A fast-append snapshot producer of ``tx``: ``append_data_file`` each file, commit on exit;
    ``summary`` is added to the snapshot's summary."""
    return tx._append_snapshot_producer(summary or {})


def write_data_files(metadata: TableMetadata, batch: pa.Table, io: FileIO) -> list[DataFile]:
    """Parquet data files for ``batch`` under the table's location, not committed. File names
    number from 0 per call: a fresh write uuid per call keeps them apart."""
    return list(_dataframe_to_data_files(table_metadata=metadata, df=batch, io=io, write_uuid=uuid.uuid4()))


def check_schema_compatible(metadata: TableMetadata, schema: pa.Schema) -> None:
    """Raise ValueError when ``schema`` cannot be written into the table (as ``append`` would)."""
    _check_pyarrow_schema_compatible(
        metadata.schema(), provided_schema=schema, format_version=metadata.format_version
    )


def iceberg_schema_of(catalog: Catalog, schema: Schema | pa.Schema) -> Schema:
    """The Iceberg schema ``create_table`` makes of ``schema`` (an Arrow one converted)."""
    return catalog._convert_schema_if_needed(schema)
