"""Concurrency trials: many writers of one Iceberg table at once, a reader in a loop, and table
maintenance beside them, on the SQLite catalog and on a PostgreSQL one.

Writers go through the platform's own ``write_frames`` (replace a day's partition, conflicts
retried with validation). Eight writers rewrite eight days of one table, two more race for a
ninth day, each several times, while maintenance compacts, expires and sweeps the same table.
Afterwards every day holds exactly one writer's rows (none lost, none twice); meanwhile the
reader only ever sees whole snapshots: each day it sees holds one writer's complete write.
A third trial per catalog has the writers copy a source table, each write a step of its own
(take the erasure fence, read, compute a while, commit), while a GDPR erasure removes a
subject from the source and then from the table: none of the subject's rows may come back.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, ValidationException

from platform_resources.gdpr.erasure import erase_rows
from platform_resources.operational.servers import EmbeddedPostgres
from platform_resources.storage.catalog import sql_catalog
from platform_resources.storage.erasure_fence import ErasedMeanwhile, erasure_running, take_fence
from platform_resources.storage.iceberg_io import write_frames
from platform_resources.upkeep.table_maintenance import MaintenancePolicy, maintain_table
from reliability.trials import Trial

TABLE = "trial.writes"
FIRST_DAY = dt.date(2026, 11, 1)
ROWS = 500  # rows per write
#: Compact as soon as a day has two files; expire all but the newest ten snapshots (a reader
#: planning an older one would lose its files: that is what the snapshot grace period is for).
MAINTENANCE = MaintenancePolicy(snapshot_days=0, retain_last=10, orphan_days=3, compact_min_files=2)


@dataclass(frozen=True)
class Catalog:
    name: str
    uri: str
    warehouse: str

    def load(self) -> SqlCatalog:
        return sql_catalog(uri=self.uri, warehouse=self.warehouse)


def _frame(day: dt.date, writer: int, attempt: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"day": [day] * ROWS, "writer": [writer] * ROWS, "attempt": [attempt] * ROWS, "n": range(ROWS)}
    ).with_columns(pl.col("writer", "attempt").cast(pl.Int32), pl.col("n").cast(pl.Int64))


def _writer(catalog: Catalog, day: dt.date, writer: int, writes: int, errors) -> None:
    try:
        for attempt in range(writes):
            write_frames(
                catalog.load(),
                TABLE,
                _frame(day, writer, attempt),
                partition_column="day",
                window=(day, day + dt.timedelta(days=1)),
            )
    except Exception:
        errors.put(f"writer {writer} ({day}): {traceback.format_exc(limit=3)}")


def _maintainer(catalog: Catalog, stop, errors) -> None:
    passes = 0
    while not stop.is_set():
        try:
            maintain_table(catalog.load().load_table(TABLE), MAINTENANCE, dt.datetime.now(dt.UTC))
            passes += 1
        except Exception as exc:  # a pass that lost a race fails clearly and the next one runs
            if "NoSuchTable" not in type(exc).__name__:
                errors.put(f"maintenance (after {passes} passes): {type(exc).__name__}: {exc}")
        time.sleep(0.2)


def whole_days(frame: pl.DataFrame) -> tuple[int, int]:
    """(days seen, days torn): a day is whole when it holds exactly one write's rows, complete."""
    days = frame.group_by("day").agg(
        pl.len().alias("rows"), pl.struct("writer", "attempt").n_unique().alias("writes")
    )
    torn = days.filter((pl.col("rows") != ROWS) | (pl.col("writes") != 1)).height
    return days.height, torn


def _reader(catalog: Catalog, stop, results, errors) -> None:
    reads = torn = failed = 0
    while not stop.is_set():
        try:
            table = catalog.load().load_table(TABLE)
        except Exception:
            time.sleep(0.05)  # not created yet
            continue
        try:
            _, bad = whole_days(pl.from_arrow(table.scan().to_arrow()))  # type: ignore[arg-type]
            reads, torn = reads + 1, torn + bad
        except Exception as exc:  # a snapshot whose files maintenance expired meanwhile
            failed += 1
            if failed <= 3:
                errors.put(f"reader: {type(exc).__name__}: {str(exc)[:200]}")
    results.put((reads, torn, failed))


