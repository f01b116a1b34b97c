"""The data contract as a model: a product's identity, columns, grain, quality, SLOs, ports and
deprecation (docs/contracts.md), with the schemas derived from it (pandera, Iceberg, polars,
Dagster's table schema). Parsing is in ``parsing.py``, enforcement in ``enforcement.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandera.polars as pa
import polars as pl
from pyiceberg.schema import Schema
from pyiceberg.types import NestedField

from platform_resources.contracts.column_types import column_type, polars_type
from platform_resources.core.check_names import CONTRACT

SAMPLE_ROWS = 20
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
LAYERS = ("bronze", "silver", "gold")
#: Seed 002's tiers (hot 0-7 days, warm 8-90, cold 90+, analytics 3 years, ML 5 years) and
#: seed 003's raw Bronze (7 years); issue 8's retention job expires data past them.
RETENTION_TIERS = ("hot", "warm", "cold", "analytics", "ml", "raw")
PORT_TYPES = ("iceberg", "file", "stream")  # the table; Parquet files per day; a NATS stream
PROTECTIONS = ("tokenized", "masked")
#: Quality dimensions measured in a product's own step; those a contract lists under
#: ``quality.blocking`` stop publication when breached, the others warn.
DIMENSIONS = ("completeness", "accuracy", "uniqueness", "timeliness")
QUALITY_KEYS = {"max_failing_ratio", "blocking", "timeliness", "consistency"}
CONSISTENCY_MINIMUM = 0.98  # seed 002: consistency > 98%
SLO_KEYS = {"freshness_minutes", "completeness", "accuracy"}
SLO_OPTIONAL_KEYS = {"objective"}
DEFAULT_OBJECTIVE = 0.99  # share of an SLO's evaluations that must meet it over the report window
CONTRACT_KEYS = {
    "domain",
    "layer",
    "name",
    "version",
    "owner",
    "description",
    "partition_column",
    "grain",
    "quality",
    "slo",
    "retention",
    "sample_queries",
    "ports",
    "deprecation",
    "columns",
}
COLUMN_KEYS = {
    "name",
    "type",
    "description",
    "required",
    "unique",
    "classification",
    "pii",
    "protection",
    "minimum",
    "maximum",
    "allowed",
    "pattern",
    "required_when",
}
CONTRACT_CHECK = CONTRACT
PRODUCT_URI = re.compile(
    r"data://(?P<domain>[a-z][a-z0-9_]*)/(?P<product>[a-z][a-z0-9_]*)/v(?P<major>[1-9]\d*)"
)


class ContractError(ValueError):
    """A contract file that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    description: str = ""
    required: bool = False
    unique: bool = False
    classification: str | None = None  # governance requires one on every column
    pii: bool = False
    protection: str | None = None  # tokenized | masked: how a PII column is kept out of sight
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[Any, ...] | None = None
    pattern: str | None = None
    required_when: tuple[str, tuple[Any, ...]] | None = None  # (column, values) that make it required

    def conditional_check(self) -> pa.Check | None:
        """A row-level check: this column is present whenever ``required_when`` holds."""
        if self.required_when is None:
            return None
        other, values = self.required_when
        name, condition = self.name, pl.col(other).is_in(list(values))
        return pa.Check(
            lambda data: data.lazyframe.select(pl.col(name).is_not_null() | ~condition.fill_null(False)),
            name=f"{name} required when {other} in {list(values)}",
        )

    def pandera_column(self, check_unique: bool = True) -> pa.Column:
        checks = []
        if self.minimum is not None:
            checks.append(pa.Check.ge(self.minimum))
        if self.maximum is not None:
            checks.append(pa.Check.le(self.maximum))
        if self.allowed is not None:
            checks.append(pa.Check.isin(list(self.allowed)))
        if self.pattern is not None:
            checks.append(pa.Check.str_matches(self.pattern))
        return pa.Column(
            polars_type(self.type),
            checks=checks,
            nullable=not self.required,
            unique=self.unique and check_unique,
            description=self.description or None,
        )


@dataclass(frozen=True)
class SLO:
    """What the product promises: data no older than ``freshness_minutes``, and quality shares."""

    freshness_minutes: int
    completeness: float  # share of rows with every required value present
    accuracy: float  # share of rows passing the value rules
    #: The share of evaluations that must meet each of these over a window; 1 - objective
    #: is the error budget the SLO report spends.
    objective: float = DEFAULT_OBJECTIVE


@dataclass(frozen=True)
class Timeliness:
    """Event time to availability: p95 of ``available_at - event_time`` at most ``max_minutes``."""

    event_time: str
    available_at: str
    max_minutes: float


