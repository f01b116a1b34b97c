"""The inventory service's operational store: stock on hand per product and warehouse, and the
movements that changed it."""

from __future__ import annotations

from psycopg import Cursor

TABLES_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.stock (
    product_id text NOT NULL,
    warehouse_id text NOT NULL,
    on_hand integer NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (product_id, warehouse_id)
);
CREATE TABLE IF NOT EXISTS {schema}.movements (
    movement_id text PRIMARY KEY,
    product_id text NOT NULL,
    warehouse_id text NOT NULL,
    kind text NOT NULL,
    quantity integer NOT NULL,
    moved_at timestamptz NOT NULL
);
"""


def aggregate(event: dict) -> tuple[str, str]:
    """A product's movements stay in order (its stock is their running sum)."""
    return "product", event["data"]["payload"]["productId"]


def apply(cur: Cursor, event: dict) -> None:
    move = event["data"]["payload"]
    cur.execute(
        "INSERT INTO inventory.movements VALUES (%s, %s, %s, %s, %s, %s)",
        (
            move["movementId"],
            move["productId"],
            move["warehouseId"],
            event["eventType"].removeprefix("inventory."),
            move["quantity"],
            event["timestamp"],
        ),
    )
    cur.execute(
        "INSERT INTO inventory.stock VALUES (%s, %s, %s, %s) ON CONFLICT (product_id, warehouse_id) "
        "DO UPDATE SET on_hand = excluded.on_hand, updated_at = excluded.updated_at",
        (move["productId"], move["warehouseId"], move["onHand"], event["timestamp"]),
    )