def race(catalog: Catalog, writers: int, racers: int, writes: int, *, maintenance: bool) -> Trial:
    """``writers`` writers of a day each and ``racers`` of one more day, ``writes`` times each."""
    context = multiprocessing.get_context("spawn")
    errors, results, stop = context.Queue(), context.Queue(), context.Event()
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(writers)]
    shared = FIRST_DAY + dt.timedelta(days=writers)
    jobs = [(day, i) for i, day in enumerate(days)] + [(shared, writers + i) for i in range(racers)]
    procs = [context.Process(target=_writer, args=(catalog, day, w, writes, errors)) for day, w in jobs]
    side = [context.Process(target=_reader, args=(catalog, stop, results, errors))]
    if maintenance:
        side.append(context.Process(target=_maintainer, args=(catalog, stop, errors)))
    started = time.monotonic()
    for proc in side + procs:
        proc.start()
    for proc in procs:
        proc.join()
    stop.set()
    for proc in side:
        proc.join()
    seconds = time.monotonic() - started
    reads, torn, read_failures = results.get()
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    final = pl.from_arrow(catalog.load().load_table(TABLE).scan().to_arrow())  # type: ignore[arg-type]
    per_day = dict(final.group_by("day").agg(pl.len()).iter_rows())
    expected_days = [*days, shared] if racers else days
    lost = sum(max(0, ROWS - per_day.get(day, 0)) for day in expected_days)
    duplicated = sum(max(0, rows - ROWS) for rows in per_day.values())
    _, torn_final = whole_days(final)
    name = (
        f"{catalog.name}: {writers} writers of {writers} days + {racers} of one day, {writes} writes each"
        + (", maintenance beside" if maintenance else "")
    )
    writer_errors = [p for p in problems if p.startswith("writer")]
    passed = not (lost or duplicated or torn or torn_final or writer_errors)
    detail = (
        f"{len(jobs) * writes} commits in {seconds:.1f}s; {reads} reads, all whole"
        + (f"; {read_failures} reads failed on expired files" if read_failures else "")
        + (
            f"; maintenance: {len(problems) - len(writer_errors)} passes failed clearly"
            if maintenance
            else ""
        )
    )
    return Trial(
        "concurrency",
        name,
        passed,
        lost,
        duplicated,
        torn + torn_final,
        detail=detail if passed else "; ".join(problems[:2]) or detail,
        evidence="" if passed else " | ".join(problems[:5]),
    )


def catalogs(work: Path) -> Iterator[Catalog]:
    """A fresh SQLite catalog, then a fresh PostgreSQL one (an embedded server of its own)."""
    (work / "sqlite").mkdir(parents=True, exist_ok=True)
    yield Catalog(
        "sqlite", f"sqlite:///{work / 'sqlite' / 'catalog.db'}", (work / "sqlite" / "warehouse").as_uri()
    )
    server = EmbeddedPostgres(work / "postgres")
    url = server.start()
    try:
        yield Catalog(
            "postgres",
            url.replace("postgresql://", "postgresql+psycopg://"),
            (work / "postgres" / "warehouse").as_uri(),
        )
    finally:
        server.stop()


def concurrency_trials(work: Path, *, quick: bool) -> Iterator[Trial]:
    writes = 2 if quick else 4
    for catalog in catalogs(work):
        yield race(catalog, writers=8, racers=2, writes=writes, maintenance=False)
        _drop(catalog)
        if not quick:
            yield race(catalog, writers=8, racers=2, writes=writes, maintenance=True)
            _drop(catalog)
        yield erasure_race(catalog, writers=8, writes=writes)
        _drop(catalog)
        catalog.load().purge_table(SOURCE)


def _drop(catalog: Catalog) -> None:
    catalog.load().purge_table(TABLE)


SOURCE, SUBJECT = "trial.source", "subject-1"
#: Retries of a writer refused by a conflict or the erasure fence, as a step's retry policy would.
WRITER_ATTEMPTS = 10


def _source_frame(day: dt.date) -> pl.DataFrame:
    """A day of the source: every 50th row is the subject's."""
    users = [SUBJECT if n % 50 == 0 else f"user-{n}" for n in range(ROWS)]
    return pl.DataFrame({"day": [day] * ROWS, "user_id": users, "n": range(ROWS)}).with_columns(
        pl.col("n").cast(pl.Int64)
    )


