"""Data contracts: the YAML files a domain keeps in ``contracts/``, parsed and enforced.

A contract is the single description of a data product (docs/contracts.md): its
identity (domain, layer, name, version, owner, URI), its columns (type, nullability,
uniqueness, ranges, allowed values, classification, PII flag and protection), its grain,
quality thresholds, SLOs, retention tier, sample queries, output ports and deprecation.
This module parses it and holds frames to it: the pandera (polars backend) schema, the
split of a frame into the rows that honour it and the rows that do not (each with its
reason), and the outcome as a blocking Dagster asset check.

Check metadata keys: ``rows_checked``, ``failing_rows``, ``failing_ratio``,
``max_failing_ratio``, ``failure_counts`` (per column and rule) and ``failure_sample``
(at most ``SAMPLE_ROWS`` failure cases).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import pandera.polars as pa
import polars as pl
import yaml
from pyiceberg.schema import Schema
from pyiceberg.types import NestedField

from platform_resources.contracts.column_types import ContractTypeError, column_type, polars_type
from platform_resources.core.check_names import CONTRACT
from platform_resources.core.keys import REPO_ROOT
from platform_resources.core.markdown_table import markdown_table

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


def _require(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw or raw[key] in (None, ""):
        raise ContractError(f"{where}: missing required key {key!r}")
    return raw[key]


def _required_when(raw: Any, where: str) -> tuple[str, tuple[Any, ...]] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ContractError(
            f"{where}: required_when takes one column and its values, e.g. {{event_type: [a, b]}}"
        )
    ((column, values),) = raw.items()
    return column, tuple(values if isinstance(values, list) else [values])


def _known_keys(raw: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ContractError(f"{where}: unknown key(s) {unknown}; known keys are {sorted(known)}")


def _column(col: Any, where: str) -> ColumnSpec:
    if not isinstance(col, dict):
        raise ContractError(f"{where}: a column is a mapping with at least name and type")
    _known_keys(col, COLUMN_KEYS, where)
    if "allowed" in col and not isinstance(col["allowed"], list):
        raise ContractError(f"{where}: allowed takes a list of values, e.g. allowed: [USD, EUR]")
    classification = col.get("classification")
    if classification is not None and classification not in CLASSIFICATIONS:
        raise ContractError(f"{where}: classification {classification!r} not in {CLASSIFICATIONS}")
    protection = col.get("protection")
    if protection is not None and protection not in PROTECTIONS:
        raise ContractError(f"{where}: protection {protection!r} not in {PROTECTIONS}")
    try:
        polars_type(_require(col, "type", where))
    except ContractTypeError as exc:
        raise ContractError(f"{where}: {exc}") from exc
    return ColumnSpec(
        name=_require(col, "name", where),
        type=col["type"],
        description=col.get("description", ""),
        required=bool(col.get("required", False)),
        unique=bool(col.get("unique", False)),
        classification=classification,
        pii=bool(col.get("pii", False)),
        protection=protection,
        minimum=col.get("minimum"),
        maximum=col.get("maximum"),
        allowed=tuple(col["allowed"]) if "allowed" in col else None,
        pattern=col.get("pattern"),
        required_when=_required_when(col.get("required_when"), where),
    )


def _slo(raw: Any, where: str) -> SLO | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: slo is a mapping: {sorted(SLO_KEYS)}")
    _known_keys(raw, SLO_KEYS | SLO_OPTIONAL_KEYS, f"{where}: slo")
    missing = sorted(SLO_KEYS - set(raw))
    if missing:
        raise ContractError(f"{where}: slo lacks {missing}")
    objective = raw.get("objective", DEFAULT_OBJECTIVE)
    if not 0 < float(objective) < 1:
        raise ContractError(f"{where}: slo objective is a share in (0, 1), got {objective!r}")
    for share in ("completeness", "accuracy"):
        if not 0 < float(raw[share]) <= 1:
            raise ContractError(f"{where}: slo {share} is a share in (0, 1], got {raw[share]!r}")
    if int(raw["freshness_minutes"]) <= 0:
        raise ContractError(f"{where}: slo freshness_minutes must be positive")
    return SLO(
        int(raw["freshness_minutes"]), float(raw["completeness"]), float(raw["accuracy"]), float(objective)
    )


def _timeliness(raw: Any, names: set[str], where: str) -> Timeliness | None:
    if raw is None:
        return None
    keys = {"event_time", "available_at", "max_minutes"}
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: timeliness is a mapping: {sorted(keys)}")
    _known_keys(raw, keys, f"{where}: timeliness")
    timeliness = Timeliness(
        event_time=_require(raw, "event_time", where),
        available_at=_require(raw, "available_at", where),
        max_minutes=float(raw.get("max_minutes", 5)),
    )
    for column in (timeliness.event_time, timeliness.available_at):
        if column not in names:
            raise ContractError(f"{where}: timeliness names {column!r}, which is not a column")
    return timeliness


def _reconciliation(raw: Any, where: str) -> Reconciliation:
    keys = {"name", "description", "sql", "reads", "minimum", "severity"}
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: a consistency rule is a mapping: {sorted(keys)}")
    _known_keys(raw, keys, where)
    name = _require(raw, "name", where)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ContractError(f"{where}: consistency name {name!r} is not snake_case")
    reads = _listed(raw, "reads", where)
    if not reads or not all(isinstance(r, str) and re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", r) for r in reads):
        raise ContractError(f"{where}: reads lists the tables the SQL reads, e.g. [orders.silver_orders]")
    severity = raw.get("severity", "warn")
    if severity not in ("error", "warn"):
        raise ContractError(f"{where}: severity is error (stops publication) or warn, got {severity!r}")
    minimum = float(raw.get("minimum", CONSISTENCY_MINIMUM))
    if not 0 < minimum <= 1:
        raise ContractError(f"{where}: minimum is a share in (0, 1], got {minimum!r}")
    return Reconciliation(
        name=name,
        description=raw.get("description", ""),
        sql=_require(raw, "sql", where).strip(),
        reads=tuple(reads),
        minimum=minimum,
        blocking=severity == "error",
    )


def _quality(raw: Any, names: set[str], where: str) -> Quality:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: quality is a mapping: {sorted(QUALITY_KEYS)}")
    _known_keys(raw, QUALITY_KEYS, f"{where}: quality")
    blocking = _listed(raw, "blocking", f"{where}: quality")
    if unknown := sorted(set(blocking) - set(DIMENSIONS)):
        raise ContractError(f"{where}: quality blocking names {unknown}, not dimensions {DIMENSIONS}")
    rules = tuple(
        _reconciliation(r, f"{where}: quality.consistency[{i}]")
        for i, r in enumerate(_listed(raw, "consistency", f"{where}: quality"))
    )
    if len({r.name for r in rules}) != len(rules):
        raise ContractError(f"{where}: a consistency rule name is used twice")
    return Quality(
        max_failing_ratio=float(raw.get("max_failing_ratio", 0.0)),
        blocking=frozenset(blocking),
        timeliness=_timeliness(raw.get("timeliness"), names, f"{where}: quality"),
        consistency=rules,
    )


def _listed(raw: dict[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise ContractError(f"{where}: {key} takes a list")
    return value


def _ports(raw: dict[str, Any], where: str) -> tuple[Port, ...]:
    ports = []
    for i, port in enumerate(_listed(raw, "ports", where)):
        if not isinstance(port, dict) or port.get("type") not in PORT_TYPES:
            raise ContractError(f"{where}: ports[{i}] must be a mapping with a type in {PORT_TYPES}")
        _known_keys(port, {"type"}, f"{where}: ports[{i}]")
        ports.append(Port(port["type"]))
    return tuple(ports)


def _sample_queries(raw: dict[str, Any], where: str) -> tuple[SampleQuery, ...]:
    queries = []
    for i, query in enumerate(_listed(raw, "sample_queries", where)):
        query_where = f"{where}: sample_queries[{i}]"
        if not isinstance(query, dict):
            raise ContractError(f"{query_where}: a sample query is a mapping with title and sql")
        _known_keys(query, {"title", "sql"}, query_where)
        queries.append(
            SampleQuery(_require(query, "title", query_where), _require(query, "sql", query_where).strip())
        )
    return tuple(queries)


def _deprecation(raw: Any, where: str) -> Deprecation | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: deprecation is a mapping with date and successor")
    _known_keys(raw, {"date", "successor"}, f"{where}: deprecation")
    date = _require(raw, "date", f"{where}: deprecation")
    if not isinstance(date, dt.date):
        raise ContractError(f"{where}: deprecation date must be a date, YYYY-MM-DD")
    successor = raw.get("successor")
    if successor is not None and not PRODUCT_URI.fullmatch(successor):
        raise ContractError(
            f"{where}: deprecation successor {successor!r} is not data://<domain>/<product>/v<N>"
        )
    return Deprecation(date, successor)


def parse_contract(raw: Any, where: str = "contract", source: str = "") -> Contract:
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: a contract is a YAML mapping of keys, got {type(raw).__name__}")
    _known_keys(raw, CONTRACT_KEYS, where)
    if raw.get("layer") not in LAYERS:
        raise ContractError(f"{where}: layer {raw.get('layer')!r} not in {LAYERS}")
    columns = [
        _column(col, f"{where}: columns[{i}]") for i, col in enumerate(_require(raw, "columns", where))
    ]
    retention = raw.get("retention")
    if retention is not None and retention not in RETENTION_TIERS:
        raise ContractError(f"{where}: retention {retention!r} not in {RETENTION_TIERS}")
    contract = Contract(
        domain=_require(raw, "domain", where),
        layer=_require(raw, "layer", where),
        name=_require(raw, "name", where),
        version=str(_require(raw, "version", where)),
        owner=_require(raw, "owner", where),
        description=raw.get("description", ""),
        columns=tuple(columns),
        partition_column=raw.get("partition_column"),
        quality=_quality(raw.get("quality"), {c.name for c in columns}, where),
        grain=tuple(_listed(raw, "grain", where)),
        slo=_slo(raw.get("slo"), where),
        retention=retention,
        sample_queries=_sample_queries(raw, where),
        ports=_ports(raw, where),
        deprecation=_deprecation(raw.get("deprecation"), where),
        source=source,
    )
    if not re.fullmatch(r"\d+\.\d+\.\d+", contract.version):
        raise ContractError(f"{where}: version {contract.version!r} is not MAJOR.MINOR.PATCH, e.g. 1.0.0")
    names = {c.name for c in columns}
    if len(names) != len(columns):
        raise ContractError(f"{where}: a column name is used twice")
    if contract.partition_column and contract.partition_column not in names:
        raise ContractError(f"{where}: partition_column {contract.partition_column!r} is not a column")
    if unknown := sorted(set(contract.grain) - names):
        raise ContractError(f"{where}: grain names {unknown}, which are not columns")
    for c in columns:
        if c.required_when and c.required_when[0] not in names:
            raise ContractError(
                f"{where}: {c.name} is required_when {c.required_when[0]!r}, which is not a column"
            )
    return contract


@cache
def load_contract(path: Path) -> Contract:
    with open(path) as f:
        raw = yaml.safe_load(f)
    path = path.resolve()
    source = str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
    return parse_contract(raw, where=str(path), source=source)


def load_contracts(folder: Path) -> dict[str, Contract]:
    """Every ``*.yaml`` contract in a domain's ``contracts/`` folder, by asset name (name, name_vN)."""
    contracts: dict[str, Contract] = {}
    for path in sorted(folder.glob("*.yaml")):
        contract = load_contract(path)
        if contract.asset_name in contracts:
            raise ContractError(f"{path}: {contract.uri} is already described in {folder}")
        contracts[contract.asset_name] = contract
    return contracts


