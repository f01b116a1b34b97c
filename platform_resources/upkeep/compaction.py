"""Compaction: a partition's small data files rewritten into fewer, in one commit per partition.

A partition (a day) qualifies when it holds more than ``min_files`` data files smaller
than 3/4 of the target size. Those files are bin-packed into groups of about
``target_file_bytes``, each group is read and written back as one file, and one
overwrite commit deletes exactly those files and adds the new ones, nothing else.

Safe with concurrent writers: the commit asserts the branch head it planned on
(pyiceberg's snapshot producers add ``AssertRefSnapshotId``). When another commit landed
meanwhile, pyiceberg refreshes and re-validates the rewrite against every commit since:
the replaced files must still exist and no file may have been added to or deleted from
the partition. A write that replaced the day (or added to it) thus makes the rewrite fail
validation; the partition is skipped and its new files deleted, so no row is lost or
duplicated. Commits to other partitions do not conflict and the rewrite lands on top.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table
from pyiceberg.transforms import IdentityTransform
from pyiceberg.typedef import Record

from platform_resources.storage.pyiceberg_internals import write_data_files

SMALL_FILE_SHARE = 0.75  # a file below this share of the target size is small (Iceberg's default)
COMPACTION_PROPERTY = "meshhouse.operation"  # snapshot summary: what produced the snapshot


@dataclass(frozen=True)
class PartitionCompaction:
    """One partition's rewrite: ``files_before`` small files became ``files_after`` (if committed)."""

    partition: str
    files_before: int
    files_after: int
    rows: int
    committed: bool
    reason: str = ""  # why it was skipped


@dataclass(frozen=True)
class Compaction:
    partitions: tuple[PartitionCompaction, ...]

    @property
    def files_removed(self) -> int:
        return sum(p.files_before for p in self.partitions if p.committed)

    @property
    def files_added(self) -> int:
        return sum(p.files_after for p in self.partitions if p.committed)

    @property
    def skipped(self) -> int:
        return sum(1 for p in self.partitions if not p.committed)


def _bins(tasks: list[FileScanTask], target_file_bytes: int) -> list[list[FileScanTask]]:
    """First-fit decreasing: groups of files of about ``target_file_bytes`` together."""
    bins: list[tuple[int, list[FileScanTask]]] = []
    for task in sorted(tasks, key=lambda t: t.file.file_size_in_bytes, reverse=True):
        size = task.file.file_size_in_bytes
        for i, (filled, members) in enumerate(bins):
            if filled + size <= target_file_bytes:
                bins[i] = (filled + size, [*members, task])
                break
        else:
            bins.append((size, [task]))
    return [members for _, members in bins]


def _partition_filter(table: Table, spec_id: int, partition: Record) -> BooleanExpression:
    """The rows of one partition, for identity partitions (all of ours); others: the whole table,
    which only makes conflict detection stricter."""
    spec, schema = table.specs()[spec_id], table.schema()
    terms = [
        EqualTo(schema.find_column_name(field.source_id), partition[i])
        for i, field in enumerate(spec.fields)
        if isinstance(field.transform, IdentityTransform) and partition[i] is not None
    ]
    if len(terms) != len(spec.fields):
        return AlwaysTrue()
    return terms[0] if len(terms) == 1 else And(*terms)


def _rewrite(table: Table, tasks: list[FileScanTask], target_file_bytes: int) -> list[DataFile]:
    """The files' rows written back as one file per bin (not committed)."""
    reader = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue())
    written: list[DataFile] = []
    for group in _bins(tasks, target_file_bytes):
        rows = reader.to_table(group)
        written.extend(write_data_files(table.metadata, rows, table.io))
    return written


def _commit_rewrite(
    table: Table, old: list[DataFile], new: list[DataFile], partition_filter: BooleanExpression
) -> None:
    summary = {COMPACTION_PROPERTY: "compaction"}
    with table.transaction() as tx, tx.update_snapshot(snapshot_properties=summary).overwrite() as rewrite:
        rewrite.delete_by_predicate(partition_filter)  # scopes conflict detection to the partition
        for data_file in old:
            rewrite.delete_data_file(data_file)
        for data_file in new:
            rewrite.append_data_file(data_file)


def compact_partition(
    table: Table, spec_id: int, partition: Record, tasks: list[FileScanTask], target_file_bytes: int
) -> PartitionCompaction:
    """Rewrite ``tasks`` (small files of one partition) into fewer files in one commit, or skip it
    when a concurrent commit changed the partition; nothing is left behind either way."""
    name = table.specs()[spec_id].partition_to_path(partition, table.schema()) or "(unpartitioned)"
    old = [task.file for task in tasks]
    rows = sum(f.record_count for f in old)
    new = _rewrite(table, tasks, target_file_bytes)
    if sum(f.record_count for f in new) != rows:
        reason = f"rewrote {sum(f.record_count for f in new)} rows of {rows}"
    else:
        try:
            _commit_rewrite(table, old, new, _partition_filter(table, spec_id, partition))
            return PartitionCompaction(name, len(old), len(new), rows, committed=True)
        except (CommitFailedException, ValidationException) as exc:
            reason = f"changed by a concurrent commit: {exc}"
    for data_file in new:
        table.io.delete(data_file.file_path)
    return PartitionCompaction(name, len(old), 0, rows, committed=False, reason=reason)


def compact_table(
    table: Table, *, min_files: int = 5, target_file_bytes: int = 128 * 1024 * 1024
) -> Compaction:
    """Compact every partition of ``table`` with more than ``min_files`` small data files.

    Partitions with delete files are left alone (their rows need the deletes applied), and so
    is a partition whose files would not pack into fewer.
    """
    by_partition: dict[tuple[int, Record], list[FileScanTask]] = defaultdict(list)
    with_deletes: set[tuple[int, Record]] = set()
    for task in table.scan().plan_files():
        key = (task.file.spec_id, task.file.partition)
        if task.delete_files:
            with_deletes.add(key)
        if task.file.file_size_in_bytes < SMALL_FILE_SHARE * target_file_bytes:
            by_partition[key].append(task)
    done = []
    for (spec_id, partition), tasks in by_partition.items():
        if (spec_id, partition) in with_deletes or len(tasks) <= min_files:
            continue
        if len(_bins(tasks, target_file_bytes)) >= len(tasks):
            continue
        done.append(compact_partition(table, spec_id, partition, tasks, target_file_bytes))
    return Compaction(tuple(done))