def _fenced_writer(catalog: Catalog, day: dt.date, writer: int, writes: int, errors) -> None:
    """Read the day from the source, compute a while, write it: each write a step of its own."""
    rng = random.Random(writer)
    for write in range(writes):
        for attempt in range(WRITER_ATTEMPTS):
            try:
                catalog_now = catalog.load()
                take_fence(catalog_now, f"writer {writer} write {write} attempt {attempt}")
                window = (day, day + dt.timedelta(days=1))
                frame = pl.scan_iceberg(catalog_now.load_table(SOURCE)).filter(pl.col("day") == day).collect()
                time.sleep(rng.uniform(0.5, 2.5))  # the step's compute: an erasure may run meanwhile
                frame = frame.with_columns(
                    pl.lit(writer, pl.Int32).alias("writer"), pl.lit(write, pl.Int32).alias("attempt")
                )
                write_frames(catalog_now, TABLE, frame, partition_column="day", window=window)
                break
            except (ErasedMeanwhile, CommitFailedException, ValidationException):
                continue
            except Exception:
                errors.put(f"writer {writer} ({day}): {traceback.format_exc(limit=3)}")
                return
        else:
            errors.put(f"writer {writer} ({day}): refused {WRITER_ATTEMPTS} times")


def _eraser(catalog: Catalog, commits: int, erased, errors) -> None:
    """Erase the subject once ``commits`` writes landed: during the writers' last round, so the
    rows of a write that read the source before the erasure would stay."""
    try:
        handle = catalog.load()
        while _commits(handle) < commits:
            time.sleep(0.1)
        match = lambda _schema: pl.col("user_id") == SUBJECT  # noqa: E731
        with erasure_running(handle):
            erase_rows(handle.load_table(SOURCE), match, handle)
            time.sleep(0.1)  # steps that read the source before the erasure commit meanwhile
            erase_rows(handle.load_table(TABLE), match, handle)
        erased.set()
    except Exception:
        errors.put(f"eraser: {traceback.format_exc(limit=3)}")


def _commits(handle: SqlCatalog) -> int:
    return len(handle.load_table(TABLE).metadata.snapshots) if handle.table_exists(TABLE) else 0


def erasure_race(catalog: Catalog, writers: int, writes: int) -> Trial:
    """``writers`` writers of a day each, reading a source the subject is erased from meanwhile."""
    context = multiprocessing.get_context("spawn")
    errors, erased = context.Queue(), context.Event()
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(writers)]
    handle = catalog.load()
    for day in days:
        write_frames(
            handle,
            SOURCE,
            _source_frame(day),
            partition_column="day",
            window=(day, day + dt.timedelta(days=1)),
        )
    procs = [
        context.Process(target=_fenced_writer, args=(catalog, day, w, writes, errors))
        for w, day in enumerate(days)
    ]
    last_round = writers * (writes - 1) + writers // 2
    procs.append(context.Process(target=_eraser, args=(catalog, last_round, erased, errors)))
    started = time.monotonic()
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    if not catalog.load().table_exists(TABLE):
        name = f"{catalog.name}: erasure beside writers"
        return Trial("concurrency", name, False, detail="no write landed", evidence=" | ".join(problems))
    final = pl.from_arrow(catalog.load().load_table(TABLE).scan().to_arrow())  # type: ignore[arg-type]
    resurrected = final.filter(pl.col("user_id") == SUBJECT).height
    others = ROWS - len(range(0, ROWS, 50))
    per_day = dict(final.filter(pl.col("user_id") != SUBJECT).group_by("day").agg(pl.len()).iter_rows())
    lost = sum(max(0, others - per_day.get(day, 0)) for day in days)
    duplicated = sum(max(0, rows - others) for rows in per_day.values())
    torn = (
        final.group_by("day")
        .agg(pl.struct("writer", "attempt").n_unique().alias("writes"))
        .filter(pl.col("writes") != 1)
        .height
    )
    if not erased.is_set():
        problems.append("the erasure did not finish")
    if resurrected:
        problems.append(f"{resurrected} of the subject's rows came back after the erasure")
    passed = not (problems or lost or duplicated or torn)
    detail = (
        f"{writers * writes} writes in {time.monotonic() - started:.1f}s beside an erasure of the source "
        f"and the table; the subject's rows after it: {resurrected}"
    )
    return Trial(
        "concurrency",
        f"{catalog.name}: {writers} writers of {writers} days, an erasure of their source beside",
        passed,
        lost,
        duplicated,
        torn,
        detail=detail if passed else "; ".join(problems[:2]) or detail,
        evidence="" if passed else " | ".join(problems[:5]),
    )
