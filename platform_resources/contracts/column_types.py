"""The contract's column types and what each becomes in Polars, Iceberg and DuckDB SQL (dbt).

One table, so the pandera schema, the Iceberg schema and the dbt model contract generated
from a contract cannot disagree on a type. Types: string, int32, int64, float64, boolean,
date, timestamp (microseconds, UTC) and decimal(p,s).
"""

import re
from dataclasses import dataclass

import polars as pl
from pyiceberg import types as it

_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


class ContractTypeError(ValueError):
    """A column type the contract format does not know."""


@dataclass(frozen=True)
class ColumnType:
    polars: pl.DataType
    iceberg: it.IcebergType
    sql: str  # DuckDB's name, as dbt's contract enforcement compares it


_SIMPLE: dict[str, ColumnType] = {
    "string": ColumnType(pl.String(), it.StringType(), "varchar"),
    "int32": ColumnType(pl.Int32(), it.IntegerType(), "integer"),
    "int64": ColumnType(pl.Int64(), it.LongType(), "bigint"),
    "float64": ColumnType(pl.Float64(), it.DoubleType(), "double"),
    "boolean": ColumnType(pl.Boolean(), it.BooleanType(), "boolean"),
    "date": ColumnType(pl.Date(), it.DateType(), "date"),
    "timestamp": ColumnType(pl.Datetime("us", "UTC"), it.TimestamptzType(), "timestamp with time zone"),
}
#: Integer widths in order: a change to a later one widens, to an earlier one narrows.
INTEGER_WIDTHS = ("int32", "int64")


def column_type(name: str) -> ColumnType:
    if name in _SIMPLE:
        return _SIMPLE[name]
    if match := _DECIMAL.fullmatch(name):
        precision, scale = int(match[1]), int(match[2])
        return ColumnType(
            pl.Decimal(precision, scale), it.DecimalType(precision, scale), f"decimal({precision},{scale})"
        )
    raise ContractTypeError(f"unknown column type {name!r}: use one of {sorted(_SIMPLE)} or decimal(p,s)")


def decimal_parts(name: str) -> tuple[int, int] | None:
    """(precision, scale) of a decimal type name, else None."""
    match = _DECIMAL.fullmatch(name)
    return (int(match[1]), int(match[2])) if match else None


def polars_type(name: str) -> pl.DataType:
    return column_type(name).polars
