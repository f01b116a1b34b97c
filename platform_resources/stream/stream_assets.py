"""A domain's stream Bronze in Dagster: the ``<domain>_bronze_stream`` multi-asset, one
micro-batch run consuming the domain's stream until idle (``consumer.ingest_until_idle``).

The run reports both stream Bronze tables materialized on its day partition (today's, from the
stream sensor) with the consumer's position and lag, and the events table materialized on
each other day it committed events of (published late: their Silver refreshes by automation),
and two checks: the blocking
``message_accounting`` (consumed = Bronze + quarantined + already committed = the rows both
tables hold for the run's sequence range, each sequence once) and
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
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import count_rows
from platform_resources.storage.outages import reporting_outages
from platform_resources.stream.bus import stream_name
from platform_resources.stream.consumer import IngestSummary, ingest_until_idle
from platform_resources.stream.stream_bronze import sequences_between, stream_bronze_keys, stream_tables

MESSAGE_ACCOUNTING = "message_accounting"
CONSUMER_LAG = "consumer_lag"
#: The oldest waiting message may wait this long before ``consumer_lag`` warns (seed 002's
#: timeliness objective for the path from the producer to the lakehouse).
MAX_LAG_S = 300


def _accounting(domain: str, summary: IngestSummary, window: tuple[dt.date, dt.date]) -> dict[str, int]:
    """The run's messages against what both tables hold for its sequence range, and the rows
    both hold for the run's day."""
    catalog = load_catalog()
    first, last = summary.first_seq, summary.committed_seq
    held = pl.concat(
        [sequences_between(catalog, t, first, last) for t in stream_tables(domain)]
        if first
        else [pl.Series("line_number", [], dtype=pl.Int64)]
    )
    events, quarantine = (
        count_rows(t, partition_column=LANDING_DATE, window=window) if catalog.table_exists(t) else 0
        for t in stream_tables(domain)
    )
    return {
        "run_consumed": summary.consumed,
        "run_accounted": summary.bronze + summary.quarantined + summary.already_committed,
        "run_first_seq": first,
        "run_last_seq": last if first else 0,
        "range_rows": held.len(),
        "range_duplicated": held.len() - held.n_unique(),
        "day_bronze_rows": events,
        "day_quarantined_rows": quarantine,
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
                "committed) = the rows both tables hold for the run's sequence range, each sequence once.",
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
    @reporting_outages
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
        for day in summary.days:  # events of other days (published late) went to their own day
            if day not in context.partition_keys:
                context.log_event(
                    dg.AssetMaterialization(
                        asset_key=events_key,
                        partition=day,
                        description=f"events of {day} committed by run {context.run.run_id}",
                    )
                )
        yield dg.AssetCheckResult(
            asset_key=events_key,
            check_name=MESSAGE_ACCOUNTING,
            passed=counts["run_consumed"] == counts["run_accounted"] == counts["range_rows"]
            and counts["range_duplicated"] == 0,
            metadata={**counts, "days": dg.MetadataValue.json(summary.days)},
        )
        yield dg.AssetCheckResult(
            asset_key=events_key,
            check_name=CONSUMER_LAG,
            passed=summary.lag_s <= MAX_LAG_S,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={**position, "max_lag_s": MAX_LAG_S},
        )

    return bronze_stream
