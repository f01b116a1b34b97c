"""The Silver event factory: a domain's Bronze events typed, deduplicated and held to contracts.

File and stream Bronze are one population: an event landed both ways is kept once. Change
events (CDC row images, ``cdc.<schema>.<table>``) are not domain events and are not typed here.
Timeliness is measured on the events that came through the stream (``nats://`` sources), the
live path the five-minute objective is for; a replayed or daily file is a batch delivery,
whose lateness the products' freshness policies and partition freshness measure.

A domain describes how it types its events (``EventTyping``): the struct its ``data``
is parsed into (once per event), the SQL of its typed columns, the values to tokenize,
and child products unnested from the same events (e.g. order items). The factory builds
the step: stage in a spilling DuckDB (``staging``), hold each product to its contract in
batches, reject an event with every reason (a bad child, or an event time outside its
landing day, rejects the event and its children), and publish the rest only if every
check passes. Rejected events are listed in ``<domain>/silver/rejected`` with every reason and
their Bronze line (landing day, file, line): Silver copies no raw line, so it holds no raw
personal data; the raw stays in Bronze, readable by raw-table roles only.
"""

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa

from platform_resources.contracts.enforcement import ContractOutcome
from platform_resources.contracts.model import Contract
from platform_resources.contracts.specs import (
    QUARANTINE_ROLE,
    ROLE_TAG,
    product_spec,
    publish_if_passed,
)
from platform_resources.core.automation import CHUNKED_BACKFILL, DUCKDB_POOL, RETRY, on_upstream_change
from platform_resources.core.keys import IO_MANAGER_KEY, PARTITION_EXPR
from platform_resources.core.partitions import DAILY
from platform_resources.ingest.bronze import LANDING_DATE, bronze_keys
from platform_resources.operational.cdc import CDC_EVENT_PREFIX
from platform_resources.privacy.tokenize import token_macro_sql
from platform_resources.quality.dimensions import quality_check_results, quality_check_specs
from platform_resources.storage.iceberg_io import TableWindow
from platform_resources.storage.outages import reporting_outages
from platform_resources.storage.staging import (
    ROW_INDEX,
    frames,
    hold_staged_to_contract,
    scratch_duckdb,
    stage_frame,
)
from platform_resources.stream.stream_bronze import STREAM_SOURCE_PREFIX, stream_bronze_keys

#: Bronze columns the typing query sees (besides ``j``, the parsed ``data``).
BRONZE_COLUMNS = [
    "event_id",
    "event_type",
    "event_ts",
    "user_id",
    "session_id",
    "correlation_id",
    "region",
    "source_file",
    "line_number",
    "ingested_at",
    LANDING_DATE,
    "raw",
]
_KEY_COLUMNS = ["event_id", "event_type", LANDING_DATE, "source_file", "line_number"]
#: Bronze rows the typing reads: the domain's events, not the change events captured beside them.
_DOMAIN_EVENTS = f"event_type IS NULL OR NOT starts_with(event_type, '{CDC_EVENT_PREFIX}')"
#: (landing day, file, line) of every copy of an event id but its first: what dedupe drops.
_LATER_COPIES = f"""
CREATE TABLE later_copies AS
SELECT {LANDING_DATE}, source_file, line_number FROM bronze_keys
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY {LANDING_DATE}, source_file, line_number) > 1
"""
REJECTED_COLUMNS = [
    "event_id",
    "event_type",
    "event_ts",
    "reason",
    "source_file",
    "line_number",
    LANDING_DATE,
]


@dataclass(frozen=True)
class ChildProduct:
    """Rows unnested from the typed events, published as a product of their own."""

    contract: Contract
    #: SELECT over the staged ``events`` (alias ``e``) yielding ``event_id`` and the contract's columns.
    select_sql: str
    #: SQL naming a child row (alias ``c``) in its event's reason, e.g. ``'item ' || c.item_index``.
    label_sql: str

    @property
    def table(self) -> str:
        return f"child_{self.contract.name}"


