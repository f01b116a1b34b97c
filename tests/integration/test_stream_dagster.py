"""The stream path in Dagster, on real NATS, real Iceberg tables and a real instance: the stream
sensor requests a micro-batch run of today's partition while messages wait, the run commits
them to stream Bronze (accounted for message by message) and types them into Silver with the
file path's events (an event landed both ways is kept once), and the sensor skips, saying why,
when nothing waits, when a run already takes them, and when NATS does not answer."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import dagster as dg
import polars as pl

from platform_resources.core.settings import get_nats_url, get_paths
from platform_resources.operational.servers import embedded_nats
from platform_resources.operational.services import events_of_day
from platform_resources.storage.iceberg_io import read_table
from platform_resources.stream.bus import connect, publish_lines
from tests.integration.conftest import check, materialized
from tests.integration.test_orders_pipeline import MALFORMED

TODAY = dt.datetime.now(dt.UTC).date()
YESTERDAY = TODAY - dt.timedelta(days=1)


def _publish(lines: list[bytes]) -> dict[str, int]:
    async def publish() -> dict[str, int]:
        client = await connect()
        try:
            return await publish_lines(client.jetstream(), "orders", lines)
        finally:
            await client.close()

    return asyncio.run(publish())


def _tick(instance: dg.DagsterInstance, defs: dg.Definitions) -> dg.SensorResult | dg.SkipReason:
    sensor = defs.get_sensor_def("orders_stream_sensor")
    return sensor(dg.build_sensor_context(instance=instance, definitions=defs))


def _silver_ids() -> pl.Series:
    silver = read_table("orders.silver_order_events").filter(pl.col("event_date") == TODAY).collect()
    return silver["event_id"]


def test_the_stream_sensor_runs_micro_batches_into_bronze_and_silver(
    servers: Path, instance: dg.DagsterInstance
) -> None:
    from domains.orders.definitions import defs

    lines = [line.encode() for line in events_of_day("orders", TODAY, 300, seed=11)["line"]]
    valid_ids = {json.loads(line)["eventId"] for line in lines}
    assert _publish([*lines, *MALFORMED])["stored"] == len(lines) + len(MALFORMED)

    requested = _tick(instance, defs)
    assert isinstance(requested, dg.SensorResult), requested
    [request] = requested.run_requests or []
    assert request.partition_key == TODAY.isoformat()
    assert request.tags["meshhouse/waiting"] == str(len(lines) + len(MALFORMED))
    assert request.tags["meshhouse/domain_partition"] == f"orders/{TODAY}"

    result = defs.resolve_job_def("orders_stream").execute_in_process(
        partition_key=request.partition_key, instance=instance, tags=request.tags, raise_on_error=False
    )
    assert result.success
    expected = {f"orders/bronze/{name}" for name in ("stream_events", "stream_quarantine")}
    expected.add("orders/silver/order_events")
    assert expected <= materialized(result)
    accounting = check(result, "orders/bronze/stream_events", "message_accounting")
    assert accounting.passed
    counts = {k: v.value for k, v in accounting.metadata.items()}
    assert counts["run_consumed"] == counts["run_accounted"] == len(lines) + len(MALFORMED)
    assert (counts["day_bronze_rows"], counts["day_quarantined_rows"]) == (len(lines), len(MALFORMED))
    assert (counts["range_rows"], counts["range_duplicated"]) == (len(lines) + len(MALFORMED), 0)
    lag = check(result, "orders/bronze/stream_events", "consumer_lag")
    assert lag.passed and lag.metadata["consumer_lag"].value == 0
    assert set(_silver_ids()) == valid_ids and _silver_ids().len() == len(valid_ids)
    # timeliness is timed on the live events: the simulated day's earlier events came in late
    silver = read_table("orders.silver_order_events").collect()
    late = ((silver["ingested_at"] - silver["event_ts"]).dt.total_seconds() > 5 * 60).sum()
    timeliness = check(result, "orders/silver/order_events", "timeliness")
    assert timeliness.metadata["rows_checked"].value == silver.height
    assert timeliness.metadata["rows_late"].value == late

    idle = _tick(instance, defs)
    assert isinstance(idle, dg.SkipReason)
    assert f"committed through {len(lines) + len(MALFORMED)}" in (idle.skip_message or "")

    # the same events landed as a file too: Silver keeps each once, from either path
    folder = get_paths().landing_dir("orders") / f"dt={TODAY}"
    folder.mkdir(parents=True)
    (folder / "replay.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    daily = defs.resolve_job_def("orders_daily").execute_in_process(
        partition_key=TODAY.isoformat(), instance=instance, raise_on_error=False
    )
    assert daily.success
    assert "orders/bronze/stream_events" not in materialized(daily)  # a file's day does not consume
    assert set(_silver_ids()) == valid_ids and _silver_ids().len() == len(valid_ids)
    silver_run = [
        m
        for m in daily.get_asset_materialization_events()
        if m.asset_key.path == ["orders", "silver", "order_events"]
    ]
    assert silver_run[0].materialization.metadata["duplicates_removed"].value == len(lines)

    url = get_nats_url()
    embedded_nats().stop()
    down = _tick(instance, defs)
    assert isinstance(down, dg.SkipReason)
    assert f"NATS at {url} did not answer" in (down.skip_message or "")


def test_the_stream_sensor_waits_for_the_run_that_takes_the_backlog(
    servers: Path, instance: dg.DagsterInstance
) -> None:
    from domains.orders.definitions import defs

    _publish([line.encode() for line in events_of_day("orders", TODAY, 20, seed=3)["line"]])
    job = defs.resolve_job_def("orders_stream")
    running = instance.create_run_for_job(
        job, tags={"dagster/partition": TODAY.isoformat()}, status=dg.DagsterRunStatus.STARTED
    )
    skipped = _tick(instance, defs)
    assert isinstance(skipped, dg.SkipReason)
    assert f"run {running.run_id} (STARTED) takes them" in (skipped.skip_message or "")
    instance.report_run_failed(running)
    assert isinstance(_tick(instance, defs), dg.SensorResult)


def test_events_published_late_land_in_their_own_day_which_automation_refreshes(
    servers: Path, instance: dg.DagsterInstance
) -> None:
    from domains.orders.definitions import defs

    silver = dg.AssetKey(["orders", "silver", "order_events"])
    baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    late = [line.encode() for line in events_of_day("orders", YESTERDAY, 100, seed=5)["line"]]
    on_time = [line.encode() for line in events_of_day("orders", TODAY, 20, seed=5)["line"]]
    _publish([*late, *on_time])  # a producer replaying yesterday, then today's events
    result = defs.resolve_job_def("orders_stream").execute_in_process(
        partition_key=TODAY.isoformat(), instance=instance, raise_on_error=False
    )
    assert result.success
    bronze = read_table("orders.bronze_stream_events").collect()
    days = dict(bronze.group_by("landing_date").len().iter_rows())
    assert days == {YESTERDAY: len(late), TODAY: len(on_time)}  # each event in its own day
    stream_events = dg.AssetKey(["orders", "bronze", "stream_events"])
    marked = instance.get_latest_materialization_event(stream_events)
    assert marked is not None and marked.dagster_event.partition == YESTERDAY.isoformat()
    assert set(_silver_ids()) == {json.loads(line)["eventId"] for line in on_time}

    # automation requests yesterday's Silver, which then holds the late events, none rejected
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=baseline.cursor)
    assert YESTERDAY.isoformat() in after.get_requested_partitions(silver)
    daily = defs.resolve_job_def("orders_daily").execute_in_process(
        partition_key=YESTERDAY.isoformat(), instance=instance, raise_on_error=False
    )
    assert daily.success
    held = read_table("orders.silver_order_events").filter(pl.col("event_date") == YESTERDAY).collect()
    assert set(held["event_id"]) == {json.loads(line)["eventId"] for line in late}
