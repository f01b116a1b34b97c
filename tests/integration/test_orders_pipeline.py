"""orders end to end on a real Dagster instance: where every line goes, reruns, and blocking contracts."""

import datetime as dt
import json

import polars as pl
import pytest

from platform_resources.ingest.envelope import TIMESTAMP_REASON
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import read_table
from tests.conftest import envelope, order_created, status_change, write_landing
from tests.integration.conftest import check, materialized, rows, run_orders

pytestmark = pytest.mark.integration
D = dt.date(2026, 11, 20)
GOLD = ("orders.gold_daily_revenue", "orders.gold_orders_by_status", "orders.gold_product_sales")


def _good_orders(n: int, prefix: str = "o", day: dt.date = D) -> list[dict]:
    out = []
    for i in range(n):
        out.append(
            order_created(f"{prefix}-{i}", ts=f"{day}T{i % 24:02d}:00:00Z", currency=("EUR", "USD")[i % 2])
        )
        if i % 3 == 0:
            out.append(status_change(f"{prefix}-{i}", "paid", f"{day}T{i % 24:02d}:30:00Z"))
    return out


MALFORMED = {
    b"{not json": "not valid JSON",
    b"\xff\xfe\xfd": "undecodable bytes: not valid UTF-8",
    b"[]": "not a JSON object: got array",
    b"": "empty line",
    json.dumps(
        {"eventType": "order.paid", "timestamp": "2026-11-20T10:00:00Z", "data": {}}
    ).encode(): "missing eventId",
    json.dumps({**envelope("order.paid", {}), "eventId": 7}).encode(): "eventId is not a string: got ubigint",
    json.dumps({**envelope("order.paid", {}), "timestamp": "soon"}).encode(): TIMESTAMP_REASON,
    json.dumps({**envelope("order.paid", {}), "data": [1]}).encode(): "data is not an object: got array",
}
CONTRACT_BREAKERS = {
    "negative-total": (order_created("bad-1", total=-5.0), "total_amount: greater_than_or_equal_to(0)"),
    "zero-quantity": (
        order_created("bad-2", items=[{"productId": "SKU-00002", "quantity": 0, "price": 1.0}]),
        "items: item 1 honours order_items",
    ),
    "unknown-type": (envelope("order.teleported", {"orderId": "bad-3", "userId": "u"}), "event_type: isin"),
    "next-day": (
        order_created("bad-4", ts="2026-11-21T01:00:00Z"),
        "event_date: equals its landing day 2026-11-20",
    ),
    "no-currency": (
        envelope(
            "order.created",
            {"orderId": "bad-5", "userId": "u", "items": [], "totalAmount": 1.0},
            metadata={"paymentMethod": "card"},
        ),
        "currency required when event_type in ['order.created']",
    ),
}


def test_every_line_lands_in_bronze_quarantine_or_rejected_and_gold_is_published(home, instance) -> None:
    good = _good_orders(150)
    breakers = {name: event for name, (event, _) in CONTRACT_BREAKERS.items()}
    lines = [*good, good[0], *MALFORMED, *breakers.values()]  # good[0] again: a redelivery
    write_landing(home, D, "part-1.jsonl", lines)
    result = run_orders(instance, D)
    assert result.success

    quarantine = read_table("orders.bronze_quarantine").collect()
    assert rows("orders.bronze_events") + quarantine.height == len(lines)
    by_line = dict(quarantine.select("line_number", "reason").iter_rows())
    first_bad = len(good) + 2
    assert by_line == {first_bad + i: reason for i, reason in enumerate(MALFORMED.values())}
    assert set(quarantine["raw"].to_list()) == set(MALFORMED)
    assert check(result, "orders/bronze/events", "line_accounting").passed

    rejected = read_table("orders.silver_rejected").collect()
    reasons = dict(rejected.select("event_id", "reason").iter_rows())
    assert "raw" not in rejected.columns  # Silver copies no raw line: it points at its Bronze line
    bronze_line = ["landing_date", "source_file", "line_number"]
    raws = dict(
        rejected.join(read_table("orders.bronze_events").collect(), on=bronze_line)
        .select("event_id", "raw")
        .iter_rows()
    )
    for name, (event, reason) in CONTRACT_BREAKERS.items():
        assert reason in reasons[event["eventId"]], name
        assert raws[event["eventId"]] == json.dumps(event), name  # the line as it landed
    events = read_table("orders.silver_order_events").collect()
    assert events.height == len(good) and events["event_id"].n_unique() == len(good)
    assert not set(reasons) & set(events["event_id"])
    contract = check(result, "orders/silver/order_events", "contract")
    assert contract.passed and contract.metadata["failing_rows"].value == len(CONTRACT_BREAKERS)
    assert contract.metadata["duplicates_removed"].value == 1

    orders = read_table("orders.silver_orders").collect()
    assert orders.height == 150 and orders["order_id"].n_unique() == 150
    assert orders.filter(pl.col("status") == "paid").height == 50
    revenue = read_table("orders.gold_daily_revenue").collect()
    assert revenue["orders"].sum() == 150 and set(revenue["currency"]) == {"EUR", "USD"}
    assert all(rows(t) > 0 for t in GOLD)
    assert {"orders/gold/daily_revenue", "orders/gold/product_sales"} <= materialized(result)