@dataclass(frozen=True)
class ContractOutcome:
    """The result of holding a frame to its contract."""

    contract: Contract
    rows_checked: int
    failure_cases: pl.DataFrame  # pandera's failure cases: column, check, failure_case, index

    @property
    def failing_index(self) -> pl.Series:
        return self.failure_cases.get_column("index").drop_nulls().unique()

    @property
    def failing_rows(self) -> int:
        return len(self.failing_index)

    @property
    def failing_ratio(self) -> float:
        return self.failing_rows / self.rows_checked if self.rows_checked else 0.0

    @property
    def passed(self) -> bool:
        return self.failing_ratio <= self.contract.max_failing_ratio

    def reasons(self) -> pl.DataFrame:
        """One row per failing row index with every rule it broke, joined by '; '."""
        return (
            self.failure_cases.filter(pl.col("index").is_not_null())
            .group_by("index")
            .agg(
                pl.concat_str(
                    pl.col("column").fill_null("row"),
                    pl.lit(": "),
                    pl.col("check"),
                    pl.lit(" (got "),
                    pl.col("failure_case").fill_null("null"),
                    pl.lit(")"),
                )
                .sort()
                .str.join("; ")
                .alias("reason")
            )
        )

    def check_result(
        self, asset_key: dg.AssetKey, extra: dict[str, Any] | None = None
    ) -> dg.AssetCheckResult:
        counts = (
            self.failure_cases.with_columns(pl.col("column").fill_null("row"))
            .group_by("column", "check")
            .len()
            .sort("len", descending=True)
            if len(self.failure_cases)
            else pl.DataFrame()
        )
        metadata: dict[str, Any] = {
            "contract": f"{self.contract.product_id} v{self.contract.version}",
            "rows_checked": dg.MetadataValue.int(self.rows_checked),
            "failing_rows": dg.MetadataValue.int(self.failing_rows),
            "failing_ratio": dg.MetadataValue.float(round(self.failing_ratio, 6)),
            "max_failing_ratio": dg.MetadataValue.float(self.contract.max_failing_ratio),
            "failure_counts": dg.MetadataValue.json(
                {f"{r['column']}: {r['check']}": r["len"] for r in counts.iter_rows(named=True)}
            ),
        }
        if len(self.failure_cases):
            sample = self.failure_cases.head(SAMPLE_ROWS).with_columns(pl.all().cast(pl.String))
            table = markdown_table(sample.columns, sample.iter_rows())
            metadata["failure_sample"] = dg.MetadataValue.md(table)
        metadata.update(extra or {})
        return dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=CONTRACT_CHECK,
            passed=self.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=metadata,
            description=None
            if self.passed
            else (
                f"{self.failing_rows} of {self.rows_checked} rows break {self.contract.product_id} "
                f"v{self.contract.version} (allowed ratio {self.contract.max_failing_ratio})"
            ),
        )


