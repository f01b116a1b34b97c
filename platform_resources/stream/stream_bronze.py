"""Stream Bronze: a domain's stream messages as rows of ``<domain>.bronze_stream_events`` and
``<domain>.bronze_stream_quarantine``, each committed exactly once.

Messages get the file path's envelope validation (``ingest/envelope.classify_lines``) and the
same two tables' columns, so Silver reads files and stream alike: ``line_number`` is the
message's stream sequence, ``source_file`` is ``nats://<stream>``. ``landing_date`` is the day
the event happened (its envelope's timestamp, UTC), as a file's folder names it, so an event
published late (after midnight, or a producer replaying a past day) lands in its own day and
Silver types it there; a quarantined message, or an event dated after the day the stream stored
it or before the partitions begin, keeps the stored day (Silver then rejects the latter with its
reason). Before that, a message no line of a file could be is quarantined with its
reason: one holding a newline (a file would have made it several lines); one over
``MAX_EVENT_BYTES`` is quarantined by the envelope validation, as a file's line is. Nothing is dropped.

Each table keeps the last stream sequence it committed in its properties
(``meshhouse.stream.committed-seq``), set in the same commit as its rows, and each commit's
snapshot summary names the sequence range (as Iceberg's Kafka Connect sink keeps its offsets
in snapshots). A message at or below a table's committed sequence is already in it: a
redelivery after a crash is recognised there and never written twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
import polars as pl
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import And, GreaterThanOrEqual, LessThanOrEqual

from platform_resources.core.faults import kill_point
from platform_resources.core.partitions import START_DATE
from platform_resources.ingest.bronze import LANDING_DATE
from platform_resources.ingest.envelope import classify_lines
from platform_resources.storage.iceberg_append import append_with_position, table_property
from platform_resources.storage.iceberg_io import table_identifier
from platform_resources.stream.bus import stream_name

COMMITTED_SEQ = "meshhouse.stream.committed-seq"
FIRST_DAY = dt.date.fromisoformat(START_DATE)
#: ``source_file`` of a row that came through the stream (a file's is its path or s3:// URI).
STREAM_SOURCE_PREFIX = "nats://"
NEWLINE = b"\n"


@dataclass(frozen=True)
class StreamMessage:
    seq: int
    data: bytes
    stored_at: dt.datetime  # when the stream stored it (UTC)


def stream_bronze_keys(domain: str) -> tuple[dg.AssetKey, dg.AssetKey]:
    return dg.AssetKey([domain, "bronze", "stream_events"]), dg.AssetKey(
        [domain, "bronze", "stream_quarantine"]
    )


def stream_tables(domain: str) -> tuple[str, str]:
    events, quarantine = stream_bronze_keys(domain)
    return table_identifier(events), table_identifier(quarantine)


def stream_source(domain: str) -> str:
    return f"{STREAM_SOURCE_PREFIX}{stream_name(domain)}"


def committed_seq(catalog: Catalog, identifier: str) -> int:
    """The last stream sequence the table committed (0 before its first commit)."""
    return int(table_property(catalog, identifier, COMMITTED_SEQ) or 0)


def resume_seq(catalog: Catalog, domain: str) -> int:
    """The first sequence not yet committed to both tables: where consumption resumes."""
    return min(committed_seq(catalog, identifier) for identifier in stream_tables(domain)) + 1


def sequences_between(catalog: Catalog, identifier: str, first: int, last: int) -> pl.Series:
    """The stream sequences (``line_number``) the table holds in ``[first, last]``, every copy."""
    if not catalog.table_exists(identifier):
        return pl.Series("line_number", [], dtype=pl.Int64)
    row_filter = And(GreaterThanOrEqual("line_number", first), LessThanOrEqual("line_number", last))
    scan = catalog.load_table(identifier).scan(row_filter=row_filter, selected_fields=("line_number",))
    return pl.from_arrow(scan.to_arrow())["line_number"]  # type: ignore[index]


def _unfit_reason(data: bytes) -> str | None:
    if NEWLINE in data:
        return f"multi-line message: {data.count(NEWLINE) + 1} lines in one message"
    return None


def classify_messages(
    domain: str, messages: Sequence[StreamMessage], ingested_at: dt.datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(Bronze rows, quarantined rows) of ``messages``: every message in exactly one of them."""
    source = stream_source(domain)
    valid: list[pl.DataFrame] = []
    quarantined: list[pl.DataFrame] = []
    by_day: dict[dt.date, list[StreamMessage]] = {}
    for message in messages:
        by_day.setdefault(message.stored_at.astimezone(dt.UTC).date(), []).append(message)
    for day, group in sorted(by_day.items()):
        fit = [m for m in group if _unfit_reason(m.data) is None]
        good, bad = classify_lines(0, [m.data for m in fit], source, day, ingested_at)
        seqs = pl.Series([m.seq for m in fit], dtype=pl.Int64)
        # classify_lines numbered the fit messages from 0: their sequences replace those numbers
        event_day = pl.col("event_ts").dt.date()
        in_range = event_day.is_between(FIRST_DAY, day)
        valid.append(
            good.with_columns(
                line_number=seqs.gather(good["line_number"]),
                landing_date=pl.when(in_range).then(event_day).otherwise(pl.col(LANDING_DATE)),
            )
        )
        bad = bad.with_columns(line_number=seqs.gather(bad["line_number"]))
        unfit = [
            {
                "raw": m.data,
                "line_number": m.seq,
                "checksum": hashlib.sha256(m.data).hexdigest(),
                "reason": reason,
                "source_file": source,
                "ingested_at": ingested_at,
                "landing_date": day,
            }
            for m in group
            if (reason := _unfit_reason(m.data)) is not None
        ]
        quarantined += [bad, pl.DataFrame(unfit, schema=bad.schema)]
    if not valid:  # no messages: empty frames with the tables' columns
        good, bad = classify_lines(0, [], source, ingested_at.date(), ingested_at)
        return good, bad
    return pl.concat(valid), pl.concat(quarantined).sort("line_number")


@dataclass(frozen=True)
class BatchCommit:
    bronze: int  # rows newly committed to the events table
    quarantined: int  # rows newly committed to the quarantine
    already_committed: int  # messages a table already held (redelivered after a crash)
    days: frozenset[dt.date]  # the landing dates the new rows went to


def commit_batch(
    catalog: Catalog, domain: str, messages: Sequence[StreamMessage], ingested_at: dt.datetime
) -> BatchCommit:
    """Commit a contiguous run of messages to both tables (events, then quarantine), each
    commit holding its rows and its new committed sequence; rows a table already has are skipped."""
    first, last = messages[0].seq, messages[-1].seq
    frames = classify_messages(domain, messages, ingested_at)
    written: list[int] = []
    days: set[dt.date] = set()
    for identifier, frame in zip(stream_tables(domain), frames, strict=True):
        committed = committed_seq(catalog, identifier)
        fresh = frame.filter(pl.col("line_number") > committed)
        append_with_position(
            catalog,
            identifier,
            fresh,
            partition_column=LANDING_DATE,
            summary={
                "meshhouse.stream": stream_name(domain),
                "meshhouse.stream.first-seq": str(first),
                "meshhouse.stream.last-seq": str(last),
            },
            properties={COMMITTED_SEQ: str(max(last, committed))},
        )
        written.append(fresh.height)
        days.update(fresh[LANDING_DATE].unique().to_list())
        kill_point("stream-between-tables")
    return BatchCommit(written[0], written[1], len(messages) - sum(written), frozenset(days))
