"""Appends that carry their own bookkeeping: rows, a snapshot summary and table properties in
one Iceberg commit, so a writer that records its position in the table can never have the
rows without the position, or the position without the rows.

Streaming writers use it to keep their source offsets in the table they write (as Iceberg's
Kafka Connect sink does): ``append_with_position`` appends a frame and sets the property in
the same commit, and ``table_property`` reads it back.
"""

from __future__ import annotations

import polars as pl
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError

from platform_resources.storage.iceberg_io import ensure_table
from platform_resources.storage.pyiceberg_internals import (
    append_producer,
    check_schema_compatible,
    write_data_files,
)

COMMIT_ATTEMPTS = 5  # a compaction or retention commit may race an append; the append is replayed


def table_property(catalog: Catalog, identifier: str, name: str) -> str | None:
    """A property of the table; None when the table or the property does not exist."""
    try:
        return catalog.load_table(identifier).properties.get(name)
    except NoSuchTableError:
        return None


def append_with_position(
    catalog: Catalog,
    identifier: str,
    frame: pl.DataFrame,
    *,
    partition_column: str,
    summary: dict[str, str],
    properties: dict[str, str],
) -> None:
    """Append ``frame`` (maybe empty) with ``summary`` on its snapshot and ``properties`` set on
    the table, in one commit; the table is created from the frame's schema if it is new.

    An empty frame commits the properties alone (no snapshot). A commit that loses a race
    with another writer is planned again on the fresh table: an append conflicts with nothing.
    """
    arrow = frame.to_arrow()
    table = ensure_table(catalog, identifier, arrow.schema, partition_column)
    check_schema_compatible(table.metadata, arrow.schema)
    files = write_data_files(table.metadata, arrow, table.io) if arrow.num_rows else []
    for attempt in range(COMMIT_ATTEMPTS):
        tx = table.transaction()
        if files:
            with append_producer(tx, summary) as append:
                for data_file in files:
                    append.append_data_file(data_file)
        tx.set_properties(properties)
        try:
            tx.commit_transaction()
            return
        except CommitFailedException:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            table = catalog.load_table(identifier)
