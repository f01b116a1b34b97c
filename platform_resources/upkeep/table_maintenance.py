"""Iceberg table upkeep: snapshot expiry that really deletes files, the orphan-file sweep, and the
maintenance pass over one table (compaction, then expiry, then the sweep).

pyiceberg's ``expire_snapshots`` only rewrites metadata, so the files are deleted here,
through the table's FileIO (a local folder or S3). Expiry deletes what the expired snapshots
reach minus what the retained ones reach, as Iceberg Java's incremental cleanup does: a
writer's new snapshot builds on the current one, which is always retained, so nothing it
commits can need those files. The sweep deletes files under the table's location that no
metadata references and that are older than a grace period, which protects the files of a
write still in progress.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pyarrow.fs import FileInfo, FileSelector, FileType
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import ManifestFile
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from platform_resources.storage.catalog import table_identifiers
from platform_resources.upkeep.compaction import Compaction, compact_table

COMMIT_ATTEMPTS = 5
_METADATA_VERSION = re.compile(r"^(\d+)-.*\.metadata\.json$")


@dataclass(frozen=True)
class Expiry:
    """What ``expire_snapshots`` removed: snapshots from the metadata, files from storage."""

    snapshots_expired: int
    snapshots_kept: int
    data_files_deleted: int  # data and delete files
    manifests_deleted: int
    manifest_lists_deleted: int
    metadata_files_deleted: int  # metadata JSON no longer listed by the current metadata
    bytes_deleted: int
    deleted: tuple[str, ...]  # every path deleted

    @property
    def files_deleted(self) -> int:
        return len(self.deleted)


@dataclass(frozen=True)
class Sweep:
    """What ``sweep_orphan_files`` found under the table's location and deleted."""

    files_listed: int
    bytes_listed: int
    orphans_deleted: int
    bytes_deleted: int
    orphans_kept: int  # unreferenced but younger than the cutoff: possibly a write in progress
    deleted: tuple[str, ...]


def _key(path: str) -> str:
    """A path without its scheme, as the filesystem lists it (``/abs/path``, ``bucket/key``)."""
    return PyArrowFileIO.parse_location(path)[2]


def list_files(table: Table, location: str | None = None) -> dict[str, FileInfo]:
    """Every file under ``location`` (default: the table's), keyed as the filesystem names them."""
    io = table.io if isinstance(table.io, PyArrowFileIO) else PyArrowFileIO(table.io.properties)
    scheme, netloc, path = PyArrowFileIO.parse_location(location or table.location(), io.properties)
    infos = io.fs_by_scheme(scheme, netloc).get_file_info(
        FileSelector(path, allow_not_found=True, recursive=True)
    )
    return {info.path: info for info in infos if info.type == FileType.File}


def _uri(table: Table, key: str) -> str:
    scheme = PyArrowFileIO.parse_location(table.location())[0]
    return f"{scheme}://{key}"


def _manifests(io: FileIO, snapshots: Iterable[Snapshot]) -> dict[str, ManifestFile]:
    return {m.manifest_path: m for s in snapshots for m in s.manifests(io)}


def _files(io: FileIO, manifests: Iterable[ManifestFile], *, live_only: bool) -> dict[str, int]:
    """Data and delete files the manifests list (only their live entries if ``live_only``), with sizes."""
    return {
        entry.data_file.file_path: entry.data_file.file_size_in_bytes
        for manifest in manifests
        for entry in manifest.fetch_manifest_entry(io, discard_deleted=live_only)
    }


def _delete(io: FileIO, paths: Iterable[str]) -> list[str]:
    """Delete each path; one already gone (a rerun after a crash) is skipped."""
    deleted = []
    for path in paths:
        try:
            io.delete(path)
        except FileNotFoundError:
            continue
        deleted.append(path)
    return deleted


def _expirable(table: Table, older_than: dt.datetime, retain_last: int) -> set[int]:
    """Snapshots older than the cutoff, except branch and tag heads (the current one) and the newest."""
    metadata = table.metadata
    cutoff_ms = int(older_than.timestamp() * 1000)
    protected = {ref.snapshot_id for ref in metadata.refs.values()}
    newest = sorted(metadata.snapshots, key=lambda s: s.timestamp_ms, reverse=True)[:retain_last]
    protected |= {s.snapshot_id for s in newest}
    return {s.snapshot_id for s in metadata.snapshots if s.timestamp_ms < cutoff_ms} - protected


def _commit_expiry(table: Table, snapshot_ids: set[int]) -> None:
    """Remove the snapshots from the metadata, retrying on a concurrent commit (expiry has no
    requirement: it applies to whatever the table's head is by then)."""
    for attempt in range(COMMIT_ATTEMPTS):
        present = [i for i in snapshot_ids if table.metadata.snapshot_by_id(i) is not None]
        if not present:
            return
        try:
            table.maintenance.expire_snapshots().by_ids(present).commit()
            return
        except CommitFailedException:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            table.refresh()


