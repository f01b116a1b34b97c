"""Staging for steps larger than memory: a scratch DuckDB on disk, contracts held in batches.

A step streams its input (e.g. ``TableWindow.stream``) into a DuckDB of its own, which
spills to the scratch folder past ``STAGE_MEMORY_LIMIT``, types and dedupes it there,
holds each staged table to its
contract batch by batch (uniqueness over the whole table, in SQL), and hands the IO
manager the rows to publish as a stream of frames. Nothing holds a day in memory.
"""

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import polars as pl

from platform_resources.contracts.enforcement import FAILURE_CASES_SCHEMA, ContractOutcome, hold_to_contract
from platform_resources.contracts.model import Contract
from platform_resources.core.settings import get_paths

STAGE_MEMORY_LIMIT = "1GB"
BATCH_ROWS = 100_000
#: Every staged table carries its row's position; failure cases and splits refer to it.
ROW_INDEX = "row_index"


@contextmanager
def scratch_duckdb(label: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that spills to a folder of its own under scratch, removed afterwards."""
    folder = get_paths().scratch / "stage" / f"{label}-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    con = duckdb.connect(
        ":memory:",
        config={"memory_limit": STAGE_MEMORY_LIMIT, "temp_directory": str(folder / "spill")},
    )
    try:
        con.execute("SET GLOBAL TimeZone = 'UTC'")  # global: cursors see it too
        yield con
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)


def stage_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Store a (small) frame as a staged table, visible to every cursor."""
    con.register("_incoming", frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _incoming")
    finally:
        con.unregister("_incoming")


def frames(con: duckdb.DuckDBPyConnection, sql: str, rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """The result of ``sql`` as frames of at most ``rows`` rows, on a cursor of its own."""
    cursor = con.cursor()
    try:
        for batch in cursor.execute(sql).to_arrow_reader(rows):
            yield pl.from_arrow(batch)
    finally:
        cursor.close()


def hold_staged_to_contract(
    con: duckdb.DuckDBPyConnection, table: str, contract: Contract, rows: int = BATCH_ROWS
) -> ContractOutcome:
    """Hold a staged table to its contract; failure cases are indexed by ``row_index``."""
    columns = ", ".join(contract.polars_schema().names())
    cases = [_duplicates(con, table, column.name) for column in contract.columns if column.unique]
    checked = 0
    for frame in frames(con, f"SELECT {ROW_INDEX}, {columns} FROM {table}", rows):
        outcome = hold_to_contract(frame.drop(ROW_INDEX), contract, check_unique=False)
        checked += frame.height
        if outcome.failure_cases.height:
            positions = frame.select(pl.col(ROW_INDEX).alias("staged")).with_row_index("index")
            cases.append(
                outcome.failure_cases.join(
                    positions.with_columns(pl.col("index").cast(pl.Int64)), on="index", how="left"
                )
                .with_columns(index=pl.col("staged"))
                .drop("staged")
            )
    failure_cases = pl.concat(cases) if cases else pl.DataFrame(schema=FAILURE_CASES_SCHEMA)
    return ContractOutcome(contract=contract, rows_checked=checked, failure_cases=failure_cases)


def _duplicates(con: duckdb.DuckDBPyConnection, table: str, column: str) -> pl.DataFrame:
    """pandera's ``field_uniqueness`` failure cases, over the whole staged table."""
    found = con.sql(
        f"""SELECT '{column}' AS "column", 'field_uniqueness' AS "check",
                   CAST({column} AS VARCHAR) AS failure_case, {ROW_INDEX} AS "index"
            FROM {table}
            WHERE {column} IN (SELECT {column} FROM {table} GROUP BY 1 HAVING count(*) > 1)"""
    ).pl()
    return found.cast(FAILURE_CASES_SCHEMA)  # type: ignore[arg-type]