@dataclass(frozen=True)
class EventTyping:
    """How a domain types its Bronze events into its Silver event product."""

    contract: Contract
    #: The ``json_transform`` structure of the envelope's ``data`` (a value of another type becomes null).
    data: dict[str, Any]
    #: Typed columns, over ``j`` (the parsed envelope) and ``BRONZE_COLUMNS``; may call ``token(v)``.
    columns_sql: str
    #: Token column -> SQL of the value it replaces, tokenized once per distinct value.
    tokens: dict[str, str] = field(default_factory=dict)
    children: tuple[ChildProduct, ...] = ()
    #: Functions returning ``CREATE MACRO`` statements the typing SQL calls; run at each
    #: staging, so the secrets they embed are read then, never at import.
    macros: tuple[Callable[[], str], ...] = ()

    def stage_sql(self) -> str:
        structure = json.dumps({"data": self.data}).replace("'", "''")
        hidden = {name: f"__value_{name}" for name in self.tokens}
        values = "".join(f",\n        {expr} AS {hidden[name]}" for name, expr in self.tokens.items())
        token_ctes = "".join(
            f", token_{name} AS (SELECT v, token(v) AS t FROM (SELECT DISTINCT {hidden[name]} AS v "
            "FROM typed))"
            for name in self.tokens
        )
        joins = "".join(
            f"\nLEFT JOIN token_{name} ON typed.{hidden[name]} = token_{name}.v" for name in self.tokens
        )
        tokens = "".join(f", token_{name}.t AS {name}" for name in self.tokens)
        exclude = f" EXCLUDE ({', '.join(hidden.values())})" if hidden else ""
        return f"""
CREATE TABLE events AS
WITH typed AS MATERIALIZED (
    SELECT
        CAST(row_number() OVER () - 1 AS BIGINT) AS {ROW_INDEX},
        event_id, event_type, event_ts, CAST(event_ts AS DATE) AS event_date,
        {self.columns_sql}{values},
        correlation_id, region, source_file, line_number, ingested_at, {LANDING_DATE}
    FROM (
        SELECT * EXCLUDE (raw), json_transform(raw, '{structure}') AS j
        FROM bronze ANTI JOIN later_copies USING ({LANDING_DATE}, source_file, line_number)
    )
){token_ctes}
SELECT typed.*{exclude}{tokens}
FROM typed{joins}
"""


def event_type_after(prefix: str) -> str:
    """SQL of the event type without ``prefix`` (``'order.paid'`` -> ``'paid'``); null for another type."""
    quoted = prefix.replace("'", "''")
    return f"CASE WHEN starts_with(event_type, '{quoted}') THEN substr(event_type, {len(prefix) + 1}) END"


def _rows(bronze: TableWindow | pl.DataFrame, columns: list[str]) -> pa.RecordBatchReader | pa.Table:
    if isinstance(bronze, TableWindow):
        return bronze.stream(columns)
    return bronze.select(columns).to_arrow()


def _present(sources: Sequence[TableWindow | pl.DataFrame]) -> list[TableWindow | pl.DataFrame]:
    """The sources with a table to read (a domain whose stream never delivered has no stream Bronze)."""
    present = [s for s in sources if not isinstance(s, TableWindow) or s.exists()]
    if not present:
        names = ", ".join(s.identifier for s in sources if isinstance(s, TableWindow))
        raise dg.DagsterInvariantViolationError(f"no Bronze table to type yet ({names}): nothing was staged")
    return present


def _local_files(sources: Sequence[TableWindow | pl.DataFrame]) -> list[str] | None:
    """Every source's data files, when all are tables DuckDB may scan directly."""
    files: list[str] = []
    for source in sources:
        listed = source.local_files() if isinstance(source, TableWindow) else None
        if listed is None:
            return None
        files += listed
    return files


