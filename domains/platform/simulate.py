"""Simulated operations events: services' health checks and partners' webhook deliveries.

Half of a day's events are ``system.health.check`` from five services (mostly healthy,
some degraded or unhealthy, with slower responses and errors), half are
``integration.webhook.received`` from four sources, signed with the source's secret; one
delivery in fifty carries a signature that does not verify.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from domains.platform.webhooks import WEBHOOK_SOURCES, sign
from platform_resources.ingest.envelope import envelope_json
from platform_resources.simulate.landing_faults import FaultRates, land_days, uuid4s

DOMAIN = "platform"
SERVICES = ("order-service", "payment-service", "user-service", "inventory-service", "api-gateway")
STATUSES = ("healthy", "degraded", "unhealthy")
STATUS_P = (0.95, 0.04, 0.01)
WEBHOOK_TYPES = ("created", "updated", "deleted")
P_TAMPERED = 0.02
DAY_US = 86_400_000_000


def _envelope_columns(rng: np.random.Generator, day: dt.date, n: int, event_type: str) -> dict:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return {
        "event_id": uuid4s(rng, n),
        "event_type": [event_type] * n,
        "event_ts": start + pl.Series(np.sort(rng.random(n)) * DAY_US).cast(pl.Duration("us")),
        "correlation_id": uuid4s(rng, n),
        "user_id": pl.Series([None] * n, dtype=pl.String),
        "session_id": pl.Series([None] * n, dtype=pl.String),
        "region": ["eu-west-1"] * n,
    }


def health_checks(rng: np.random.Generator, day: dt.date, n: int) -> pl.DataFrame:
    status = rng.choice(len(STATUSES), size=n, p=STATUS_P)
    return pl.DataFrame(
        {
            **_envelope_columns(rng, day, n, "system.health.check"),
            "event_source": "health-monitor",
            "service": np.array(SERVICES)[rng.integers(len(SERVICES), size=n)],
            "status": np.array(STATUSES)[status],
            "response_time": np.round(rng.gamma(2.0, 20.0, size=n) * (1 + 4 * status), 1),
            "error_count": rng.poisson(0.1 + 3 * status),
            "instance": [f"i-{i:04x}" for i in rng.integers(1 << 16, size=n)],
        }
    ).select(
        "event_ts",
        line=envelope_json(
            pl.struct(
                pl.col("service").alias("serviceName"),
                "status",
                pl.col("response_time").alias("responseTime"),
                pl.col("error_count").alias("errorCount"),
            ),
            pl.struct(
                pl.col("instance").alias("instanceId"),
                "region",
                pl.lit("eu-west-1a").alias("availabilityZone"),
            ),
        ),
    )


def webhooks(rng: np.random.Generator, day: dt.date, n: int) -> pl.DataFrame:
    source = np.array(WEBHOOK_SOURCES)[rng.integers(len(WEBHOOK_SOURCES), size=n)]
    frame = pl.DataFrame(
        {
            **_envelope_columns(rng, day, n, "integration.webhook.received"),
            "event_source": "webhook-gateway",
            "webhook_id": uuid4s(rng, n),
            "source": source,
            "object_id": [f"obj_{i:08d}" for i in rng.integers(10**8, size=n)],
            "kind": np.array(WEBHOOK_TYPES)[rng.integers(len(WEBHOOK_TYPES), size=n)],
            "amount": rng.integers(100, 100_000, size=n),
            "processing_time": np.round(rng.gamma(2.0, 5.0, size=n), 1),
            "tampered": rng.random(n) < P_TAMPERED,
        }
    )
    inner = pl.struct(pl.col("object_id").alias("id"), pl.col("kind").alias("type"), "amount")
    frame = frame.with_columns(inner_json=inner.struct.json_encode())
    signatures = [
        sign(s, body + ("x" if tampered else ""))
        for s, body, tampered in frame.select("source", "inner_json", "tampered").iter_rows()
    ]
    return frame.with_columns(signature=pl.Series(signatures, dtype=pl.String)).select(
        "event_ts",
        line=envelope_json(
            pl.struct(pl.col("webhook_id").alias("webhookId"), "source", inner.alias("payload")),
            pl.struct(
                pl.struct(
                    pl.lit("application/json").alias("content-type"),
                    (pl.col("source") + "-webhooks/1.0").alias("user-agent"),
                ).alias("headers"),
                "signature",
                pl.col("processing_time").alias("processingTime"),
            ),
        ),
    )


def simulate(days: list[dt.date], events_per_day: int, seed: int, rates: FaultRates) -> dict[str, int]:
    rng = np.random.default_rng(seed + 4)
    half = max(1, events_per_day // 2)
    days_lines = (
        (day, pl.concat([health_checks(rng, day, half), webhooks(rng, day, half)]).sort("event_ts"))
        for day in days
    )
    return land_days(DOMAIN, days_lines, rates=rates, rng=rng)
