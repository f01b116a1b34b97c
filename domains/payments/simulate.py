"""The payment service's events: the payment of every order the orders service sees paid.

The orders come from the simulated world the orders service draws from too
(``platform_resources/simulate/order_world.py``): each paid order's payment is authorized just
before its ``order.paid`` event and captured at it, for the order's total, currency,
customer and payment method, under the order's correlation id. A share ``P_DECLINED``
of them was declined first (a failed payment of its own, then the customer's retry); a
refunded order's payment is refunded just after the order's refund. So the volume
follows the orders: about 0.45 payment events per order event. Events after the last
simulated day have not happened yet and are not written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import polars as pl

from platform_resources.ingest.envelope import envelope_json
from platform_resources.simulate.landing_faults import FaultRates, land_days, uuid4s
from platform_resources.simulate.order_world import OrdersOfDay, orders_of_day

DOMAIN = "payments"
FAILURE_REASONS = ("insufficient_funds", "card_declined", "fraud_suspected", "timeout")
P_DECLINED = 0.08
SECOND_US = 1_000_000


def _seconds(rng: np.random.Generator, n: int, low: float, high: float) -> pl.Series:
    return pl.Series(rng.uniform(low, high, size=n) * SECOND_US).cast(pl.Duration("us"))


def _payments(rng: np.random.Generator, world: OrdersOfDay) -> pl.DataFrame:
    """One payment per paid order (captured), plus the declined first attempts."""
    paid = world.changes.filter(pl.col("status") == "paid")
    n = paid.height
    payments = paid.select(
        "order_id",
        "user_id",
        "currency",
        "region",
        "correlation_id",
        "session_id",
        pl.col("total").alias("amount"),
        pl.col("payment_method").alias("method"),
        pl.col("event_ts").alias("settled_ts"),
    ).with_columns(
        payment_id=uuid4s(rng, n),
        status=pl.lit("captured"),
        authorized_ts=pl.col("settled_ts") - _seconds(rng, n, 1, 120),
    )
    declined = payments.filter(pl.Series(rng.random(n) < P_DECLINED))
    declined = declined.with_columns(
        payment_id=uuid4s(rng, declined.height),
        status=pl.lit("failed"),
        settled_ts=pl.col("authorized_ts") - _seconds(rng, declined.height, 30, 600),
        failure_reason=pl.Series(
            np.array(FAILURE_REASONS)[rng.integers(len(FAILURE_REASONS), size=declined.height)]
        ),
    ).with_columns(authorized_ts=pl.col("settled_ts") - _seconds(rng, declined.height, 1, 120))
    return pl.concat([payments, declined], how="diagonal")


def _events(rng: np.random.Generator, world: OrdersOfDay) -> pl.DataFrame:
    payments = _payments(rng, world)
    refunds = world.changes.filter(pl.col("status") == "refunded").select(
        "order_id", refund_ts=pl.col("event_ts")
    )
    authorized = payments.with_columns(status=pl.lit("authorized"), event_ts=pl.col("authorized_ts"))
    settled = payments.with_columns(event_ts=pl.col("settled_ts"))
    refunded = (
        payments.filter(pl.col("status") == "captured")
        .join(refunds, on="order_id")
        .with_columns(status=pl.lit("refunded"))
    )
    refunded = refunded.with_columns(event_ts=pl.col("refund_ts") + _seconds(rng, refunded.height, 1, 60))
    return pl.concat([authorized, settled, refunded.drop("refund_ts")], how="diagonal")


def lines_by_day(
    rng: np.random.Generator, days: list[dt.date], events_per_day: int, seed: int
) -> Iterator[tuple[dt.date, pl.DataFrame]]:
    """Each day's envelope lines (``event_ts``, ``line``): what the service emits that day.
    ``events_per_day`` sizes the world's orders (as for the orders service), not the payments."""
    for day in days:
        events = _events(rng, orders_of_day(seed, day, events_per_day))
        events = events.filter(pl.col("event_ts").dt.date() <= days[-1])
        events = events.with_columns(
            event_id=uuid4s(rng, events.height),
            event_type=pl.lit("payment.") + pl.col("status"),
            event_source=pl.lit("payment-service"),
        )
        lines = events.select(
            "event_ts",
            line=envelope_json(
                pl.struct(
                    pl.col("payment_id").alias("paymentId"),
                    pl.col("order_id").alias("orderId"),
                    pl.col("user_id").alias("userId"),
                    pl.col("amount"),
                    pl.col("currency"),
                    pl.when(pl.col("status") == "refunded").then(pl.col("amount")).alias("refundAmount"),
                    pl.col("failure_reason").alias("failureReason"),
                ),
                pl.struct(pl.col("method").alias("paymentMethod"), pl.lit("psp-1").alias("processor")),
            ),
        )
        yield day, lines


def simulate(days: list[dt.date], events_per_day: int, seed: int, rates: FaultRates) -> dict[str, int]:
    rng = np.random.default_rng(seed + 2)
    return land_days(DOMAIN, lines_by_day(rng, days, events_per_day, seed), rates=rates, rng=rng)
