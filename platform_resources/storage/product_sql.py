"""DuckDB over the products' Iceberg tables: one view per table, named ``<domain>.<layer>_<name>``.

Sample queries (the catalog) and consistency rules (``table_checks``) are written
against these names. A view covers the whole table, or only a window of days of its
partition column.
"""

import datetime as dt
from collections.abc import Iterable

import duckdb
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.contracts.column_types import column_type
from platform_resources.contracts.model import Contract
from platform_resources.storage.iceberg_io import TableWindow


def query_connection(
    contracts: Iterable[Contract],
    window: tuple[dt.date, dt.date] | None = None,
    *,
    empty_if_missing: bool = False,
) -> duckdb.DuckDBPyConnection:
    """DuckDB with a view per existing product table (its ``window`` of days when given).

    ``empty_if_missing``: a product whose table does not exist yet is an empty table with
    the contract's columns (a query over it finds nothing), instead of no table at all.
    """
    con = duckdb.connect()
    for contract in contracts:
        table_window = TableWindow(contract.product_id, contract.partition_column if window else None, window)
        schema, table = contract.product_id.split(".")
        try:
            files = table_window.local_files()
        except NoSuchTableError:
            if empty_if_missing:
                columns = ", ".join(f'"{c.name}" {column_type(c.type).sql}' for c in contract.columns)
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                con.execute(f'CREATE TABLE "{schema}"."{table}" ({columns})')
            continue
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        if files:
            paths = ", ".join("'" + f.replace("'", "''") + "'" for f in files)  # views take no parameters
            source = f"read_parquet([{paths}], union_by_name = true)"
            con.execute(f'CREATE VIEW "{schema}"."{table}" AS SELECT * FROM {source}')
        else:  # remote files, or none in the window: read through pyiceberg
            con.register(f"_arrow_{schema}_{table}", table_window.lazy().collect().to_arrow())
            con.execute(f'CREATE VIEW "{schema}"."{table}" AS SELECT * FROM "_arrow_{schema}_{table}"')
    return con