def _metadata_folder(table: Table) -> str:
    return table.metadata_location.rsplit("/", 1)[0]


def _stale_metadata_files(table: Table, metadata_folder: dict[str, FileInfo]) -> dict[str, int]:
    """Metadata JSON files older than the current one that its metadata log no longer lists.

    Only versions below the current one: a higher one may be a concurrent commit in flight.
    """
    listed = {_key(table.metadata_location)} | {_key(e.metadata_file) for e in table.metadata.metadata_log}
    current = int(_METADATA_VERSION.match(table.metadata_location.rsplit("/", 1)[1]).group(1))
    stale = {}
    for key, info in metadata_folder.items():
        version = _METADATA_VERSION.match(info.base_name)
        if version and int(version.group(1)) < current and key not in listed:
            stale[_uri(table, key)] = info.size
    return stale


def _reached_only_by(
    io: FileIO, expired: list[Snapshot], retained: list[Snapshot]
) -> tuple[dict[str, int], dict[str, ManifestFile], set[str]]:
    """Data and delete files (with sizes), manifests and manifest lists the expired snapshots
    reach and the retained ones do not (a file counts as retained only where it is live)."""
    if not expired:
        return {}, {}, set()
    kept_manifests = _manifests(io, retained)
    gone_manifests = {p: m for p, m in _manifests(io, expired).items() if p not in kept_manifests}
    kept_files = _files(io, kept_manifests.values(), live_only=True)
    reached = _files(io, gone_manifests.values(), live_only=False)
    gone_files = {p: size for p, size in reached.items() if p not in kept_files}
    gone_lists = {s.manifest_list for s in expired} - {s.manifest_list for s in retained}
    return gone_files, gone_manifests, gone_lists


def expire_snapshots(table: Table, *, older_than: dt.datetime, retain_last: int = 1) -> Expiry:
    """Expire the snapshots older than ``older_than`` (keeping the current one and the
    ``retain_last`` newest), then delete the files only they reached and the stale metadata JSON.

    Files are deleted after the commit, never before: a crash in between leaves orphans for
    the sweep, never a snapshot without its files. Reading a retained snapshot is unaffected.
    """
    table.refresh()
    before = table.metadata
    expired_ids = _expirable(table, older_than, retain_last)
    if expired_ids:
        _commit_expiry(table, expired_ids)
        table.refresh()  # snapshots committed meanwhile count as retained
    expired = [s for s in before.snapshots if s.snapshot_id in expired_ids]
    retained = table.metadata.snapshots
    io = table.io
    gone_files, gone_manifests, gone_lists = _reached_only_by(io, expired, retained)
    metadata_folder = list_files(table, _metadata_folder(table))
    stale_metadata = _stale_metadata_files(table, metadata_folder)
    sizes = {
        **gone_files,
        **{p: m.manifest_length for p, m in gone_manifests.items()},
        **{p: metadata_folder[_key(p)].size for p in gone_lists if _key(p) in metadata_folder},
        **stale_metadata,
    }
    deleted = {
        kind: _delete(io, paths)
        for kind, paths in (
            ("data", gone_files),
            ("manifests", gone_manifests),
            ("lists", gone_lists),
            ("metadata", stale_metadata),
        )
    }
    every = tuple(p for paths in deleted.values() for p in paths)
    return Expiry(
        snapshots_expired=len(expired),
        snapshots_kept=len(retained),
        data_files_deleted=len(deleted["data"]),
        manifests_deleted=len(deleted["manifests"]),
        manifest_lists_deleted=len(deleted["lists"]),
        metadata_files_deleted=len(deleted["metadata"]),
        bytes_deleted=sum(sizes.get(p, 0) for p in every),
        deleted=every,
    )


def referenced_files(table: Table) -> set[str]:
    """Every file the table's metadata names (as the filesystem keys them): metadata JSON of the
    log, manifest lists, manifests, data and delete files of every snapshot, statistics."""
    metadata, io = table.metadata, table.io
    manifests = _manifests(io, metadata.snapshots)
    paths = {
        table.metadata_location,
        *(e.metadata_file for e in metadata.metadata_log),
        *(s.manifest_list for s in metadata.snapshots),
        *manifests,
        *_files(io, manifests.values(), live_only=False),
        *(s.statistics_path for s in metadata.statistics),
        *(s.statistics_path for s in metadata.partition_statistics),
    }
    return {_key(p) for p in paths}


