"""The payment service's operational store: one row per payment, as its events move it."""

from __future__ import annotations

from psycopg import Cursor

TABLES_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.payments (
    payment_id text PRIMARY KEY,
    order_id text NOT NULL,
    user_id text NOT NULL,
    amount numeric(12, 2) NOT NULL,
    currency text NOT NULL,
    status text NOT NULL,
    refund_amount numeric(12, 2),
    failure_reason text,
    updated_at timestamptz NOT NULL
);
"""


def aggregate(event: dict) -> tuple[str, str]:
    """A payment's events stay in order with its order's (the payment belongs to one order)."""
    return "order", event["data"]["payload"]["orderId"]


def apply(cur: Cursor, event: dict) -> None:
    payment = event["data"]["payload"]
    cur.execute(
        "INSERT INTO payments.payments VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (payment_id) "
        "DO UPDATE SET status = excluded.status, refund_amount = coalesce(excluded.refund_amount, "
        "payments.payments.refund_amount), failure_reason = excluded.failure_reason, "
        "updated_at = excluded.updated_at",
        (
            payment["paymentId"],
            payment["orderId"],
            payment["userId"],
            payment["amount"],
            payment["currency"],
            event["eventType"].removeprefix("payment."),
            payment.get("refundAmount"),
            payment.get("failureReason"),
            event["timestamp"],
        ),
    )