@dataclass(frozen=True)
class Reconciliation:
    """A consistency rule across tables or domains, run by DuckDB over the products' tables.

    ``sql`` reads tables named ``<domain>.<layer>_<name>`` (restricted to the checked
    partitions) and returns one row of two columns, ``consistent`` and ``checked``: the
    check passes while ``consistent / checked`` stays at or above ``minimum``.
    """

    name: str
    description: str
    sql: str
    reads: tuple[str, ...]  # the product tables the SQL reads, <domain>.<layer>_<name>
    minimum: float = CONSISTENCY_MINIMUM
    blocking: bool = False


@dataclass(frozen=True)
class Quality:
    """The contract's quality rules: the contract check's tolerance, dimension severities, rules."""

    max_failing_ratio: float = 0.0
    blocking: frozenset[str] = frozenset()  # dimensions whose breach stops publication
    timeliness: Timeliness | None = None
    consistency: tuple[Reconciliation, ...] = ()


@dataclass(frozen=True)
class SampleQuery:
    """A DuckDB query over the products' tables (``<domain>.<layer>_<name>``), runnable as written."""

    title: str
    sql: str


@dataclass(frozen=True)
class Port:
    """An output port: ``iceberg`` (its table), ``file`` (Parquet per day) or ``stream`` (NATS JetStream)."""

    type: str


@dataclass(frozen=True)
class Deprecation:
    date: dt.date  # after this day the version may be removed
    successor: str | None = None  # the URI to move to


@dataclass(frozen=True)
class Contract:
    domain: str
    layer: str
    name: str
    version: str
    owner: str
    description: str
    columns: tuple[ColumnSpec, ...]
    partition_column: str | None = None
    quality: Quality = Quality()
    grain: tuple[str, ...] = ()  # the columns that identify a row
    slo: SLO | None = None
    retention: str | None = None
    sample_queries: tuple[SampleQuery, ...] = ()
    ports: tuple[Port, ...] = ()
    deprecation: Deprecation | None = None
    source: str = field(default="", compare=False)  # the file, relative to the repository

    @property
    def max_failing_ratio(self) -> float:
        return self.quality.max_failing_ratio

    @property
    def major_version(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def asset_name(self) -> str:
        """The name in the asset key and table: ``name`` for v1, ``name_v<N>`` for later majors."""
        return self.name if self.major_version == 1 else f"{self.name}_v{self.major_version}"

    @property
    def product_id(self) -> str:
        return f"{self.domain}.{self.layer}_{self.asset_name}"

    @property
    def published(self) -> bool:
        """Published products have output ports: the only tables other domains may read."""
        return bool(self.ports)

    @property
    def composite_grain(self) -> tuple[str, ...]:
        """The grain, unless one column already marked ``unique`` is all of it (checked as such)."""
        if len(self.grain) == 1 and (column := self.column(self.grain[0])) is not None and column.unique:
            return ()
        return self.grain

    def column(self, name: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def uri(self) -> str:
        """The product's address, ``data://<domain>/<product>/v<major>``: what consumers pin."""
        return f"data://{self.domain}/{self.name}/v{self.major_version}"

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey([self.domain, self.layer, self.asset_name])

    def pandera_schema(self, check_unique: bool = True) -> pa.DataFrameSchema:
        """The pandera schema; ``check_unique=False`` leaves uniqueness to a check over the whole table."""
        return pa.DataFrameSchema(
            {c.name: c.pandera_column(check_unique) for c in self.columns},
            checks=[chk for c in self.columns if (chk := c.conditional_check()) is not None],
            unique=list(self.composite_grain) if self.composite_grain and check_unique else None,
            strict=True,
            name=self.product_id,
        )

    def iceberg_schema(self) -> Schema:
        """The Iceberg schema the product's table is created with: types, required flags and docs."""
        return Schema(
            *(
                NestedField(
                    field_id=i,
                    name=c.name,
                    field_type=column_type(c.type).iceberg,
                    required=c.required,
                    doc=c.description or None,
                )
                for i, c in enumerate(self.columns, start=1)
            )
        )

    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: polars_type(c.type) for c in self.columns})

    def table_schema(self) -> dg.TableSchema:
        """Column schema for the Dagster UI, with each column's classification."""
        return dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=c.name,
                    type=c.type,
                    description=c.description or None,
                    constraints=dg.TableColumnConstraints(nullable=not c.required, unique=c.unique),
                    tags={
                        **({"classification": c.classification} if c.classification else {}),
                        **({"pii": "true"} if c.pii else {}),
                        **({"protection": c.protection} if c.protection else {}),
                    },
                )
                for c in self.columns
            ]
        )