def sweep_orphan_files(table: Table, *, older_than: dt.datetime) -> Sweep:
    """Delete the files under the table's location that no metadata references and that were
    last modified before ``older_than`` (the grace period that spares writes in progress).

    The location is listed before the metadata is read, so a file committed meanwhile is seen
    as referenced.
    """
    listed = list_files(table)
    table.refresh()
    referenced = referenced_files(table)
    orphans = {key: info for key, info in listed.items() if key not in referenced}
    old = {key: info for key, info in orphans.items() if info.mtime < older_than}
    deleted = _delete(table.io, (_uri(table, key) for key in old))
    return Sweep(
        files_listed=len(listed),
        bytes_listed=sum(info.size for info in listed.values()),
        orphans_deleted=len(deleted),
        bytes_deleted=sum(old[_key(p)].size for p in deleted),
        orphans_kept=len(orphans) - len(old),
        deleted=tuple(deleted),
    )


@dataclass(frozen=True)
class MaintenancePolicy:
    """How the maintenance pass treats every table (the job's run config)."""

    snapshot_days: int = 7  # snapshots younger than this stay readable (time travel)
    retain_last: int = 1  # and at least this many of the newest
    orphan_days: int = 3  # unreferenced files younger than this are spared
    compact_min_files: int = 5  # a partition with more small files than this is compacted
    target_file_bytes: int = 128 * 1024 * 1024


@dataclass(frozen=True)
class TableMaintenance:
    """One table's pass: data files and storage before and after, and what each step did."""

    table: str
    data_files_before: int
    data_files_after: int
    compaction: Compaction
    expiry: Expiry
    sweep: Sweep
    storage_files_after: int
    storage_bytes_after: int

    @property
    def files_deleted(self) -> int:
        return self.expiry.files_deleted + self.sweep.orphans_deleted

    @property
    def bytes_deleted(self) -> int:
        return self.expiry.bytes_deleted + self.sweep.bytes_deleted

    def summary(self) -> str:
        c = self.compaction
        return (
            f"{self.table}: data files {self.data_files_before} -> {self.data_files_after} "
            f"({len(c.partitions) - c.skipped} partitions compacted, {c.skipped} skipped), "
            f"{self.expiry.snapshots_expired} snapshots expired, {self.files_deleted} files deleted "
            f"({self.sweep.orphans_deleted} orphans), {self.bytes_deleted:,} bytes freed; "
            f"{self.storage_files_after} files, {self.storage_bytes_after:,} bytes stored"
        )


def _data_files(table: Table) -> int:
    return len(list(table.scan().plan_files()))


def maintain_table(table: Table, policy: MaintenancePolicy, now: dt.datetime) -> TableMaintenance:
    """Compact, expire snapshots (with their files), then sweep orphans, in that order: the
    files compaction replaces go with the snapshots that still referenced them."""
    data_files_before = _data_files(table)
    compaction = compact_table(
        table, min_files=policy.compact_min_files, target_file_bytes=policy.target_file_bytes
    )
    expiry = expire_snapshots(
        table, older_than=now - dt.timedelta(days=policy.snapshot_days), retain_last=policy.retain_last
    )
    sweep = sweep_orphan_files(table, older_than=now - dt.timedelta(days=policy.orphan_days))
    storage = list_files(table)
    return TableMaintenance(
        table=".".join(table.name()),
        data_files_before=data_files_before,
        data_files_after=_data_files(table),
        compaction=compaction,
        expiry=expiry,
        sweep=sweep,
        storage_files_after=len(storage),
        storage_bytes_after=sum(info.size for info in storage.values()),
    )


def maintain_catalog(
    catalog: Catalog, policy: MaintenancePolicy, now: dt.datetime
) -> Iterator[tuple[str, TableMaintenance | Exception]]:
    """Each table's pass in turn; a table that fails is yielded with its error and the others go on."""
    for identifier in table_identifiers(catalog):
        try:
            result: TableMaintenance | Exception = maintain_table(catalog.load_table(identifier), policy, now)
        except Exception as exc:  # one broken table must not stop the others' upkeep
            result = exc
        yield identifier, result


def maintenance_totals(results: Iterable[TableMaintenance]) -> dict[str, int]:
    """The figures of a maintenance pass over many tables."""
    done = list(results)
    return {
        "tables": len(done),
        "data_files_before": sum(r.data_files_before for r in done),
        "data_files_after": sum(r.data_files_after for r in done),
        "partitions_compacted": sum(len(r.compaction.partitions) - r.compaction.skipped for r in done),
        "compactions_skipped": sum(r.compaction.skipped for r in done),
        "snapshots_expired": sum(r.expiry.snapshots_expired for r in done),
        "files_deleted": sum(r.files_deleted for r in done),
        "orphans_deleted": sum(r.sweep.orphans_deleted for r in done),
        "bytes_deleted": sum(r.bytes_deleted for r in done),
        "storage_bytes_after": sum(r.storage_bytes_after for r in done),
    }
