"""orders' Silver layer: typed, deduplicated, tokenized order events, order items and orders.

``order_events`` and ``order_items`` come from one pass over a Bronze partition; events
that are valid envelopes but break a contract (or whose event time lies outside their
landing day) go, with every reason, to ``orders.silver_rejected``. ``orders`` holds one
row per order created that day with its current status, read from the status events of
the following ``STATUS_HORIZON_DAYS`` days as well.
"""

import datetime as dt

import polars as pl

from domains.orders.contracts import CONTRACTS
from platform_resources.products.horizon import build_horizon_product, horizon_mapping
from platform_resources.products.silver_events import (
    ChildProduct,
    EventTyping,
    build_silver_event_assets,
    event_type_after,
    stage_events,
)
from platform_resources.storage.staging import ROW_INDEX, scratch_duckdb

STATUS_HORIZON_DAYS = 30
STATUS_RANK = {"created": 0, "paid": 1, "shipped": 2, "delivered": 3, "cancelled": 4, "refunded": 5}
EVENTS, ITEMS, ORDERS = CONTRACTS["order_events"], CONTRACTS["order_items"], CONTRACTS["orders"]
#: An order's partition reads the status events of its day and of the horizon after it.
STATUS_HORIZON = horizon_mapping(STATUS_HORIZON_DAYS)

ORDER_TYPING = EventTyping(
    contract=EVENTS,
    data={
        "payload": {
            "orderId": "VARCHAR",
            "userId": "VARCHAR",
            "totalAmount": "DECIMAL(18,2)",
            "refundAmount": "DECIMAL(18,2)",
            "currency": "VARCHAR",
            "items": [{"productId": "VARCHAR", "quantity": "BIGINT", "price": "DECIMAL(18,2)"}],
        },
        "metadata": {"paymentMethod": "VARCHAR", "shippingAddress": "JSON"},
    },
    columns_sql=f"""
        {event_type_after("order.")} AS status,
        j.data.payload.orderId AS order_id,
        j.data.payload.totalAmount AS total_amount,
        j.data.payload.refundAmount AS refund_amount,
        j.data.payload.currency AS currency,
        j.data.metadata.paymentMethod AS payment_method,
        CAST(len(j.data.payload.items) AS BIGINT) AS item_count,
        j.data.metadata.shippingAddress ->> '$.country' AS ship_country,
        j.data.payload.items AS items""",
    tokens={
        "user_token": "coalesce(j.data.payload.userId, user_id)",
        "shipping_address_token": "CAST(j.data.metadata.shippingAddress AS VARCHAR)",
    },
    children=(
        ChildProduct(
            contract=ITEMS,
            select_sql="""
                SELECT e.event_id, e.order_id, CAST(u.idx AS BIGINT) AS item_index,
                    u.item.productId AS product_id, u.item.quantity AS quantity, u.item.price AS unit_price,
                    TRY_CAST(u.item.quantity * u.item.price AS DECIMAL(18,2)) AS line_amount,
                    e.currency, e.event_date AS order_date
                FROM events e, unnest(e.items) WITH ORDINALITY AS u(item, idx)
                WHERE e.event_type = 'order.created'""",
            label_sql="'item ' || CAST(c.item_index AS VARCHAR)",
        ),
    ),
)
orders_silver_events = build_silver_event_assets("orders", ORDER_TYPING)


def type_events(bronze: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(typed events, typed items with event_id, duplicates removed) of a small Bronze frame."""
    with scratch_duckdb("orders-silver") as con:
        duplicates = stage_events(con, ORDER_TYPING, bronze)
        events = con.sql(f"SELECT * EXCLUDE ({ROW_INDEX}, items) FROM events ORDER BY {ROW_INDEX}").pl()
        items = con.sql(f"SELECT * EXCLUDE ({ROW_INDEX}) FROM child_order_items ORDER BY {ROW_INDEX}").pl()
    return events, items, duplicates


def current_orders(events: pl.DataFrame, window: tuple[dt.date, dt.date]) -> pl.DataFrame:
    """One row per order created in ``window``, with the latest status known in ``events``."""
    created = events.filter(
        (pl.col("event_type") == "order.created") & pl.col("event_date").is_between(*window, closed="left")
    )
    mine = events.join(created.select("order_id"), on="order_id", how="semi")
    latest = (
        mine.sort("event_ts", pl.col("status").replace_strict(STATUS_RANK, return_dtype=pl.Int8))
        .group_by("order_id")
        .agg(pl.col("status").last(), pl.col("event_ts").last().alias("status_updated_at"))
    )
    refunds = mine.group_by("order_id").agg(
        pl.col("refund_amount").sum().alias("refunded_amount"),
        pl.col("refund_amount").is_not_null().any().alias("has_refund"),
    )
    return (
        created.drop("status")
        .join(latest, on="order_id")
        .join(refunds, on="order_id")
        .select(
            "order_id",
            "user_token",
            pl.col("event_date").alias("order_date"),
            pl.col("event_ts").alias("created_at"),
            "total_amount",
            "currency",
            "payment_method",
            "item_count",
            "ship_country",
            "shipping_address_token",
            "status",
            "status_updated_at",
            pl.when(pl.col("has_refund"))
            .then(pl.col("refunded_amount"))
            .cast(pl.Decimal(18, 2))
            .alias("refunded_amount"),
        )
        .sort("created_at", "order_id")
    )


orders_silver_orders = build_horizon_product(ORDERS, EVENTS, STATUS_HORIZON_DAYS, current_orders)
