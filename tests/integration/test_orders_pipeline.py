"""orders end to end on a real Dagster instance: where every line goes, reruns, and blocking contracts."""

import datetime as dt
import json

import polars as pl
import pytest

from platform_resources.catalog import load_catalog
from platform_resources.iceberg_io import read_table
from tests.conftest import envelope, order_created, status_change, write_landing
from tests.integration.conftest import check, materialized, rows, run_orders

pytestmark = pytest.mark.integration
D = dt.date(2026, 11, 20)
GOLD = ("orders.gold_daily_revenue", "orders.gold_orders_by_status", "orders.gold_product_sales")


def _good_orders(n: int, prefix: str = "o") -> list[dict]:
    out = []
    for i in range(n):
        out.append(
            order_created(
                f"{prefix}-{i}", ts=f"2026-11-20T{i % 24:02d}:00:00Z", currency=("EUR", "USD")[i % 2]
            )
        )
        if i % 3 == 0:
            out.append(status_change(f"{prefix}-{i}", "paid", f"2026-11-20T{i % 24:02d}:30:00Z"))
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
    json.dumps({**envelope("order.paid", {}), "timestamp": "soon"}).encode(): "timestamp is not ISO-8601",
    json.dumps({**envelope("order.paid", {}), "data": [1]}).encode(): "data is not an object: got array",
}
CONTRACT_BREAKERS = {
    "negative-total": (order_created("bad-1", total=-5.0), "total_amount: greater_than_or_equal_to(0)"),
    "zero-quantity": (
        order_created("bad-2", items=[{"productId": "SKU-00002", "quantity": 0, "price": 1.0}]),
        "items: item 1 honours order_items",
    ),
    "unknown-type": (envelope("order.teleported", {"orderId": "bad-3", "userId": "u"}), "event_type: isin"),
    "next-day": (order_created("bad-4", ts="2026-11-21T01:00:00Z"), "event_date: within landing partition"),
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
    for name, (event, reason) in CONTRACT_BREAKERS.items():
        assert reason in reasons[event["eventId"]], name
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


def test_rerunning_a_partition_changes_no_row_count(home, instance) -> None:
    write_landing(home, D, "part-1.jsonl", [*_good_orders(40), b"garbage"])
    assert run_orders(instance, D).success
    catalog = load_catalog()
    tables = [f"orders.{name}" for _, name in catalog.list_tables("orders")]
    before = {t: rows(t) for t in tables}
    snapshots = {t: catalog.load_table(t).metadata.current_snapshot_id for t in tables}
    assert run_orders(instance, D).success
    assert {t: rows(t) for t in tables} == before
    rewritten = [t for t in tables if before[t]]  # an empty partition has nothing to replace
    assert len(rewritten) >= 8
    assert all(catalog.load_table(t).metadata.current_snapshot_id != snapshots[t] for t in rewritten)


def test_a_broken_contract_blocks_silver_orders_and_gold_and_keeps_published_gold(home, instance) -> None:
    good = _good_orders(20)
    write_landing(home, D, "part-1.jsonl", good)
    assert run_orders(instance, D).success
    published = {t: (rows(t), load_catalog().load_table(t).metadata.current_snapshot_id) for t in GOLD}

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
    done = materialized(result)
    assert "orders/silver/order_events" in done
    assert not {"orders/silver/orders", "orders/gold/daily_revenue"} & done
    assert {
        t: (rows(t), load_catalog().load_table(t).metadata.current_snapshot_id) for t in GOLD
    } == published
    assert rows("orders.silver_rejected") == 10
