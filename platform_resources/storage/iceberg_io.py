"""Self-serve storage: the Iceberg IO manager every domain writes its layers through.

An asset keyed ``[domain, layer, name]`` is stored as the Iceberg table
``<domain>.<layer>_<name>``. Daily-partitioned assets name their date column with the
``partition_expr`` metadata key; the table is identity-partitioned on it, and writing a
partition (or a range, for single-run backfills) replaces exactly that date range in one
atomic commit, so reruns and retries never duplicate rows. Outputs may be a Polars
DataFrame, a LazyFrame (written in bounded batches) or an iterable of DataFrames;
inputs come back as a DataFrame, a LazyFrame or an unread ``TableWindow`` (to stream),
by the input's type annotation.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, ValidationException
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, GreaterThanOrEqual, LessThan
from pyiceberg.io.pyarrow import ArrowScan, schema_to_pyarrow
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema, assign_fresh_schema_ids
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform
from sqlalchemy.exc import IntegrityError

from platform_resources.contracts.parsing import load_contract
from platform_resources.core.faults import kill_point
from platform_resources.core.keys import CONTRACT_FILE, PARTITION_EXPR, REPO_ROOT
from platform_resources.core.partitions import time_window_dates
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.erasure_fence import current_fence, step_fence
from platform_resources.storage.outages import not_committed
from platform_resources.storage.pyiceberg_internals import (
    append_producer,
    check_schema_compatible,
    iceberg_schema_of,
    write_data_files,
)

# Polars plans Iceberg scans with pyiceberg (we have no polars_iceberg planner installed); say so once.
os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")

# Arrow's default mimalloc pool kept ~10 MiB per written batch here (+105 MiB for 4x the lines
# of a day); the system pool gives memory back (+29 MiB), so writing stays near one batch.
pa.set_memory_pool(pa.system_memory_pool())

WRITE_BATCH_ROWS = 250_000
#: Snapshot summary property of GDPR erasure commits (``gdpr_erasure``), which writers that
#: raced one must not commit over.
ERASURE_SUMMARY = {"meshhouse.operation": "gdpr-erasure"}
#: Commits of a write after pyiceberg's own retries gave up on a conflict, each after a random
#: pause of up to 0.1 s, 0.2 s, 0.4 s ... (full jitter: racing writers spread out instead of
#: colliding again; three immediate attempts lost to 9 other writers on a loaded machine).
WRITE_COMMIT_ATTEMPTS = 6
WRITE_COMMIT_BACKOFF_S = 0.1


def table_identifier(asset_key: dg.AssetKey) -> str:
    """``[domain, layer, name]`` -> ``domain.layer_name``."""
    if len(asset_key.path) != 3:
        raise dg.DagsterInvariantViolationError(
            f"asset key {asset_key.to_user_string()} must be [domain, layer, name] "
            "to be stored by the Iceberg IO manager"
        )
    domain, layer, name = asset_key.path
    return f"{domain}.{layer}_{name}"


def date_range_filter(column: str, start: dt.date, end: dt.date) -> BooleanExpression:
    """Rows whose ``column`` lies in ``[start, end)``."""
    return And(GreaterThanOrEqual(column, start.isoformat()), LessThan(column, end.isoformat()))


def _to_arrow(frame: pl.DataFrame) -> pa.Table:
    # Iceberg has no nanosecond timestamps before format v3: store microseconds.
    casts = {
        name: pl.Datetime("us", dtype.time_zone)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_unit == "ns"
    }
    return (frame.with_columns(pl.col(c).cast(t) for c, t in casts.items()) if casts else frame).to_arrow()


def _batches(obj: pl.DataFrame | pl.LazyFrame | Iterable[pl.DataFrame]) -> Iterator[pa.Table]:
    if isinstance(obj, pl.DataFrame):
        yield _to_arrow(obj)
    elif isinstance(obj, pl.LazyFrame):
        for batch in obj.collect_batches(chunk_size=WRITE_BATCH_ROWS):
            yield _to_arrow(batch)
    else:
        for frame in obj:
            yield _to_arrow(frame)


def ensure_table(
    catalog: Catalog, identifier: str, schema: pa.Schema | Schema, partition_column: str | None
) -> Table:
    """Load the table, or create it with its identity partition in one commit.

    ``schema`` is the contract's Iceberg schema (types, required flags, docs) where the
    product has a contract, else the first batch's Arrow schema.
    """
    namespace = identifier.split(".")[0]
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except IntegrityError:  # another writer created it between pyiceberg's check and its insert
        if not catalog.namespace_exists(namespace):
            raise
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        # ids as create_table will assign them, so the spec's source id survives the copy
        iceberg_schema = assign_fresh_schema_ids(iceberg_schema_of(catalog, schema))
        spec = PartitionSpec()
        if partition_column:
            source = iceberg_schema.find_field(partition_column)
            spec = PartitionSpec(PartitionField(source.field_id, 1000, IdentityTransform(), partition_column))
        return catalog.create_table_if_not_exists(identifier, schema=iceberg_schema, partition_spec=spec)


def write_frames(
    catalog: Catalog,
    identifier: str,
    frames: pl.DataFrame | pl.LazyFrame | Iterable[pl.DataFrame],
    *,
    partition_column: str | None = None,
    window: tuple[dt.date, dt.date] | None = None,
    schema: Schema | None = None,
) -> tuple[Table, int]:
    """Replace ``window`` of the table (or all of it) with ``frames`` in one commit.

    A new table is created with ``schema`` (the contract's) if given; its required
    columns then refuse nulls.

    Returns the table after the commit and the number of rows written. New columns
    evolve the schema in the same commit. A row whose partition column falls outside
    the window is refused before anything is committed: it would survive the next rerun
    of its own partition and duplicate. No frame at all empties the window.
    """
    batches = _batches(frames)
    first = next(batches, None)
    if first is None:
        try:
            table = catalog.load_table(identifier)
        except NoSuchTableError as exc:
            raise dg.DagsterInvariantViolationError(f"no data and no table to write to {identifier}") from exc
        first = table.schema().as_arrow().empty_table()
    table = ensure_table(catalog, identifier, schema or first.schema, partition_column)
    overwrite_filter: BooleanExpression = AlwaysTrue()
    if window is not None and partition_column is not None:
        overwrite_filter = date_range_filter(partition_column, *window)
    rows = 0
    written: list[DataFile] = []
    base = (table.schema(), table.spec())
    seen = {snapshot.snapshot_id for snapshot in table.metadata.snapshots}
    staged = False
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        try:
            with table.transaction() as tx:
                if set(first.schema.names) - {f.name for f in tx.table_metadata.schema().fields}:
                    tx.update_schema().union_by_name(first.schema).commit()
                tx.delete(overwrite_filter)
                # One append snapshot for all batches, as Transaction.append does for one table
                # (pyiceberg 0.12 cannot stream a reader into a partitioned table): memory stays
                # at one batch and the table gains one snapshot per write, not one per batch.
                with append_producer(tx) as append:
                    required = {f.name for f in tx.table_metadata.schema().fields if f.required}
                    for batch in itertools.chain([first], batches):
                        _refuse_rows_outside(batch, partition_column, window, identifier)
                        batch = _mark_required(batch, required, identifier)
                        check_schema_compatible(tx.table_metadata, batch.schema)
                        if batch.num_rows:
                            files = write_data_files(tx.table_metadata, batch, table.io)
                            for data_file in files:
                                append.append_data_file(data_file)
                                written.append(data_file)
                        rows += batch.num_rows
                kill_point("iceberg-before-commit")  # data files and manifests written, none committed
                if fence := current_fence():
                    fence.check(catalog, identifier, committed=False)
                staged = True
        except (CommitFailedException, ValidationException) as conflict:
            _commit_again(catalog, identifier, conflict, base, seen, first.schema, overwrite_filter, written)
        except FileNotFoundError as expired:
            # maintenance expired the snapshots this commit was based on and deleted their
            # manifests meanwhile: a conflict like any other, once every file is written
            if not staged:
                raise
            conflict = CommitFailedException(
                f"{identifier}: the base snapshot was expired meanwhile: {expired}"
            )
            _commit_again(catalog, identifier, conflict, base, seen, first.schema, overwrite_filter, written)
    kill_point("iceberg-after-commit")
    if fence := current_fence():
        fence.check(catalog, identifier, committed=True)
    return catalog.load_table(identifier), rows


def _commit_again(
    catalog: Catalog,
    identifier: str,
    conflict: CommitFailedException | ValidationException,
    base: tuple[Schema, PartitionSpec],
    seen: set[int],
    arrow_schema: pa.Schema,
    overwrite_filter: BooleanExpression,
    files: list[DataFile],
) -> None:
    """Commit a write's delete and its already written files again, on the fresh table.

    pyiceberg retries a commit that lost a race but gives up when the other commit touched
    the window (a compaction or an erasure rewrote the day, retention deleted it, another
    write replaced it): its delete is frozen to the files it first planned. Planning the
    delete again replaces whatever the window holds now, as the same write run after that
    commit would, so no row is lost or kept twice. Only while the schema and partition spec
    are those the files were written for; otherwise the conflict stands and nothing is committed.
    Never over a GDPR erasure committed since the write began (``ERASURE_SUMMARY``): the
    write's inputs were read before it and may hold what it erased; the step's retry reads
    them again.
    """
    for attempt in range(WRITE_COMMIT_ATTEMPTS):
        time.sleep(random.uniform(0, WRITE_COMMIT_BACKOFF_S * 2**attempt))
        table = catalog.load_table(identifier)
        if (table.schema(), table.spec()) != base or _erased_since(table, seen):
            raise conflict
        if fence := current_fence():
            fence.check(catalog, identifier, committed=False)
        tx = table.transaction()
        if set(arrow_schema.names) - {f.name for f in table.schema().fields}:
            tx.update_schema().union_by_name(arrow_schema).commit()
        tx.delete(overwrite_filter)
        with append_producer(tx) as append:
            for data_file in files:
                append.append_data_file(data_file)
        try:
            tx.commit_transaction()
            return
        except (CommitFailedException, ValidationException) as exc:
            conflict = exc
        except FileNotFoundError as exc:  # expired under this attempt too
            conflict = CommitFailedException(f"{identifier}: the base snapshot was expired meanwhile: {exc}")
    raise conflict


def _erased_since(table: Table, seen: set[int]) -> bool:
    fresh = (s for s in table.metadata.snapshots if s.snapshot_id not in seen and s.summary is not None)
    return any(all(s.summary[k] == v for k, v in ERASURE_SUMMARY.items()) for s in fresh)


def _mark_required(batch: pa.Table, required: set[str], identifier: str) -> pa.Table:
    """The batch with the table's required columns non-nullable; a null in one is refused."""
    if not required & set(batch.schema.names):
        return batch
    schema = pa.schema([f.with_nullable(f.nullable and f.name not in required) for f in batch.schema])
    try:
        return batch.cast(schema)
    except (pa.ArrowInvalid, ValueError) as exc:
        raise dg.DagsterInvariantViolationError(
            f"a required column of {identifier} holds nulls ({exc}); nothing was committed"
        ) from exc


def _refuse_rows_outside(batch: pa.Table, column: str | None, window, identifier: str) -> None:
    if window is None or column is None or batch.num_rows == 0:
        return
    dates = pl.from_arrow(batch.select([column])).to_series()
    outside = dates.filter((dates < window[0]) | (dates >= window[1]) | dates.is_null())
    if len(outside):
        raise dg.DagsterInvariantViolationError(
            f"{len(outside)} row(s) for {identifier} have {column} outside the partition window "
            f"[{window[0]}, {window[1]}), e.g. {outside[0]}; nothing was committed"
        )


def read_table(
    identifier: str,
    *,
    partition_column: str | None = None,
    window: tuple[dt.date, dt.date] | None = None,
) -> pl.LazyFrame:
    """A lazy Polars scan of a table, a partition or a date range."""
    table = load_catalog().load_table(identifier)
    lf = pl.scan_iceberg(table)
    if window is not None and partition_column is not None:
        lf = lf.filter(pl.col(partition_column).is_between(window[0], window[1], closed="left"))
    return lf


@dataclass(frozen=True)
class TableWindow:
    """An input handed over unread: a table or a date window of it, to scan lazily or stream.

    Annotate an input with it when a step reads more than fits in memory.
    """

    identifier: str
    partition_column: str | None = None
    window: tuple[dt.date, dt.date] | None = None

    def exists(self) -> bool:
        return load_catalog().table_exists(self.identifier)

    def lazy(self) -> pl.LazyFrame:
        return read_table(self.identifier, partition_column=self.partition_column, window=self.window)

    def count(self) -> int:
        return count_rows(self.identifier, partition_column=self.partition_column, window=self.window)

    def _row_filter(self) -> BooleanExpression:
        if self.window and self.partition_column:
            return date_range_filter(self.partition_column, *self.window)
        return AlwaysTrue()

    def local_files(self) -> list[str] | None:
        """The window's data files as local paths, when a local reader may scan them directly.

        None when a file is remote or has delete files: ``stream`` reads those. Every row of
        a listed file is in the window (files are identity-partitioned by day).
        """
        tasks = list(
            load_catalog().load_table(self.identifier).scan(row_filter=self._row_filter()).plan_files()
        )
        paths = [task.file.file_path for task in tasks]
        if any(task.delete_files for task in tasks) or not all(p.startswith(("file://", "/")) for p in paths):
            return None
        return [p.removeprefix("file://") for p in paths]

    def stream(self, columns: Sequence[str]) -> pa.RecordBatchReader:
        """``columns`` as Arrow batches read one data file at a time, so memory stays at one file.

        (pyiceberg's own batch reader reads every file of the scan at once.)
        """
        table = load_catalog().load_table(self.identifier)
        row_filter = self._row_filter()
        scan = table.scan(row_filter=row_filter, selected_fields=tuple(columns))
        projected = scan.projection()
        reader = ArrowScan(table.metadata, table.io, projected, row_filter)
        tasks = list(scan.plan_files())
        batches = (batch for task in tasks for batch in reader.to_record_batches([task]))
        first = next(batches, None)
        if first is None:
            empty = schema_to_pyarrow(projected, include_field_ids=False)
            return pa.RecordBatchReader.from_batches(empty, [])
        # files written by other pyarrow versions may differ in string width: one schema for all
        return pa.RecordBatchReader.from_batches(
            first.schema, (b.cast(first.schema) for b in itertools.chain([first], batches))
        )


def count_rows(
    identifier: str, *, partition_column: str | None = None, window: tuple[dt.date, dt.date] | None = None
) -> int:
    """Rows of a table (or a window) from the data files' metadata, without reading any data."""
    table = load_catalog().load_table(identifier)
    row_filter = date_range_filter(partition_column, *window) if window and partition_column else AlwaysTrue()
    tasks = list(table.scan(row_filter=row_filter).plan_files())
    if any(task.delete_files for task in tasks):  # merge-on-read deletes: only a scan can tell
        return (
            read_table(identifier, partition_column=partition_column, window=window)
            .select(pl.len())
            .collect()
            .item()
        )
    return sum(task.file.record_count for task in tasks)


def partition_column(table: Table) -> str | None:
    """The date column a table is identity-partitioned on, None if it is not partitioned."""
    fields = table.spec().fields
    return table.schema().find_column_name(fields[0].source_id) if fields else None


def column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=f.name, type=str(f.field_type), description=f.doc)
            for f in table.schema().fields
        ]
    )


