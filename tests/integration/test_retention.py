"""Retention on real Iceberg tables: exactly the partitions past a tier's age go, with their files;
Bronze is raw by layer; tables without a tier are left alone and reported; the job and the
command report their figures."""

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl

from platform_resources.mesh.workspace import products_by_table
from platform_resources.products.output_ports import write_file_port
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import write_frames
from platform_resources.upkeep.retention import TIER_DAYS, apply_retention, retain_files
from platform_resources.upkeep.table_maintenance import list_files, referenced_files
from tests.conftest import write_landing
from tests.integration.conftest import run_command

TODAY = dt.date(2026, 11, 30)
WARM = "platform.silver_operations_events"  # its contract's tier: warm
HOT = "orders.gold_daily_revenue"  # analytics in its contract; made hot below
RAW = "orders.bronze_events"  # no contract: raw by layer
REJECTED = "orders.silver_rejected"  # no contract: raw, as the Bronze lines it points at
NO_TIER = "orders.adhoc_extract"  # no contract, not a raw-zone table


def products() -> dict:
    by_table = products_by_table()
    by_table[HOT] = dataclasses.replace(by_table[HOT], retention="hot")
    return by_table


def write_days(identifier: str, column: str, ages: list[int], today: dt.date = TODAY) -> None:
    for age in ages:
        day = today - dt.timedelta(days=age)
        write_frames(
            load_catalog(),
            identifier,
            pl.DataFrame({column: [day] * 3, "n": [age, age + 1, age + 2]}),
            partition_column=column,
            window=(day, day + dt.timedelta(days=1)),
        )


def ages(identifier: str, column: str, today: dt.date = TODAY) -> list[int]:
    days = pl.scan_iceberg(load_catalog().load_table(identifier)).select(column).unique().collect()
    return sorted((today - d).days for d in days[column])


def files_of(identifier: str, ages_: list[int]) -> list[Path]:
    days = {str(TODAY - dt.timedelta(days=a)) for a in ages_}
    tasks = load_catalog().load_table(identifier).scan().plan_files()
    return [
        Path(t.file.file_path.removeprefix("file://"))
        for t in tasks
        if t.file.file_path.split("=")[1][:10] in days
    ]


def test_retention_deletes_exactly_the_partitions_past_each_tier_and_their_files(home) -> None:
    write_days(HOT, "order_date", [0, 1, 7, 8, 9])
    write_days(WARM, "event_date", [0, 89, 90, 91, 92])
    write_days(RAW, "landing_date", [0, 2557, 2558])
    write_days(REJECTED, "landing_date", [0, 2558])
    write_days(NO_TIER, "event_date", [0, 4000])
    gone = {HOT: files_of(HOT, [8, 9]), WARM: files_of(WARM, [91, 92]), RAW: files_of(RAW, [2558])}
    kept = files_of(HOT, [0, 1, 7]) + files_of(WARM, [0, 89, 90]) + files_of(RAW, [0, 2557])

    results = {r.table: r for r in apply_retention(load_catalog(), products(), TODAY)}

    assert ages(HOT, "order_date") == [0, 1, 7]  # hot keeps today and the 7 days before
    assert ages(WARM, "event_date") == [0, 89, 90]
    assert ages(RAW, "landing_date") == [0, 2557]
    assert ages(REJECTED, "landing_date") == [0]
    assert ages(NO_TIER, "event_date") == [0, 4000]
    assert results[HOT].cutoff == TODAY - dt.timedelta(days=7)
    assert results[HOT].days_deleted == (TODAY - dt.timedelta(days=9), TODAY - dt.timedelta(days=8))
    assert (results[WARM].rows_deleted, results[RAW].rows_deleted) == (6, 3)
    assert results[NO_TIER].left_alone == "no contract" and results[NO_TIER].expiry is None
    for identifier, paths in gone.items():
        assert paths and not any(p.exists() for p in paths), identifier  # the rows are gone from storage
        assert results[identifier].expiry.data_files_deleted == len(paths)
        table = load_catalog().load_table(identifier)
        assert set(list_files(table)) <= referenced_files(table)  # no file left unreferenced
    assert all(p.exists() for p in kept)


def test_landing_files_and_port_files_past_their_tier_are_deleted(home) -> None:
    raw_cutoff = TODAY - dt.timedelta(days=TIER_DAYS["raw"])
    old_landing = write_landing(home, raw_cutoff - dt.timedelta(days=1), "part-1.jsonl", [b"{}"])
    new_landing = write_landing(home, raw_cutoff, "part-1.jsonl", [b"{}"])
    port = products()["orders.gold_customer_daily_orders_v2"]  # a file port, analytics: 1,096 days
    days = [TODAY - dt.timedelta(days=age) for age in (1097, 1096, 1)]
    rows = pl.DataFrame({"order_date": days}).with_columns(user_token=pl.lit("tok_x"))
    paths = [Path(write_file_port(port, rows, day)[0]) for day in days]

    assert retain_files(products(), TODAY, dry_run=True) == {
        "landing_files_deleted": 1,
        "port_files_deleted": 1,
    }
    assert old_landing.exists() and all(p.exists() for p in paths)
    assert retain_files(products(), TODAY) == {"landing_files_deleted": 1, "port_files_deleted": 1}
    assert not old_landing.exists() and new_landing.exists()
    assert [p.exists() for p in paths] == [False, True, True]


def test_a_dry_run_reports_the_partitions_it_would_delete_and_changes_nothing(home) -> None:
    write_days(HOT, "order_date", [0, 8, 30])
    snapshot = load_catalog().load_table(HOT).current_snapshot().snapshot_id

    (result,) = apply_retention(load_catalog(), products(), TODAY, dry_run=True)

    assert result.days_deleted == (TODAY - dt.timedelta(days=30), TODAY - dt.timedelta(days=8))
    assert result.rows_deleted == 6 and result.expiry is None
    assert ages(HOT, "order_date") == [0, 8, 30]
    assert load_catalog().load_table(HOT).current_snapshot().snapshot_id == snapshot


def test_the_retention_job_deletes_old_partitions_and_reports_its_figures(home, instance) -> None:
    from domains.platform.definitions import defs

    today = dt.datetime.now(dt.UTC).date()
    write_days(WARM, "event_date", [0, 120], today)
    write_days(NO_TIER, "event_date", [0], today)

    result = defs.resolve_job_def("platform_retention").execute_in_process(instance=instance)

    assert result.success
    (materialization,) = result.asset_materializations_for_node("platform__retention__report")
    figures = {k: v.value for k, v in materialization.metadata.items()}
    assert (figures["tables"], figures["tables_trimmed"], figures["partitions_deleted"]) == (2, 1, 1)
    assert figures["rows_deleted"] == 3 and figures["files_deleted"] > 0
    assert figures["left_alone"] == {NO_TIER: "no contract"} and figures["dry_run"] is False
    assert ages(WARM, "event_date", today) == [0]


def test_the_commands_run_retention_and_maintenance(home) -> None:
    today = dt.datetime.now(dt.UTC).date()
    write_days(WARM, "event_date", [0, 120], today)

    dry = run_command(["meshhouse", "retention", "run", "--dry-run"], home).stdout
    assert f"{WARM}: warm, partitions before {today - dt.timedelta(days=90)}: 1" in dry
    assert "dry run, nothing deleted" in dry and ages(WARM, "event_date", today) == [0, 120]

    maintenance = run_command(["meshhouse", "maintenance", "run", "--snapshot-days", "0"], home).stdout
    assert f"{WARM}: data files 2 -> 2" in maintenance and "snapshots expired" in maintenance
