"""The simulated world's orders, shared by the simulators of the services that see them.

The orders service emits each order's lifecycle (``domains/orders/simulate.py``); the
payment service takes the payment of every order that gets paid
(``domains/payments/simulate.py``). Both draw the day's orders from here, from a
generator seeded by (seed, day), so they see the same orders: the same ids, customers,
totals, payment methods and the times orders are paid, cancelled and refunded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from platform_resources.simulate.landing_faults import uuid4s

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
    """The orders created on ``day``: customer, items, total, currency, payment method, address."""
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


@dataclass(frozen=True)
class OrdersOfDay:
    orders: pl.DataFrame  # one row per order created that day
    changes: pl.DataFrame  # one row per later status event: status, previous_status, event_ts


def orders_per_day(events_per_day: int) -> int:
    """Orders created a day for about ``events_per_day`` order events."""
    return max(1, round(events_per_day / EVENTS_PER_ORDER))


def orders_of_day(seed: int, day: dt.date, events_per_day: int) -> OrdersOfDay:
    """The orders created on ``day`` and their lifecycles: the same for every simulator."""
    rng = np.random.default_rng([seed, day.toordinal()])
    orders = _orders(rng, day, orders_per_day(events_per_day))
    return OrdersOfDay(orders, _lifecycle(rng, orders))
