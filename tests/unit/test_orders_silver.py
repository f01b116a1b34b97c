"""orders' Silver logic: typing, dedupe, tokenization and the current status of each order."""

import datetime as dt
import json

import polars as pl

from domains.orders.silver import current_orders, type_events
from platform_resources.ingest.envelope import classify_lines
from tests.conftest import order_created, status_change

D = dt.date(2026, 11, 20)
WINDOW = (D, D + dt.timedelta(days=1))


def _bronze(events: list[dict]) -> pl.DataFrame:
    valid, bad = classify_lines(1, [json.dumps(e).encode() for e in events], "f", D, dt.datetime.now(dt.UTC))
    assert bad.height == 0
    return valid


def test_typing_dedupes_on_event_id_and_tokenizes_pii(home) -> None:
    created = order_created(
        "o-1", total=30.0, items=[{"productId": "SKU-00001", "quantity": 2, "price": 15.0}]
    )
    events, items, duplicates = type_events(
        _bronze([created, created, status_change("o-1", "paid", "2026-11-20T11:00:00Z")])
    )
    assert duplicates == 1 and events.height == 2
    row = events.filter(pl.col("event_type") == "order.created").to_dicts()[0]
    assert row["order_id"] == "o-1" and str(row["total_amount"]) == "30.00" and row["item_count"] == 1
    assert row["user_token"].startswith("tok_") and row["shipping_address_token"].startswith("tok_")
    assert "user_id" not in events.columns and "shipping_address" not in events.columns
    assert items.select("order_id", "item_index", "product_id", "quantity").to_dicts() == [
        {"order_id": "o-1", "item_index": 1, "product_id": "SKU-00001", "quantity": 2}
    ]
    assert str(items["line_amount"][0]) == "30.00"


def test_current_status_is_the_latest_event_within_the_horizon(home) -> None:
    bronze = _bronze(
        [
            order_created("o-1", ts="2026-11-20T08:00:00Z"),
            order_created("o-2", ts="2026-11-20T09:00:00Z"),
            order_created("o-3", ts="2026-11-20T10:00:00Z"),
            order_created("o-old", ts="2026-11-19T10:00:00Z"),
            status_change("o-1", "paid", "2026-11-20T08:05:00Z"),
            status_change("o-1", "shipped", "2026-11-21T08:00:00Z"),
            status_change("o-1", "delivered", "2026-11-23T08:00:00Z"),
            status_change("o-1", "refunded", "2026-11-25T08:00:00Z", refund=30.0),
            status_change("o-2", "cancelled", "2026-11-20T09:30:00Z"),
            status_change("o-old", "paid", "2026-11-20T09:30:00Z"),
        ]
    )
    events, _, _ = type_events(bronze)
    orders = current_orders(events, WINDOW)
    got = {
        r["order_id"]: (r["status"], r["status_updated_at"], r["refunded_amount"]) for r in orders.to_dicts()
    }
    assert set(got) == {"o-1", "o-2", "o-3"}
    assert got["o-1"][0] == "refunded" and str(got["o-1"][2]) == "30.00"
    assert got["o-1"][1] == dt.datetime(2026, 11, 25, 8, tzinfo=dt.UTC)
    assert got["o-2"][:1] == ("cancelled",) and got["o-2"][2] is None
    assert got["o-3"][0] == "created"


def test_an_orders_partition_reads_the_status_events_of_its_day_and_the_30_after() -> None:
    from domains.orders.silver import EVENTS, STATUS_HORIZON, orders_silver_orders
    from platform_resources.core.partitions import DAILY

    assert orders_silver_orders.get_partition_mapping(EVENTS.asset_key) == STATUS_HORIZON
    subset = DAILY.empty_subset().with_partition_keys(["2025-11-01"])
    upstream = STATUS_HORIZON.get_upstream_mapped_partitions_result_for_partitions(
        subset, DAILY, DAILY, current_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ).partitions_subset.get_partition_keys()
    assert upstream[0] == "2025-11-01" and upstream[-1] == "2025-12-01" and len(upstream) == 31
