"""The platform's reader: tables as a role may see them, in a locked DuckDB connection or as Polars.

``secure_connection`` copies each table a role may read into an in-memory DuckDB table
named like the Iceberg table (``<domain>.<layer>_<name>``), with the role's masks and row
filters (``access_policies``) already applied, then turns DuckDB's file system access off
and locks its configuration: SQL on the connection reads those copies only, never the
warehouse files, the catalog or an extension. Reads by audited roles are appended to
``$MESHHOUSE_HOME/audit/reads.jsonl`` before any data is read.
"""

import datetime as dt
import getpass
from collections.abc import Iterable

import duckdb
import polars as pl

from platform_resources.mesh.workspace import products_by_table
from platform_resources.privacy.access_policies import REDACTED, AccessDenied, TableAccess, load_policy
from platform_resources.privacy.audit_log import append_audit
from platform_resources.storage.catalog import load_catalog, table_identifiers
from platform_resources.storage.iceberg_io import TableWindow

READ_LOG = "reads"  # $MESHHOUSE_HOME/audit/reads.jsonl
_SOURCE = "_unmasked_source"  # a table's Arrow data while it is copied in; unregistered after


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _table_name(identifier: str) -> str:
    return ".".join(_identifier(part) for part in identifier.split("."))


def _locked(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The connection with no file system access (files, extensions, Python variables) from now on."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def referenced_tables(sql: str) -> set[str]:
    """The ``<schema>.<table>`` names ``sql`` reads, parsed in a locked DuckDB (which refuses file reads)."""
    with _locked(duckdb.connect()) as con:
        names = [name.split(" AS ")[0] for name in con.get_table_names(sql, qualified=True)]
    return {".".join(name.lower().split(".")[-2:]) for name in names if "." in name}


def _projection(column: str, sql_type: str, mask: str | None) -> str:
    if mask is None:
        return _identifier(column)
    shown = _literal(REDACTED) if mask == "redact" and sql_type == "VARCHAR" else "NULL"
    return f"CAST({shown} AS {sql_type}) AS {_identifier(column)}"


def _copy_in(con: duckdb.DuckDBPyConnection, access: TableAccess) -> None:
    """The table as the role sees it, as an in-memory table of the same name."""
    window = TableWindow(access.identifier)
    files = window.local_files()
    if files:
        paths = ", ".join(_literal(f) for f in files)
        source = f"read_parquet([{paths}], union_by_name = true)"
    else:  # remote files, delete files or none: read through pyiceberg
        con.register(_SOURCE, window.lazy().collect().to_arrow())
        source = _SOURCE
    relation = con.sql(f"SELECT * FROM {source}")
    # the table's current columns only: a file may hold one by another name (dropped, renamed),
    # which no mask covers
    select = ", ".join(
        _projection(column, str(sql_type), access.masks.get(column))
        for column, sql_type in zip(relation.columns, relation.types, strict=True)
        if column in access.columns
    )
    kept = [
        f"{_identifier(column)} IN ({', '.join(_literal(v) for v in values)})"
        for column, values in access.row_filters.items()
    ]
    schema = access.identifier.split(".")[0]
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {_identifier(schema)}")
    con.execute(
        f"CREATE TABLE {_table_name(access.identifier)} AS SELECT {select} "
        f"FROM (SELECT * FROM {source} WHERE {' AND '.join(kept) or 'true'})"
    )
    if not files:
        con.unregister(_SOURCE)


def secure_connection(
    role: str, products: Iterable[str] | None = None, *, query: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A locked DuckDB with ``products`` (default: every table the role may read) as the role sees them.

    Naming a table the role may not read raises ``AccessDenied``; a name that is no table
    is left out (a query on it fails as on any missing table). ``query``, the SQL about to
    run, goes into the audit record.
    """
    policy_role = load_policy().role(role)
    catalog = load_catalog()
    existing = table_identifiers(catalog)
    named = existing if products is None else sorted(set(products) & set(existing))
    contracts = products_by_table()
    readable = []
    for identifier in named:
        columns = [f.name for f in catalog.load_table(identifier).schema().fields]
        try:
            readable.append(policy_role.access(identifier, columns, contracts.get(identifier)))
        except AccessDenied:
            if products is not None:
                raise
    if policy_role.audit:  # before any data is read
        append_audit(
            READ_LOG,
            {
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "role": role,
                "user": getpass.getuser(),
                "products": [access.identifier for access in readable],
                "query": query,
            },
        )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # timestamps come back as the contracts type them
    for access in readable:
        _copy_in(con, access)
    return _locked(con)


def read_product(role: str, product_id: str) -> pl.DataFrame:
    """The product's table (``<domain>.<layer>_<name>``) as ``role`` sees it."""
    with secure_connection(role, [product_id]) as con:
        return con.sql(f"SELECT * FROM {_table_name(product_id)}").pl()