def written_metadata(identifier: str, table: Table, rows: int) -> dict[str, Any]:
    """Materialization metadata of a write: table, snapshot, rows written, column schema, location."""
    return {
        "table": identifier,
        "snapshot_id": dg.MetadataValue.int(table.metadata.current_snapshot_id or 0),
        "dagster/row_count": dg.MetadataValue.int(rows),
        "dagster/column_schema": column_schema(table),
        "dagster/uri": table.metadata_location,
    }


def partition_window(context: dg.OutputContext | dg.InputContext) -> tuple[dt.date, dt.date] | None:
    return time_window_dates(context.asset_partitions_time_window) if context.has_asset_partitions else None


class IcebergPolarsIOManager(dg.ConfigurableIOManager):
    """Stores Polars frames as Iceberg tables in the platform catalog."""

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if obj is None:
            return
        identifier = table_identifier(context.asset_key)
        partition_column = (context.definition_metadata or {}).get(PARTITION_EXPR)
        window = partition_window(context)
        if window is not None and partition_column is None:
            raise dg.DagsterInvariantViolationError(
                f"partitioned asset {context.asset_key.to_user_string()} needs "
                f"metadata {{'{PARTITION_EXPR}': '<date column>'}} to be stored in Iceberg"
            )
        contract_file = (context.definition_metadata or {}).get(CONTRACT_FILE)
        step_fence(context.step_context)  # taken earlier by the step's first read or compute
        with not_committed([context.asset_key], context):
            table, rows = write_frames(
                load_catalog(),
                identifier,
                obj,
                partition_column=partition_column,
                window=window,
                schema=load_contract(REPO_ROOT / contract_file).iceberg_schema() if contract_file else None,
            )
        context.add_output_metadata(written_metadata(identifier, table, rows))

    def load_input(self, context: dg.InputContext) -> pl.DataFrame | pl.LazyFrame | TableWindow:
        upstream = context.upstream_output
        identifier = table_identifier(context.asset_key)
        metadata = (upstream.definition_metadata if upstream else None) or {}
        if context.dagster_type.typing_type is TableWindow:
            return TableWindow(identifier, metadata.get(PARTITION_EXPR), partition_window(context))
        step_fence(context.step_context)
        reading = f"anything of this step (its input {context.asset_key.to_user_string()} could not be read)"
        with not_committed(reading, context):
            try:
                lf = read_table(
                    identifier,
                    partition_column=metadata.get(PARTITION_EXPR),
                    window=partition_window(context),
                )
            except NoSuchTableError as exc:
                raise dg.DagsterInvariantViolationError(
                    f"table {identifier} does not exist yet: materialize "
                    f"{context.asset_key.to_user_string()} first"
                ) from exc
            return lf if context.dagster_type.typing_type is pl.LazyFrame else lf.collect()
