"""Table maintenance on real Iceberg tables: snapshot expiry deletes exactly the files only old
snapshots referenced, the orphan sweep respects its grace period, compaction keeps every row
(also against a concurrent writer), and the platform's job reports its figures."""

import datetime as dt
import os
import threading
from pathlib import Path

import polars as pl
import pytest

from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import write_frames
from platform_resources.upkeep.compaction import COMPACTION_PROPERTY, compact_table
from platform_resources.upkeep.table_maintenance import (
    expire_snapshots,
    list_files,
    referenced_files,
    sweep_orphan_files,
)

T = "maint.events"
D, E, F = dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 22)


def frames(day: dt.date, values: range, files: int) -> list[pl.DataFrame]:
    """``values`` for ``day``, split into ``files`` frames: one data file each."""
    frame = pl.DataFrame(
        {"day": [day] * len(values), "v": list(values), "label": [f"{day}:{v}" for v in values]}
    )
    size = -(-frame.height // files)
    return [frame.slice(i * size, size) for i in range(files)]


def write(day: dt.date, values: range, files: int = 1, identifier: str = T) -> None:
    write_frames(
        load_catalog(),
        identifier,
        frames(day, values, files),
        partition_column="day",
        window=(day, day + dt.timedelta(days=1)),
    )


def content(identifier: str = T) -> list[tuple]:
    return sorted(pl.scan_iceberg(load_catalog().load_table(identifier)).collect().iter_rows())


def expected(*parts: tuple[dt.date, range]) -> list[tuple]:
    return sorted((day, v, f"{day}:{v}") for day, values in parts for v in values)


def local(path: str) -> Path:
    return Path(path.removeprefix("file://"))


def data_files(day: dt.date | None = None) -> list[str]:
    tasks = load_catalog().load_table(T).scan().plan_files()
    return [t.file.file_path for t in tasks if day is None or f"day={day}" in t.file.file_path]


def test_expiry_deletes_exactly_the_files_only_expired_snapshots_referenced(home) -> None:
    write(D, range(6), files=3)
    table = load_catalog().load_table(T)
    with table.transaction() as tx:  # list only the last metadata file, so older ones become stale
        tx.set_properties({"write.metadata.previous-versions-max": "1"})
    write(E, range(100, 103))
    replaced = data_files(D)
    write(D, range(10, 13))  # the first D files are now referenced by old snapshots only
    table = load_catalog().load_table(T)
    rows_before = content()
    old_lists = {s.manifest_list for s in table.metadata.snapshots} - {table.current_snapshot().manifest_list}
    snapshots = len(table.metadata.snapshots)

    result = expire_snapshots(table, older_than=dt.datetime.now(dt.UTC), retain_last=1)

    assert content() == rows_before == expected((D, range(10, 13)), (E, range(100, 103)))
    assert (result.snapshots_expired, result.snapshots_kept) == (snapshots - 1, 1)
    assert result.data_files_deleted == len(replaced) == 3
    assert result.manifest_lists_deleted == len(old_lists)
    assert not any(local(p).exists() for p in [*replaced, *old_lists])
    assert result.metadata_files_deleted > 0 and result.bytes_deleted > 0
    assert not any(local(p).exists() for p in result.deleted)
    # everything the current snapshot and metadata need is still there, and nothing else is
    assert all(local(p).exists() for p in data_files())
    remaining = set(list_files(table))
    assert remaining == referenced_files(table)
    assert len(load_catalog().load_table(T).metadata.snapshots) == 1


def test_expiry_keeps_snapshots_younger_than_the_cutoff_and_their_files(home) -> None:
    write(D, range(6), files=3)
    replaced = data_files(D)
    write(D, range(10, 13))
    table = load_catalog().load_table(T)

    result = expire_snapshots(table, older_than=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))

    assert (result.snapshots_expired, result.files_deleted) == (0, 0)
    assert all(local(p).exists() for p in replaced)  # time travel to the first write still works
    first = table.metadata.snapshots[0].snapshot_id
    assert sorted(pl.DataFrame(table.scan(snapshot_id=first).to_arrow())["v"]) == list(range(6))


def test_orphan_sweep_deletes_unreferenced_files_past_the_grace_period_only(home) -> None:
    write(D, range(6), files=2)
    table = load_catalog().load_table(T)
    folder = local(data_files(D)[0]).parent
    old_orphan, fresh_orphan = folder / "failed-write-old.parquet", folder / "write-in-progress.parquet"
    old_orphan.write_bytes(b"x" * 100)
    fresh_orphan.write_bytes(b"y" * 10)
    four_days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=4)).timestamp()
    os.utime(old_orphan, (four_days_ago, four_days_ago))
    referenced_old = local(data_files(D)[0])
    os.utime(referenced_old, (four_days_ago, four_days_ago))  # old but referenced: kept

    result = sweep_orphan_files(table, older_than=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))

    assert not old_orphan.exists()
    assert fresh_orphan.exists() and referenced_old.exists()
    assert (result.orphans_deleted, result.orphans_kept, result.bytes_deleted) == (1, 1, 100)
    assert content() == expected((D, range(6)))