def stage_events(
    con: duckdb.DuckDBPyConnection, typing: EventTyping, *sources: TableWindow | pl.DataFrame
) -> int:
    """Stage ``events`` and each child table of Bronze windows (file and stream Bronze, one
    population: an event in both is kept once); returns the later copies dropped.

    The key columns are read first (to find the later copies), then the raw lines once, by
    the typing query; they stay out of the staged tables (they are the bulk of a day's
    bytes): rejected events get theirs back from Bronze by file and line.
    """
    for statement in (token_macro_sql(), *(macro() for macro in typing.macros)):
        con.execute(statement)
    present = _present(sources)
    files = _local_files(present)
    for view, columns, sql in (
        ("bronze_keys", _KEY_COLUMNS, _LATER_COPIES),
        ("bronze", BRONZE_COLUMNS, typing.stage_sql()),
    ):
        if files:  # DuckDB scans local Parquet files itself, in parallel
            listed = ", ".join(f"'{f}'" for f in files)
            con.execute(
                f"CREATE TEMP VIEW {view} AS SELECT {', '.join(columns)} "
                f"FROM read_parquet([{listed}], union_by_name = true) WHERE {_DOMAIN_EVENTS}"
            )
            con.execute(sql)
            con.execute(f"DROP VIEW {view}")
        else:
            parts = [f"{view}_{i}" for i in range(len(present))]
            for part, source in zip(parts, present, strict=True):
                con.register(part, _rows(source, columns))
            union = " UNION ALL ".join(f"SELECT * FROM {part}" for part in parts)
            con.execute(f"CREATE TEMP VIEW {view} AS SELECT * FROM ({union}) WHERE {_DOMAIN_EVENTS}")
            con.execute(sql)
            con.execute(f"DROP VIEW {view}")
            for part in parts:
                con.unregister(part)
    for child in typing.children:
        con.execute(
            f"CREATE TABLE {child.table} AS "
            f"SELECT CAST(row_number() OVER () - 1 AS BIGINT) AS {ROW_INDEX}, * FROM ({child.select_sql})"
        )
    return con.execute("SELECT count(*) FROM later_copies").fetchone()[0]


def _columns(contract: Contract) -> str:
    return ", ".join(contract.polars_schema().names())


def _extra_failures_sql(typing: EventTyping) -> str:
    """Failure cases beyond the event contract, by event row: outside the landing day, bad children."""
    parts = [
        f"""SELECT 'event_date' AS "column",
                   'equals its landing day ' || CAST({LANDING_DATE} AS VARCHAR) AS "check",
                   CAST(event_date AS VARCHAR) AS failure_case, {ROW_INDEX} AS "index"
            FROM events WHERE event_date <> {LANDING_DATE}"""
    ]
    for child in typing.children:
        parts.append(
            f"""SELECT '{child.contract.name}', {child.label_sql} || ' honours {child.contract.name}',
                       r.reason, e.{ROW_INDEX}
                FROM reasons_{child.table} r JOIN {child.table} c ON c.{ROW_INDEX} = r."index"
                JOIN events e ON e.event_id = c.event_id"""
        )
    return "\nUNION ALL\n".join(parts)


def _timed_events(con: duckdb.DuckDBPyConnection, contract: Contract) -> pl.DataFrame | None:
    """The timeliness columns of the staged events that came through the stream, when the
    contract declares timeliness."""
    rule = contract.quality.timeliness
    if rule is None:
        return None
    live = f"starts_with(source_file, '{STREAM_SOURCE_PREFIX}')"
    return con.sql(f"SELECT {rule.event_time}, {rule.available_at} FROM events WHERE {live}").pl()


#: Staged events that broke a rule, each with every reason (``event_reasons`` by row index).
_REJECTED_SQL = f"""
SELECT e.event_id, e.event_type, e.event_ts, r.reason, e.source_file, e.line_number, e.{LANDING_DATE}
FROM events e JOIN event_reasons r ON e.{ROW_INDEX} = r."index"
"""
_PASSING_EVENTS = f'WHERE {ROW_INDEX} NOT IN (SELECT "index" FROM event_reasons)'
_PASSING_CHILDREN = f"WHERE event_id NOT IN (SELECT event_id FROM ({_REJECTED_SQL}))"


def _silver_specs(domain: str, typing: EventTyping) -> list[dg.AssetSpec]:
    """The event product's and its children's specs, and the rejects' (not a data product)."""
    bronze_events, stream_events = bronze_keys(domain)[0], stream_bronze_keys(domain)[0]
    kinds = {"iceberg", "duckdb", "polars"}
    products = [typing.contract, *(child.contract for child in typing.children)]
    rejected = dg.AssetSpec(
        _rejected_key(domain),
        description=f"{domain} events that are valid envelopes but break a Silver contract, "
        "with every reason and their Bronze line (landing_date, source_file, line_number).",
        owners=[typing.contract.owner],
        group_name=domain,
        kinds={"iceberg", "polars"},
        tags={"layer": "silver", ROLE_TAG: QUARANTINE_ROLE},  # rejects: not a data product
        metadata={PARTITION_EXPR: LANDING_DATE},
        deps=[bronze_events, stream_events],
    ).with_io_manager_key(IO_MANAGER_KEY)
    # a day refreshes by automation when late stream events reach it (landing and micro-batch
    # runs carry their own day to Silver themselves)
    refresh = on_upstream_change()
    specs = [product_spec(c, deps=[bronze_events, stream_events], kinds=kinds) for c in products]
    return [
        *(s.replace_attributes(automation_condition=refresh) for s in specs),
        rejected.replace_attributes(automation_condition=refresh),
    ]


