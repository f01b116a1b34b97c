"""The orders service's events: each simulated order's lifecycle as seed-002 envelopes.

An order is created, then (with the probabilities of ``platform_resources/simulate/order_world.py``,
which the payment service shares) paid, shipped, delivered and refunded, or cancelled.
Events are generated one creation day at a time (bounded
memory) and each lands in the folder of the day it happened; events after the last
simulated day have not happened yet and are not written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import polars as pl

from platform_resources.ingest.envelope import envelope_json
from platform_resources.simulate.landing_faults import FaultRates, land_days, uuid4s
from platform_resources.simulate.order_world import orders_of_day

DOMAIN = "orders"


def simulate_day(
    rng: np.random.Generator, seed: int, day: dt.date, events_per_day: int, last_day: dt.date
) -> pl.DataFrame:
    """Envelope lines (``event_ts``, ``line``) of the orders created on ``day``."""
    world = orders_of_day(seed, day, events_per_day)
    orders = world.orders
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
    changes = world.changes.with_columns(event_type=pl.lit("order.") + pl.col("status")).with_columns(
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


def lines_by_day(
    rng: np.random.Generator, days: list[dt.date], events_per_day: int, seed: int
) -> Iterator[tuple[dt.date, pl.DataFrame]]:
    """Each day's envelope lines (``event_ts``, ``line``): what the service emits that day."""
    for day in days:
        yield day, simulate_day(rng, seed, day, events_per_day, days[-1])


def simulate(days: list[dt.date], events_per_day: int, seed: int, rates: FaultRates) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    return land_days(DOMAIN, lines_by_day(rng, days, events_per_day, seed), rates=rates, rng=rng)