def test_compaction_rewrites_a_partitions_small_files_into_one_with_the_same_rows(home) -> None:
    write(D, range(40), files=8)
    write(E, range(100, 110), files=2)  # not more than min_files: left alone
    rows_before = content()
    e_files = data_files(E)

    result = compact_table(load_catalog().load_table(T), min_files=5)

    assert [(p.partition, p.files_before, p.files_after, p.rows, p.committed) for p in result.partitions] == [
        (f"day={D}", 8, 1, 40, True)
    ]
    assert len(data_files(D)) == 1 and sorted(data_files(E)) == sorted(e_files)
    assert content() == rows_before
    assert load_catalog().load_table(T).current_snapshot().summary[COMPACTION_PROPERTY] == "compaction"


def test_compaction_planned_before_a_write_skips_that_day_and_compacts_the_others(home) -> None:
    write(D, range(30), files=6)
    write(E, range(100, 130), files=6)
    stale = load_catalog().load_table(T)  # compaction plans on this base
    write(D, range(1000, 1004))  # a writer replaces day D meanwhile

    result = compact_table(stale, min_files=5)

    outcome = {p.partition: p.committed for p in result.partitions}
    assert outcome == {f"day={D}": False, f"day={E}": True}
    assert content() == expected((D, range(1000, 1004)), (E, range(100, 130)))
    assert len(data_files(E)) == 1
    table = load_catalog().load_table(T)
    assert set(list_files(table)) == referenced_files(table)  # the abandoned rewrite left no file


@pytest.mark.parametrize("day", [D, F], ids=["same partition", "other partition"])
def test_a_write_that_races_compaction_keeps_exactly_its_rows(home, day) -> None:
    write(D, range(30), files=6)
    write(E, range(100, 130), files=6)
    planned, go = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def batches():
        first, second = frames(day, range(500, 510), 2)
        yield first
        planned.set()  # write_frames has planned its delete and written its first file
        go.wait(timeout=60)
        yield second

    def writer() -> None:
        try:
            write_frames(
                load_catalog(), T, batches(), partition_column="day", window=(day, day + dt.timedelta(days=1))
            )
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    assert planned.wait(timeout=60)
    result = compact_table(load_catalog().load_table(T), min_files=5)  # commits while the write is open
    go.set()
    thread.join(timeout=60)

    assert errors == [] and all(p.committed for p in result.partitions) and len(result.partitions) == 2
    if day == D:
        assert content() == expected((D, range(500, 510)), (E, range(100, 130)))
    else:
        assert content() == expected((D, range(30)), (E, range(100, 130)), (F, range(500, 510)))


def test_compaction_running_beside_a_writer_loses_and_duplicates_no_row(home) -> None:
    write(D, range(20), files=4)
    write(E, range(100, 120), files=4)
    write(F, range(200, 220), files=4)  # only compaction touches F
    rounds = [(D if i % 2 else E, range(1000 * i, 1000 * i + 12)) for i in range(1, 7)]
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for day, values in rounds:
                write(day, values, files=4)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    compactions = []
    while thread.is_alive():
        compactions.append(compact_table(load_catalog().load_table(T), min_files=2))
    thread.join()
    compactions.append(compact_table(load_catalog().load_table(T), min_files=2))

    last = {day: values for day, values in rounds}
    assert errors == []
    assert content() == expected((D, last[D]), (E, last[E]), (F, range(200, 220)))
    assert sum(c.files_removed for c in compactions) > 0
    assert len(data_files(F)) == 1


def test_the_maintenance_job_compacts_expires_and_sweeps_every_table_and_reports_it(home, instance) -> None:
    from domains.platform.definitions import defs

    write(D, range(30), files=6)
    write(D, range(30), files=6)  # the first write's files are now only in old snapshots
    write(E, range(10), files=1, identifier="maint.other")
    orphan = local(data_files(D)[0]).parent / "orphan.parquet"
    orphan.write_bytes(b"z")
    rows_before = content()

    result = defs.resolve_job_def("platform_table_maintenance").execute_in_process(
        instance=instance,
        run_config={
            "ops": {
                "platform__maintenance__report": {
                    "config": {"snapshot_days": 0, "orphan_days": 0, "compact_min_files": 5}
                }
            }
        },
    )

    assert result.success
    (materialization,) = result.asset_materializations_for_node("platform__maintenance__report")
    figures = {k: v.value for k, v in materialization.metadata.items()}
    assert figures["tables"] == 2
    assert (figures["data_files_before"], figures["data_files_after"]) == (7, 2)
    assert figures["partitions_compacted"] == 1 and figures["orphans_deleted"] == 1
    assert figures["files_deleted"] >= 12 + 1 and figures["bytes_deleted"] > 0
    assert "maint.events" in figures["tables_table"] and figures["failed_tables"] == {}
    assert content() == rows_before and not orphan.exists()
