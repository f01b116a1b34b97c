"""The orders service's operational store: orders and their items, as its events change them."""

from __future__ import annotations

from psycopg import Cursor

TABLES_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.orders (
    order_id text PRIMARY KEY,
    user_id text NOT NULL,
    status text NOT NULL,
    total_amount numeric(12, 2) NOT NULL,
    currency text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.order_items (
    order_id text NOT NULL REFERENCES {schema}.orders,
    line integer NOT NULL,
    product_id text NOT NULL,
    quantity integer NOT NULL,
    price numeric(12, 2) NOT NULL,
    PRIMARY KEY (order_id, line)
);
"""


def aggregate(event: dict) -> tuple[str, str]:
    return "order", event["data"]["payload"]["orderId"]


def apply(cur: Cursor, event: dict) -> None:
    """An order is created with its items; a later event moves its status."""
    order = event["data"]["payload"]
    if event["eventType"] == "order.created":
        cur.execute(
            "INSERT INTO orders.orders VALUES (%s, %s, 'created', %s, %s, %s, %s)",
            (
                order["orderId"],
                order["userId"],
                order["totalAmount"],
                order["currency"],
                *[event["timestamp"]] * 2,
            ),
        )
        cur.executemany(
            "INSERT INTO orders.order_items VALUES (%s, %s, %s, %s, %s)",
            [
                (order["orderId"], line, item["productId"], item["quantity"], item["price"])
                for line, item in enumerate(order["items"], start=1)
            ],
        )
    else:
        cur.execute(
            "UPDATE orders.orders SET status = %s, updated_at = %s WHERE order_id = %s",
            (order["status"], event["timestamp"], order["orderId"]),
        )
