"""The landing zone on a real S3 server (SeaweedFS from PyPI), read through dagster-aws.

The same sensor and Bronze as on the local folder: objects dropped into the bucket
request their day once, a late or rewritten object requests it again, and every line of
every object lands in Bronze or the quarantine, exactly once across reruns.
"""

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from domains.orders.definitions import defs
from platform_resources.ingest.landing import unreadable_folders, write_landing_file
from platform_resources.storage.iceberg_io import read_table
from tests.conftest import order_created
from tests.integration.conftest import S3Landing, check, rows, run_orders

pytestmark = pytest.mark.integration
D1, D2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20)


def _tick(instance: dg.DagsterInstance, cursor: str | None) -> tuple[list[str], str | None]:
    sensor = defs.get_sensor_def("orders_landing_sensor")
    result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
    return [r.partition_key for r in result.run_requests or []], result.cursor


def test_objects_request_their_day_once_and_a_late_or_rewritten_object_again(
    home, instance, s3_landing: S3Landing
) -> None:
    s3_landing.put("orders", D1, "a.jsonl", [order_created("o-1", ts=f"{D1}T10:00:00Z")])
    s3_landing.put("orders", D2, "a.jsonl", [order_created("o-2")])
    s3_landing.put("orders", D2, ".b.jsonl", [order_created("o-3")])  # still being written: not yet
    s3_landing.client.put_object(Bucket=s3_landing.bucket, Key="zone/orders/misc/x.jsonl", Body=b"{}\n")
    s3_landing.client.put_object(
        Bucket=s3_landing.bucket, Key="zone/orders/dt=2026-02-30/x.jsonl", Body=b"{}\n"
    )
    days, cursor = _tick(instance, None)
    assert days == [D1.isoformat(), D2.isoformat()]  # not the hidden object, nor the bad folders
    assert unreadable_folders("orders") == ["dt=2026-02-30"]
    assert _tick(instance, cursor)[0] == []

    s3_landing.put("orders", D1, "late-1.jsonl", [order_created("o-4", ts=f"{D1}T23:00:00Z")])
    days, cursor = _tick(instance, cursor)
    assert days == [D1.isoformat()]
    s3_landing.put("orders", D2, "a.jsonl", [order_created("o-2"), order_created("o-5")])  # rewritten
    days, cursor = _tick(instance, cursor)
    assert days == [D2.isoformat()]

    written = write_landing_file("orders", D1, "probe.jsonl", b"{}\n")  # as the platform's probe writes
    assert written == f"s3://{s3_landing.bucket}/zone/orders/dt={D1}/probe.jsonl"
    assert _tick(instance, cursor)[0] == [D1.isoformat()]


def test_bronze_reads_every_line_of_the_objects_and_a_rerun_duplicates_nothing(
    home, instance, s3_landing: S3Landing
) -> None:
    events = [order_created(f"o-{i}", ts=f"{D2}T{i % 24:02d}:00:00Z") for i in range(40)]
    first = s3_landing.put("orders", D2, "part-1.jsonl", [*events[:30], b"{not json"])
    s3_landing.put("orders", D2, "part-2.jsonl", events[30:])

    result = run_orders(instance, D2)
    assert result.success
    assert check(result, "orders/bronze/events", "line_accounting").passed
    assert (rows("orders.bronze_events"), rows("orders.bronze_quarantine")) == (40, 1)
    quarantine = read_table("orders.bronze_quarantine").collect()
    assert quarantine.select("source_file", "line_number", "reason").row(0) == (first, 31, "not valid JSON")
    assert rows("orders.silver_order_events") == 40
    sources = read_table("orders.bronze_events").select(pl.col("source_file").unique()).collect()
    assert sorted(sources["source_file"]) == [first, first.replace("part-1", "part-2")]

    assert run_orders(instance, D2).success
    assert (rows("orders.bronze_events"), rows("orders.bronze_quarantine")) == (40, 1)
    assert rows("orders.silver_order_events") == 40