def _rejected_key(domain: str) -> dg.AssetKey:
    return dg.AssetKey([domain, "silver", "rejected"])


def _audit_children(con: duckdb.DuckDBPyConnection, typing: EventTyping) -> list[ContractOutcome]:
    """Each child table held to its contract; its reasons staged for the events' audit."""
    outcomes = []
    for child in typing.children:
        outcome = hold_staged_to_contract(con, child.table, child.contract)
        stage_frame(con, f"reasons_{child.table}", outcome.reasons())
        outcomes.append(outcome)
    return outcomes


def _audit_events(con: duckdb.DuckDBPyConnection, typing: EventTyping) -> ContractOutcome:
    """The events held to their contract, plus the rules beyond it (landing day, bad children);
    every failing event's reasons staged as ``event_reasons``."""
    outcome = hold_staged_to_contract(con, "events", typing.contract)
    outcome = outcome.with_failures(con.sql(_extra_failures_sql(typing)).pl())
    stage_frame(con, "event_reasons", outcome.reasons())
    return outcome


def _passing_outputs(
    con: duckdb.DuckDBPyConnection, typing: EventTyping, metadata: dict[str, Any]
) -> list[dg.Output]:
    """The event product's and its children's rows of the events that broke no rule."""
    events = dg.Output(
        frames(con, f"SELECT {_columns(typing.contract)} FROM events {_PASSING_EVENTS}"),
        output_name=typing.contract.asset_key.to_python_identifier(),
        metadata=metadata,
    )
    children = [
        dg.Output(
            frames(con, f"SELECT {_columns(child.contract)} FROM {child.table} {_PASSING_CHILDREN}"),
            output_name=child.contract.asset_key.to_python_identifier(),
        )
        for child in typing.children
    ]
    return [events, *children]


def build_silver_event_assets(domain: str, typing: EventTyping) -> dg.AssetsDefinition:
    """The step typing ``domain``'s Bronze events into its event product, its children and rejects:
    stage, audit the children, audit the events, publish the passing rows only if every check
    passes; the rejects are written either way."""

    @dg.multi_asset(
        name=f"{domain}_silver_events",
        specs=_silver_specs(domain, typing),
        check_specs=quality_check_specs([typing.contract, *(c.contract for c in typing.children)]),
        ins={
            "bronze": dg.AssetIn(bronze_keys(domain)[0]),
            "stream": dg.AssetIn(stream_bronze_keys(domain)[0]),
        },
        partitions_def=DAILY,
        backfill_policy=CHUNKED_BACKFILL,
        retry_policy=RETRY,
        pool=DUCKDB_POOL,
    )
    @reporting_outages
    def silver_events(bronze: TableWindow, stream: TableWindow) -> Iterator:
        with scratch_duckdb(f"{domain}-silver") as con:
            duplicates = stage_events(con, typing, bronze, stream)
            child_outcomes = _audit_children(con, typing)
            outcome = _audit_events(con, typing)
            rejected = con.sql(_REJECTED_SQL).pl()
            yield from publish_if_passed(
                outputs=_passing_outputs(
                    con, typing, {"duplicates_removed": duplicates, "rejected": rejected.height}
                ),
                checks=[
                    *quality_check_results(
                        outcome, _timed_events(con, typing.contract), {"duplicates_removed": duplicates}
                    ),
                    *(check for o in child_outcomes for check in quality_check_results(o)),
                ],
                always=[
                    dg.Output(
                        rejected.select(REJECTED_COLUMNS),
                        output_name=_rejected_key(domain).to_python_identifier(),
                        metadata={"rejected": rejected.height},
                    )
                ],
            )

    return silver_events