def _content(identifier: str) -> dict:
    """Per partition: the row count and the sorted keys, so a lost-and-duplicated row shows."""
    frame = read_table(identifier).collect()
    column = next(
        c
        for c in ("event_id", "order_id", "line_number", "product_id", "user_token", "currency")
        if c in frame.columns
    )
    day = next(c for c in ("landing_date", "event_date", "order_date") if c in frame.columns)
    return {d: sorted(map(str, g[column].to_list())) for (d,), g in frame.group_by(day)}


def test_rerunning_a_partition_changes_no_row(home, instance) -> None:
    good = _good_orders(40)
    write_landing(home, D, "part-1.jsonl", [*good, b"garbage", good[0]])  # good[0] redelivered
    assert run_orders(instance, D).success
    catalog = load_catalog()
    tables = [f"orders.{name}" for _, name in catalog.list_tables("orders")]
    before = {t: _content(t) for t in tables}
    snapshots = {t: catalog.load_table(t).metadata.current_snapshot_id for t in tables}
    assert run_orders(instance, D).success
    assert {t: _content(t) for t in tables} == before
    rewritten = [t for t in tables if before[t]]  # an empty partition has nothing to replace
    assert len(rewritten) >= 8
    assert all(catalog.load_table(t).metadata.current_snapshot_id != snapshots[t] for t in rewritten)


def test_a_range_run_rejects_an_event_outside_its_own_landing_day(home, instance) -> None:
    stray = order_created("stray", ts="2026-11-21T01:00:00Z")  # in dt=2026-11-20, stamped the 21st
    write_landing(home, D, "part-1.jsonl", [*_good_orders(30), stray])
    write_landing(
        home,
        D + dt.timedelta(days=1),
        "part-1.jsonl",
        _good_orders(30, prefix="n", day=D + dt.timedelta(days=1)),
    )
    from domains.orders.definitions import defs

    result = defs.resolve_job_def("orders_daily").execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": str(D),
            "dagster/asset_partition_range_end": str(D + dt.timedelta(days=1)),
        },
        raise_on_error=False,
    )
    assert result.success
    rejected = read_table("orders.silver_rejected").collect()
    assert rejected["event_id"].to_list() == [stray["eventId"]]
    assert "event_date: equals its landing day 2026-11-20" in rejected["reason"][0]
    assert stray["eventId"] not in read_table("orders.silver_order_events").collect()["event_id"].to_list()


def test_a_day_without_files_materializes_empty_and_clears_what_was_there(home, instance) -> None:
    path = write_landing(home, D, "part-1.jsonl", _good_orders(5))
    assert run_orders(instance, D).success and rows("orders.bronze_events") > 0
    path.unlink()
    result = run_orders(instance, D)
    assert result.success
    assert (
        rows("orders.bronze_events") == rows("orders.bronze_quarantine") == rows("orders.silver_orders") == 0
    )
    assert check(result, "orders/bronze/events", "line_accounting").metadata["lines_read"].value == 0


def test_a_broken_contract_publishes_nothing_downstream_and_keeps_the_last_good_partition(
    home, instance
) -> None:
    good = _good_orders(20)
    write_landing(home, D, "part-1.jsonl", good)
    assert run_orders(instance, D).success
    guarded = ("orders.silver_order_events", "orders.silver_order_items", "orders.silver_orders", *GOLD)
    published = {t: (_content(t), load_catalog().load_table(t).metadata.current_snapshot_id) for t in guarded}

    write_landing(home, D, "part-2.jsonl", [order_created(f"neg-{i}", total=-1.0) for i in range(10)])
    result = run_orders(instance, D)
    assert not result.success
    contract = check(result, "orders/silver/order_events", "contract")
    assert not contract.passed
    assert (
        contract.metadata["failing_rows"].value == 10
        and contract.metadata["rows_checked"].value == len(good) + 10
    )
    assert "total_amount" in contract.metadata["failure_sample"].value
    assert materialized(result) == {
        "orders/bronze/events",
        "orders/bronze/quarantine",
        "orders/silver/rejected",
    }
    assert {
        t: (_content(t), load_catalog().load_table(t).metadata.current_snapshot_id) for t in guarded
    } == published
    assert rows("orders.silver_rejected") == 10
