"""What a trial compares: each table's and each published port file's rows, as a count and an
order-free digest of their contents, and the data files a table's snapshots reference."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from platform_resources.core.settings import get_export_root
from platform_resources.products.output_ports import port_temporaries
from platform_resources.storage.catalog import load_catalog, table_identifiers
from platform_resources.upkeep.table_maintenance import list_files, referenced_files

#: Columns a rerun sets anew (when it ran), not what it read: left out of the digest.
RUN_TIME_COLUMNS = ("ingested_at", "published_at", "updated_at", "_loaded_at")


@dataclass(frozen=True)
class Contents:
    rows: int
    digest: int  # sum of row hashes: equal for the same rows in any order, duplicates counted

    def __str__(self) -> str:
        return f"{self.rows} rows #{self.digest % 10**6:06d}"


def _contents(frame: pl.DataFrame) -> Contents:
    frame = frame.drop([c for c in RUN_TIME_COLUMNS if c in frame.columns])
    if frame.is_empty():
        return Contents(0, 0)
    hashes = frame.hash_rows(seed=0)
    return Contents(frame.height, int(hashes.cast(pl.UInt64).sum()) % 2**64)


def lakehouse_contents() -> dict[str, Contents]:
    """Every table's rows (current snapshot) and every published file's, by name."""
    catalog = load_catalog()
    found = {
        identifier: _contents(pl.from_arrow(catalog.load_table(identifier).scan().to_arrow()))  # type: ignore[arg-type]
        for identifier in table_identifiers(catalog)
    }
    exports = Path(get_export_root())
    for path in sorted(exports.rglob("*.parquet")) if exports.exists() else []:
        found[f"file:{path.relative_to(exports)}"] = _contents(pl.read_parquet(path))
    return found


@dataclass(frozen=True)
class FileHealth:
    missing: list[str]  # named by a table's metadata, absent from the warehouse
    unreferenced: int  # files nothing names (a killed write's leftovers, until the sweep)


def file_health() -> FileHealth:
    """Files the tables' metadata names that are gone, and files under them nothing names."""
    catalog = load_catalog()
    missing: list[str] = []
    unreferenced = 0
    for identifier in table_identifiers(catalog):
        table = catalog.load_table(identifier)
        listed, referenced = set(list_files(table)), referenced_files(table)
        missing += sorted(referenced - listed)
        unreferenced += len(listed - referenced)
    return FileHealth(missing, unreferenced)


def stale_port_files() -> list[str]:
    """Port files a killed publish wrote and never renamed into place (``*.tmp``), of any age."""
    return port_temporaries(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
