"""A domain's stream Bronze in Dagster: the ``<domain>_bronze_stream`` multi-asset, one
micro-batch run consuming the domain's stream until idle (``consumer.ingest_until_idle``).

The run reports both stream Bronze tables materialized on its day partition (today's, from the
stream sensor) with the consumer's position and lag, and two checks: the blocking
``message_accounting`` (this run: consumed = Bronze + quarantined + already committed; the
day: every sequence stored once, none missing between the first and the last) and
``consumer_lag`` (how long the oldest waiting message has waited, against seed 002's
five-minute timeliness objective).
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from platform_resources.core.automation import CHUNKED_BACKFILL, RETRY
from platform_resources.core.keys import IO_MANAGER_KEY, PARTITION_EXPR
from platform_resources.core.partitions import DAILY, window_dates
from platform_resources.ingest.bronze import LANDING_DATE
from platform_resources.storage.iceberg_io import TableWindow
from platform_resources.stream.bus import stream_name
from platform_resources.stream.consumer import IngestSummary, ingest_until_idle
from platform_resources.stream.stream_bronze import stream_bronze_keys, stream_tables

MESSAGE_ACCOUNTING = "message_accounting"
CONSUMER_LAG = "consumer_lag"
#: The oldest waiting message may wait this long before ``consumer_lag`` warns (seed 002's
#: timeliness objective for the path from the producer to the lakehouse).
MAX_LAG_S = 300


def _sequences(identifier: str, window: tuple[dt.date, dt.date]) -> pl.Series:
    """The stream sequences (``line_number``) a stream Bronze table holds for ``window``."""
    table = TableWindow(identifier, LANDING_DATE, window)
    if not table.exists():
        return pl.Series("line_number", [], dtype=pl.Int64)
    return pl.from_arrow(table.stream(["line_number"]).read_all())["line_number"]  # type: ignore[index]


def _accounting(domain: str, summary: IngestSummary, window: tuple[dt.date, dt.date]) -> dict[str, int]:
    events, quarantine = (_sequences(identifier, window) for identifier in stream_tables(domain))
    seqs = pl.concat([events, quarantine])
    distinct = seqs.n_unique()
    span = int(seqs.max() - seqs.min() + 1) if seqs.len() else 0  # type: ignore[operator]
    return {
        "run_consumed": summary.consumed,
        "run_accounted": summary.bronze + summary.quarantined + summary.already_committed,
        "day_bronze_rows": events.len(),
        "day_quarantined_rows": quarantine.len(),
        "day_duplicated": seqs.len() - distinct,
        "day_missing": span - distinct,
        "day_first_seq": int(seqs.min()) if seqs.len() else 0,  # type: ignore[arg-type]
        "day_last_seq": int(seqs.max()) if seqs.len() else 0,  # type: ignore[arg-type]
    }


def build_stream_bronze_assets(domain: str, owner: str) -> dg.AssetsDefinition:
    events_key, quarantine_key = stream_bronze_keys(domain)
    common = {
        "group_name": domain,
        "owners": [owner],
        "kinds": {"iceberg", "nats", "polars"},
        "metadata": {PARTITION_EXPR: LANDING_DATE},
        "tags": {"layer": "bronze"},
    }
    source = f"{stream_name(domain)} (events.{domain}.>)"

    @dg.multi_asset(
        name=f"{domain}_bronze_stream",
        specs=[
            dg.AssetSpec(
                events_key,
                description=f"Valid event envelopes from {source}, kept raw with parsed envelope columns; "
                "line_number is the stream sequence, landing_date the day the stream stored it.",
                **common,
            ).with_io_manager_key(IO_MANAGER_KEY),
            dg.AssetSpec(
                quarantine_key,
                description=f"Messages from {source} that are not valid envelopes (not JSON, bad UTF-8, "
                "bad envelope, multi-line, oversized): raw bytes, sequence and the reason.",
                **common,
            ).with_io_manager_key(IO_MANAGER_KEY),
        ],
        check_specs=[
            dg.AssetCheckSpec(
                MESSAGE_ACCOUNTING,
                asset=events_key,
                blocking=True,
                description="Messages consumed = Bronze rows + quarantined rows (+ redeliveries already "
                "committed) for the run; for the day, every stream sequence stored once and none missing.",
            ),
            dg.AssetCheckSpec(
                CONSUMER_LAG,
                asset=events_key,
                description=f"The oldest message still waiting in {stream_name(domain)} after the run has "
                f"waited at most {MAX_LAG_S} s.",
            ),
        ],
        partitions_def=DAILY,
        backfill_policy=CHUNKED_BACKFILL,  # a range run consumes what waits once, like a day's
        retry_policy=RETRY,
    )
    def bronze_stream(
        context: dg.AssetExecutionContext,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        def progress(summary: IngestSummary) -> None:
            context.log.info(
                f"batch {summary.batches}: {summary.consumed:,} consumed ({summary.bronze:,} Bronze, "
                f"{summary.quarantined:,} quarantined)"
            )

        summary = ingest_until_idle(domain, progress=progress)
        counts = _accounting(domain, summary, window_dates(context))
        position = {
            "committed_seq": summary.committed_seq,
            "consumer_lag": summary.lag,
            "consumer_lag_s": summary.lag_s,
        }
        yield dg.MaterializeResult(
            asset_key=events_key,
            metadata={
                "consumed": summary.consumed,
                "bronze": summary.bronze,
                "already_committed": summary.already_committed,
                "batches": summary.batches,
                **position,
            },
        )
        yield dg.MaterializeResult(
            asset_key=quarantine_key, metadata={"quarantined": summary.quarantined, **position}
        )
        yield dg.AssetCheckResult(
            asset_key=events_key,
            check_name=MESSAGE_ACCOUNTING,
            passed=counts["run_consumed"] == counts["run_accounted"]
            and counts["day_duplicated"] == 0
            and counts["day_missing"] == 0,
            metadata=counts,
        )
        yield dg.AssetCheckResult(
            asset_key=events_key,
            check_name=CONSUMER_LAG,
            passed=summary.lag_s <= MAX_LAG_S,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={**position, "max_lag_s": MAX_LAG_S},
        )

    return bronze_stream
