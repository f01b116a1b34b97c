"""The payment service's events: each payment authorized, then captured or failed, maybe refunded.

Payments are generated one day at a time; a capture or failure follows its authorization
within hours, a refund follows its capture within days. Events after the last simulated
day have not happened yet and are not written.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from platform_resources.envelope import envelope_json
from platform_resources.simulation import FaultRates, uuid4s, write_landing

DOMAIN = "payments"
METHODS = ("card", "paypal", "bank_transfer", "apple_pay")
CURRENCIES = ("USD", "EUR", "GBP")
REGIONS = ("us-east-1", "eu-west-1", "eu-west-2")  # one per currency
FAILURE_REASONS = ("insufficient_funds", "card_declined", "fraud_suspected", "timeout")
P_FAIL, P_REFUND = 0.08, 0.04
EVENTS_PER_PAYMENT = 2 + (1 - P_FAIL) * P_REFUND
HOUR_US, DAY_US = 3_600_000_000, 86_400_000_000


def _payments(rng: np.random.Generator, day: dt.date, n: int) -> pl.DataFrame:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    currency = rng.integers(len(CURRENCIES), size=n)
    return pl.DataFrame(
        {
            "payment_id": uuid4s(rng, n),
            "order_id": uuid4s(rng, n),
            "user_id": [f"user-{u:06d}" for u in rng.integers(20_000, size=n)],
            "amount": np.round(rng.gamma(2.0, 40.0, size=n) + 1, 2),
            "currency": np.array(CURRENCIES)[currency],
            "region": np.array(REGIONS)[currency],
            "method": np.array(METHODS)[rng.integers(len(METHODS), size=n)],
            "correlation_id": uuid4s(rng, n),
            "session_id": uuid4s(rng, n),
            "authorized_ts": start + pl.Series(rng.random(n) * DAY_US).cast(pl.Duration("us")),
        }
    )


def _events(rng: np.random.Generator, payments: pl.DataFrame) -> pl.DataFrame:
    n = payments.height
    failed = rng.random(n) < P_FAIL
    refunded = ~failed & (rng.random(n) < P_REFUND)
    settle = pl.Series(rng.uniform(0.01, 6, size=n) * HOUR_US).cast(pl.Duration("us"))
    refund = pl.Series(rng.uniform(1, 10, size=n) * DAY_US).cast(pl.Duration("us"))
    reason = np.array(FAILURE_REASONS)[rng.integers(len(FAILURE_REASONS), size=n)]
    authorized = payments.with_columns(status=pl.lit("authorized"), event_ts=pl.col("authorized_ts"))
    settled = payments.with_columns(
        status=pl.when(pl.Series(failed)).then(pl.lit("failed")).otherwise(pl.lit("captured")),
        event_ts=pl.col("authorized_ts") + settle,
        failure_reason=pl.when(pl.Series(failed)).then(pl.Series(reason)),
    )
    refunds = payments.with_columns(
        status=pl.lit("refunded"), event_ts=pl.col("authorized_ts") + settle + refund
    ).filter(pl.Series(refunded))
    return pl.concat([authorized, settled, refunds], how="diagonal")


def simulate(days: list[dt.date], events_per_day: int, seed: int, rates: FaultRates) -> dict[str, int]:
    rng = np.random.default_rng(seed + 2)
    totals: dict[str, int] = {}
    for day in days:
        events = _events(rng, _payments(rng, day, max(1, round(events_per_day / EVENTS_PER_PAYMENT))))
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
        for k, v in write_landing(DOMAIN, lines, tag=f"payments-{day}", rates=rates, rng=rng).items():
            totals[k] = totals.get(k, 0) + v
    return totals
