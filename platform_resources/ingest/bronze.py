"""The Bronze factory: a domain's landing files become its raw event table and its quarantine.

Every line read lands in exactly one place: ``<domain>.bronze_events`` (valid seed-002
envelopes kept raw, with parsed envelope columns and ingestion metadata) or
``<domain>.bronze_quarantine`` (the raw bytes, file, line and the reason). Files are read
in bounded batches and written in one atomic commit per table (events, then quarantine). The blocking
``line_accounting`` check re-counts the lines in the files and compares them with what
the two tables hold for the partition after the commit.
"""

import datetime as dt
import itertools
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import dagster as dg
import polars as pl

from platform_resources.core.automation import CHUNKED_BACKFILL, RETRY
from platform_resources.core.keys import IO_MANAGER_KEY, PARTITION_EXPR
from platform_resources.core.partitions import DAILY, window_dates, window_days
from platform_resources.ingest.envelope import classify_lines
from platform_resources.ingest.landing import count_lines, iter_line_batches, landing_files
from platform_resources.storage.iceberg_io import count_rows, table_identifier
from platform_resources.storage.outages import reporting_outages

LANDING_DATE = "landing_date"
LINE_ACCOUNTING = "line_accounting"


def bronze_keys(domain: str) -> tuple[dg.AssetKey, dg.AssetKey]:
    return dg.AssetKey([domain, "bronze", "events"]), dg.AssetKey([domain, "bronze", "quarantine"])


def build_bronze_assets(domain: str, owner: str) -> dg.AssetsDefinition:
    events_key, quarantine_key = bronze_keys(domain)
    common = {
        "group_name": domain,
        "owners": [owner],
        "kinds": {"iceberg", "duckdb", "polars"},
        "metadata": {PARTITION_EXPR: LANDING_DATE},
        "tags": {"layer": "bronze"},
    }

    @dg.multi_asset(
        name=f"{domain}_bronze",
        specs=[
            dg.AssetSpec(
                events_key,
                description=f"Valid event envelopes from {domain}'s landing zone, kept raw with parsed "
                "envelope columns and ingestion metadata (file, line, checksum, ingested_at).",
                **common,
            ).with_io_manager_key(IO_MANAGER_KEY),
            dg.AssetSpec(
                quarantine_key,
                description=f"Lines from {domain}'s landing zone that are not valid envelopes: raw "
                "bytes, file, line and the reason.",
                **common,
            ).with_io_manager_key(IO_MANAGER_KEY),
        ],
        check_specs=[
            dg.AssetCheckSpec(
                LINE_ACCOUNTING,
                asset=events_key,
                blocking=True,
                description="Lines in the landing files = Bronze rows + quarantined rows, for the partition.",
            )
        ],
        partitions_def=DAILY,
        backfill_policy=CHUNKED_BACKFILL,
        retry_policy=RETRY,
    )
    @reporting_outages
    def bronze(context: dg.AssetExecutionContext) -> Iterator[dg.Output | dg.AssetCheckResult]:
        ingested_at = dt.datetime.now(dt.UTC)
        days = window_days(context)
        files = [f for day in days for f in landing_files(domain, day)]
        quarantined: list[pl.DataFrame] = []

        def classified() -> Iterator[Future]:
            # The next batch is classified (DuckDB, off the GIL) while the IO manager writes this one.
            with ThreadPoolExecutor(max_workers=1) as pool:
                for file in files:
                    context.log.info(f"reading {file.path} ({file.size:,} bytes)")
                    for first, lines in iter_line_batches(file.path):
                        yield pool.submit(classify_lines, first, lines, str(file.path), file.day, ingested_at)

        def valid_batches() -> Iterator[pl.DataFrame]:
            produced = False
            pending: Future | None = None
            for future in itertools.chain(classified(), [None]):
                if pending is not None:
                    valid, bad = pending.result()
                    quarantined.append(bad)
                    produced = True
                    yield valid
                pending = future
            if not produced:  # an empty window still replaces the partition (with nothing)
                valid, bad = classify_lines(1, [], "", days[0], ingested_at)
                quarantined.append(bad)
                yield valid

        yield dg.Output(
            valid_batches(), output_name=events_key.to_python_identifier(), metadata={"files": len(files)}
        )
        quarantine = pl.concat(quarantined)
        reasons = quarantine.group_by("reason").len().sort("len", descending=True)
        yield dg.Output(
            quarantine,
            output_name=quarantine_key.to_python_identifier(),
            metadata={"reasons": dg.MetadataValue.json(dict(reasons.iter_rows()))},
        )
        yield _line_accounting(domain, files, window_dates(context))

    return bronze


def _line_accounting(domain: str, files: list, window: tuple[dt.date, dt.date]) -> dg.AssetCheckResult:
    events_key, quarantine_key = bronze_keys(domain)
    lines_read = sum(count_lines(f.path) for f in files)
    stored = {
        key.path[-1]: count_rows(table_identifier(key), partition_column=LANDING_DATE, window=window)
        for key in (events_key, quarantine_key)
    }
    return dg.AssetCheckResult(
        asset_key=events_key,
        check_name=LINE_ACCOUNTING,
        passed=lines_read == stored["events"] + stored["quarantine"],
        metadata={
            "files": len(files),
            "lines_read": lines_read,
            "bronze_rows": stored["events"],
            "quarantined_rows": stored["quarantine"],
        },
    )
