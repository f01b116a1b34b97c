"""The orders service's events: each simulated order's lifecycle as seed-002 envelopes.

An order is created, then (with the probabilities below) paid, shipped, delivered and
refunded, or cancelled. Events are generated one creation day at a time (bounded
memory) and each lands in the folder of the day it happened; events after the last
simulated day have not happened yet and are not written.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from platform_resources.envelope import envelope_json
from platform_resources.simulation import FaultRates, uuid4s, write_landing

DOMAIN = "orders"
PRODUCTS = 500
USERS = 20_000
CURRENCIES = ("USD", "EUR", "GBP")
REGIONS = ("us-east-1", "eu-west-1", "eu-west-2")  # one per currency
PAYMENT_METHODS = ("card", "paypal", "bank_transfer", "apple_pay")
CITIES = ("Springfield", "Lyon", "Leeds", "Porto", "Austin", "Gdansk")
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")
# P(next step | previous step), and the delay of each step in hours (uniform range)
P_CANCEL_UNPAID, P_SHIP, P_DELIVER, P_REFUND = 0.08, 0.98, 0.97, 0.04
DELAYS_H = {
    "paid": (0.02, 0.5),
    "cancelled": (0.1, 6),
    "shipped": (4, 48),
    "delivered": (24, 96),
    "refunded": (24, 240),
}
EVENTS_PER_ORDER = (
    1 + P_CANCEL_UNPAID + (1 - P_CANCEL_UNPAID) * (1 + P_SHIP * (1 + P_DELIVER * (1 + P_REFUND)))
)


def _orders(rng: np.random.Generator, day: dt.date, n: int) -> pl.DataFrame:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    user = rng.integers(USERS, size=n)
    currency_idx = user % len(CURRENCIES)
    n_items = rng.integers(1, 5, size=n)
    total_items = int(n_items.sum())
    product = rng.integers(PRODUCTS, size=total_items)
    price = np.round(2 + (product * 7919 % 1000) / 10, 2)  # a stable list price per product
    quantity = rng.integers(1, 6, size=total_items)
    order_of_item = np.repeat(np.arange(n), n_items)
    items = pl.DataFrame(
        {
            "o": order_of_item,
            "productId": pl.Series([f"SKU-{p:05d}" for p in product]),
            "quantity": quantity,
            "price": price,
        }
    )
    totals = (
        items.group_by("o")
        .agg((pl.col("quantity") * pl.col("price")).sum().round(2).alias("total"))
        .sort("o")
    )
    nested = (
        items.group_by("o", maintain_order=True)
        .agg(pl.struct("productId", "quantity", "price").alias("items"))
        .sort("o")
    )
    return pl.DataFrame(
        {
            "order_id": uuid4s(rng, n),
            "correlation_id": uuid4s(rng, n),
            "session_id": uuid4s(rng, n),
            "user_id": pl.Series([f"user-{u:06d}" for u in user]),
            "currency": np.array(CURRENCIES)[currency_idx],
            "region": np.array(REGIONS)[currency_idx],
            "payment_method": np.array(PAYMENT_METHODS)[rng.integers(len(PAYMENT_METHODS), size=n)],
            "recipient": [f"{FIRST[a]} {LAST[b]}" for a, b in rng.integers(len(FIRST), size=(n, 2))],
            "street": [f"{s} Market Street" for s in rng.integers(1, 999, size=n)],
            "city": np.array(CITIES)[rng.integers(len(CITIES), size=n)],
            "postal_code": [f"{p:05d}" for p in rng.integers(10000, 99999, size=n)],
            "created_ts": start + pl.Series(rng.random(n) * 86_400_000_000).cast(pl.Duration("us")),
        }
    ).with_columns(total=totals["total"], items=nested["items"])


def _lifecycle(rng: np.random.Generator, orders: pl.DataFrame) -> pl.DataFrame:
    """One row per status event after creation, with its timestamp."""
    n = orders.height

    def delay(step: str) -> np.ndarray:
        lo, hi = DELAYS_H[step]
        return ((lo + rng.random(n) * (hi - lo)) * 3_600_000_000).astype(np.int64)

    cancelled = rng.random(n) < P_CANCEL_UNPAID
    shipped = ~cancelled & (rng.random(n) < P_SHIP)
    delivered = shipped & (rng.random(n) < P_DELIVER)
    refunded = delivered & (rng.random(n) < P_REFUND)
    t_paid = delay("paid")
    t_ship = t_paid + delay("shipped")
    t_deliver = t_ship + delay("delivered")
    steps = [
        ("cancelled", cancelled, delay("cancelled"), "created"),
        ("paid", ~cancelled, t_paid, "created"),
        ("shipped", shipped, t_ship, "paid"),
        ("delivered", delivered, t_deliver, "shipped"),
        ("refunded", refunded, t_deliver + delay("refunded"), "delivered"),
    ]
    frames = [
        orders.filter(pl.Series(mask)).with_columns(
            status=pl.lit(status),
            previous_status=pl.lit(previous),
            event_ts=pl.col("created_ts") + pl.Series(offset[mask]).cast(pl.Duration("us")),
        )
        for status, mask, offset, previous in steps
    ]
    return pl.concat(frames)


def simulate_day(
    rng: np.random.Generator, day: dt.date, events_per_day: int, last_day: dt.date
) -> pl.DataFrame:
    """Envelope lines (``event_ts``, ``line``) of the orders created on ``day``."""
    orders = _orders(rng, day, max(1, round(events_per_day / EVENTS_PER_ORDER)))
    address = pl.struct(
        pl.col("recipient").alias("recipientName"),
        pl.col("street"),
        pl.col("city"),
        pl.col("postal_code").alias("postalCode"),
        pl.col("currency").replace({"USD": "US", "EUR": "FR", "GBP": "GB"}).alias("country"),
    )
    created = orders.with_columns(
        event_type=pl.lit("order.created"), event_ts=pl.col("created_ts")
    ).with_columns(
        payload=pl.struct(
            pl.col("order_id").alias("orderId"),
            pl.col("user_id").alias("userId"),
            pl.col("items"),
            pl.col("total").alias("totalAmount"),
            pl.col("currency"),
        ),
        metadata=pl.struct(pl.col("payment_method").alias("paymentMethod"), address.alias("shippingAddress")),
    )
    changes = (
        _lifecycle(rng, orders)
        .with_columns(event_type=pl.lit("order.") + pl.col("status"))
        .with_columns(
            payload=pl.struct(
                pl.col("order_id").alias("orderId"),
                pl.col("user_id").alias("userId"),
                pl.col("status"),
                pl.col("previous_status").alias("previousStatus"),
                pl.when(pl.col("status") == "refunded").then(pl.col("total")).alias("refundAmount"),
                pl.col("currency"),
            ),
            metadata=pl.struct(pl.lit("order-service").alias("actor")),
        )
    )
    columns = ["event_ts", "event_type", "order_id", "correlation_id", "session_id", "user_id", "region"]
    frames = []
    for frame in (created, changes):
        frames.append(
            frame.with_columns(event_id=uuid4s(rng, frame.height), event_source=pl.lit("order-service"))
            .filter(pl.col("event_ts").dt.date() <= last_day)
            .select(
                *columns,
                line=envelope_json(pl.col("payload"), pl.col("metadata")),
            )
        )
    return pl.concat([f.select("event_ts", "line") for f in frames])


def simulate(days: list[dt.date], events_per_day: int, seed: int, rates: FaultRates) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    totals: dict[str, int] = {}
    for day in days:
        counts = write_landing(
            DOMAIN,
            simulate_day(rng, day, events_per_day, days[-1]),
            tag=f"orders-{day}",
            rates=rates,
            rng=rng,
        )
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    return totals
