"""Retention: a table's day partitions older than its tier allows are deleted, and their files with them.

A product's contract names its tier (seed 002's hot, warm, cold, analytics, ml; seed 003's
raw Bronze); the tier is the age after which a partition goes (``TIER_DAYS``). Bronze
tables (events and quarantine) and Silver's rejected rows have no contract and are raw; any other
table without a contract or a tier is left alone and reported. Whole partitions are
deleted (metadata only: the partition filter drops whole files), then every snapshot
older than that delete is expired with its files, so the rows are gone from storage,
not only from the current snapshot. Files outside the tables follow the same tiers:
landing files (raw, by their day folder) and file ports' day files (their product's).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import pyarrow.fs as pafs
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import LessThan
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DateType

from platform_resources.contracts.model import Contract
from platform_resources.storage.catalog import table_identifiers
from platform_resources.upkeep.table_maintenance import Expiry, expire_snapshots

#: Days a partition is kept, by tier (None: kept for good). Its day is deleted once it is
#: older: hot keeps today and the 7 days before it.
TIER_DAYS: dict[str, int | None] = {
    "hot": 7,
    "warm": 90,
    "cold": None,  # archival storage: kept, moved to cheaper storage by the bucket's lifecycle
    "analytics": 1096,  # 3 years
    "ml": 1827,  # 5 years
    "raw": 2557,  # 7 years (seed 003's Bronze)
}
#: Tables without a contract that keep raw-zone records: Bronze events and quarantine, and
#: Silver's rejected rows (pointers to their Bronze lines, kept as long as those).
RAW_TABLE_PREFIXES = ("bronze_", "silver_rejected")


@dataclass(frozen=True)
class TableRetention:
    """One table's retention: its tier and cutoff, the days deleted (or to delete, in a dry run)."""

    table: str
    tier: str | None
    cutoff: dt.date | None = None  # partitions before this day are deleted
    days_deleted: tuple[dt.date, ...] = ()
    rows_deleted: int = 0
    expiry: Expiry | None = None  # None in a dry run or when nothing was deleted
    left_alone: str = ""  # why no retention applies

    def summary(self) -> str:
        if self.left_alone:
            return f"{self.table}: left alone ({self.left_alone})"
        days = f"{self.days_deleted[0]}..{self.days_deleted[-1]}" if self.days_deleted else "none"
        freed = (
            f", {self.expiry.files_deleted} files ({self.expiry.bytes_deleted:,} bytes) deleted"
            if self.expiry
            else ""
        )
        return (
            f"{self.table}: {self.tier}, partitions before {self.cutoff}: {len(self.days_deleted)} "
            f"({days}), {self.rows_deleted:,} rows{freed}"
        )


def table_tier(identifier: str, products: Mapping[str, Contract]) -> tuple[str | None, str]:
    """The table's tier, or None and why: from its contract, raw for Bronze and rejected rows."""
    if contract := products.get(identifier):
        return (contract.retention, "") if contract.retention else (None, "contract names no retention tier")
    if identifier.split(".", 1)[1].startswith(RAW_TABLE_PREFIXES):
        return "raw", ""
    return None, "no contract"


def _day_field(table: Table) -> tuple[str, int] | None:
    """The date column the table is identity-partitioned on, and its position in the partition."""
    schema = table.schema()
    for position, field in enumerate(table.spec().fields):
        source = schema.find_field(field.source_id)
        if isinstance(field.transform, IdentityTransform) and isinstance(source.field_type, DateType):
            return source.name, position
    return None


def retain_table(table: Table, tier: str, today: dt.date, *, dry_run: bool = False) -> TableRetention:
    """Delete the partitions older than ``tier`` allows on ``today``, then their files."""
    name = ".".join(table.name())
    days = TIER_DAYS[tier]
    if days is None:
        return TableRetention(name, tier, left_alone=f"{tier}: kept")
    day_field = _day_field(table)
    if day_field is None:
        return TableRetention(name, tier, left_alone="not partitioned by a date column")
    column, position = day_field
    cutoff = today - dt.timedelta(days=days)
    past = LessThan(column, cutoff.isoformat())
    rows_by_day: Counter[dt.date] = Counter()
    for task in table.scan(row_filter=past).plan_files():
        rows_by_day[dt.date(1970, 1, 1) + dt.timedelta(days=task.file.partition[position])] += (
            task.file.record_count
        )
    found = TableRetention(name, tier, cutoff, tuple(sorted(rows_by_day)), sum(rows_by_day.values()))
    if dry_run or not rows_by_day:
        return found
    table.delete(past)
    deleted_at = dt.datetime.fromtimestamp(table.metadata.current_snapshot().timestamp_ms / 1000, dt.UTC)
    expiry = expire_snapshots(table, older_than=deleted_at, retain_last=1)
    return TableRetention(name, tier, cutoff, found.days_deleted, found.rows_deleted, expiry)


def apply_retention(
    catalog: Catalog, products: Mapping[str, Contract], today: dt.date, *, dry_run: bool = False
) -> Iterator[TableRetention]:
    """Retention over every table of the catalog, table by table; ``products`` are the contracts
    by table identifier."""
    for identifier in table_identifiers(catalog):
        tier, reason = table_tier(identifier, products)
        if tier is None:
            yield TableRetention(identifier, None, left_alone=reason)
        else:
            yield retain_table(catalog.load_table(identifier), tier, today, dry_run=dry_run)


def retain_files(
    products: Mapping[str, Contract], today: dt.date, *, dry_run: bool = False
) -> dict[str, int]:
    """Files outside the tables, past their tier: landing files (raw, by their day folder) and
    file ports' day files (their product's tier). Returns the files deleted per kind."""
    from platform_resources.ingest.landing import delete_landing_file, landing_files
    from platform_resources.mesh.workspace import domain_names
    from platform_resources.products.output_ports import file_path

    raw_cutoff = today - dt.timedelta(days=TIER_DAYS["raw"] or 0)
    old_landing = [f for d in domain_names() for f in landing_files(d) if f.day < raw_cutoff]
    old_ports = []
    for contract in products.values():
        days = TIER_DAYS.get(contract.retention or "")
        if days is None or not any(p.type == "file" for p in contract.ports):
            continue
        fs, folder = pafs.FileSystem.from_uri(file_path(contract, today).rsplit("/", 2)[0])
        cutoff = (today - dt.timedelta(days=days)).isoformat()
        for info in fs.get_file_info(pafs.FileSelector(folder, recursive=True, allow_not_found=True)):
            day = info.path.rsplit("/", 2)[-2].partition("=")[2]
            if info.type == pafs.FileType.File and day and day < cutoff:
                old_ports.append((fs, info.path))
    if not dry_run:
        for file in old_landing:
            delete_landing_file(file)
        for fs, path in old_ports:
            fs.delete_file(path)
    return {"landing_files_deleted": len(old_landing), "port_files_deleted": len(old_ports)}


def retention_totals(results: Iterable[TableRetention]) -> dict[str, int]:
    """The figures of a retention run over many tables."""
    done = list(results)
    return {
        "tables": len(done),
        "tables_trimmed": sum(1 for r in done if r.days_deleted),
        "tables_left_alone": sum(1 for r in done if r.left_alone),
        "partitions_deleted": sum(len(r.days_deleted) for r in done),
        "rows_deleted": sum(r.rows_deleted for r in done),
        "files_deleted": sum(r.expiry.files_deleted for r in done if r.expiry),
        "bytes_deleted": sum(r.expiry.bytes_deleted for r in done if r.expiry),
    }
