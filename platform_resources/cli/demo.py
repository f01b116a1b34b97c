"""The headless demo: materialize every domain's assets for its landed days, then summarize.

Domains run in workspace order, producers before the consumer growth. Each domain's
daily job runs once over the whole range of landed days, as one run, on the Dagster
instance of ``$DAGSTER_HOME`` (default ``$MESHHOUSE_HOME/dagster``), so the results show in the UI
afterwards.
"""

import dagster as dg
import polars as pl

from platform_resources.cli.instance import dagster_instance
from platform_resources.core.partitions import DAILY
from platform_resources.ingest.landing import landing_files
from platform_resources.mesh.workspace import domain_module, domain_names, simulated_domains
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import partition_column, read_table

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def run_demo(instance: dg.DagsterInstance | None = None, domains: list[str] | None = None) -> int:
    """Materialize ``domains`` (default: every one) for their landed days; 1 if a run failed."""
    instance = instance or dagster_instance()
    partitions = set(DAILY.get_partition_keys())
    failures = 0
    landed = {d: {f.day.isoformat() for f in landing_files(d)} & partitions for d in simulated_domains()}
    for domain in domains or domain_names():
        # a consumer domain (no landing zone of its own) covers every day its producers landed
        days = sorted(landed[domain] if domain in landed else set().union(*landed.values()))
        if not days:
            print(f"{domain}: no landing data; skipped")
            continue
        print(f"{domain}: materializing {days[0]}..{days[-1]} ({len(days)} days) as one run", flush=True)
        job = domain_module(domain, "definitions").defs.resolve_job_def(f"{domain}_daily")
        result = job.execute_in_process(
            instance=instance,
            tags={RANGE_START: days[0], RANGE_END: days[-1]},
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            raise_on_error=False,
        )
        print_checks(result.get_asset_check_evaluations())
        if not result.success:
            failures += 1
            print(f"{domain}: run {result.run_id} FAILED")
    print_summary()
    return 1 if failures else 0


def print_checks(evaluations: list) -> None:
    by_result: dict[bool, int] = {True: 0, False: 0}
    for ev in evaluations:
        by_result[ev.passed] += 1
        if not ev.passed:
            print(f"  check FAILED: {ev.asset_key.to_user_string()} {ev.check_name}: {ev.description or ''}")
    print(f"  checks: {by_result[True]} passed, {by_result[False]} failed")


def print_summary() -> None:
    catalog = load_catalog()
    for (namespace,) in sorted(catalog.list_namespaces()):
        print(f"\n== {namespace} ==")
        for _, name in sorted(catalog.list_tables(namespace)):
            identifier = f"{namespace}.{name}"
            column = partition_column(catalog.load_table(identifier))
            lf = read_table(identifier)
            if column is None:
                print(f"{name:<28} {lf.select(pl.len()).collect().item():>10,} rows")
                continue
            counts = lf.group_by(column).len().sort(column).collect()
            per_day = ", ".join(f"{d}: {n:,}" for d, n in counts.iter_rows())
            print(f"{name:<28} {counts['len'].sum():>10,} rows  ({per_day})")
            if name == "bronze_quarantine" and counts.height:
                reasons = lf.group_by("reason").len().sort("len", descending=True).collect()
                for reason, n in reasons.iter_rows():
                    print(f"{'':<30}{n:>8,}  {reason}")