FAILURE_CASES_SCHEMA = {"column": pl.String, "check": pl.String, "failure_case": pl.String, "index": pl.Int64}


def hold_to_contract(frame: pl.DataFrame, contract: Contract, check_unique: bool = True) -> ContractOutcome:
    """Validate every row; a frame whose columns or types differ from the contract is an error.

    ``check_unique=False`` is for one batch of a larger table, whose uniqueness is checked whole.
    """
    expected = contract.polars_schema()
    if frame.schema != expected:
        raise ContractError(
            f"frame for {contract.product_id} does not have the contract's columns and types: "
            f"expected {dict(expected)}, got {dict(frame.schema)}"
        )
    try:
        contract.pandera_schema(check_unique).validate(frame, lazy=True)
        cases = pl.DataFrame(schema=FAILURE_CASES_SCHEMA)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.select(
            "column", "check", pl.col("failure_case").cast(pl.String), pl.col("index").cast(pl.Int64)
        )
    return ContractOutcome(contract=contract, rows_checked=frame.height, failure_cases=cases)


def split_by_contract(frame: pl.DataFrame, outcome: ContractOutcome) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that honour the contract, rows that break it with a ``reason`` column)."""
    indexed = frame.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    reasons = outcome.reasons()
    valid = indexed.join(reasons, on="index", how="anti").drop("index")
    rejected = indexed.join(reasons, on="index", how="inner").drop("index")
    return valid, rejected
