"""The inventory service's events: stock movements per product and warehouse, with the balance after.

Each movement (received, shipped, returned, adjusted) carries its quantity and the
warehouse's on-hand balance for the product after it, as the inventory service reports
it; balances carry over from one simulated day to the next. Shipments outnumber
receipts, so stock runs low until a delivery arrives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import polars as pl

from platform_resources.ingest.envelope import envelope_json
from platform_resources.simulate.landing_faults import FaultRates, land_days, uuid4s

DOMAIN = "inventory"
PRODUCTS = 500
WAREHOUSES = ("WH-LEEDS", "WH-LYON", "WH-AUSTIN")
REGIONS = ("eu-west-2", "eu-west-1", "us-east-1")  # one per warehouse
KINDS = ("received", "shipped", "returned", "adjusted")
KIND_WEIGHTS = (0.12, 0.8, 0.05, 0.03)
OPENING_STOCK = 120
REORDER_POINT = 25


def _movements(rng: np.random.Generator, day: dt.date, n: int) -> pl.DataFrame:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    kind = rng.choice(len(KINDS), size=n, p=KIND_WEIGHTS)
    size = np.where(kind == 0, rng.integers(40, 200, size=n), rng.integers(1, 6, size=n))
    sign = np.where(kind == 1, -1, np.where(kind == 3, rng.choice([-1, 1], size=n), 1))
    warehouse = rng.integers(len(WAREHOUSES), size=n)
    return pl.DataFrame(
        {
            "event_ts": start + pl.Series(rng.random(n) * 86_400_000_000).cast(pl.Duration("us")),
            "kind": np.array(KINDS)[kind],
            "product_id": [f"SKU-{p:05d}" for p in rng.integers(PRODUCTS, size=n)],
            "warehouse_id": np.array(WAREHOUSES)[warehouse],
            "region": np.array(REGIONS)[warehouse],
            "quantity": size * sign,
        }
    ).sort("event_ts")


def lines_by_day(
    rng: np.random.Generator, days: list[dt.date], events_per_day: int, seed: int
) -> Iterator[tuple[dt.date, pl.DataFrame]]:
    """Each day's envelope lines (``event_ts``, ``line``): what the service emits that day."""
    balances = pl.DataFrame(schema={"product_id": pl.String, "warehouse_id": pl.String, "balance": pl.Int64})
    for day in days:
        moves = _movements(rng, day, events_per_day)
        moves = moves.join(balances, on=["product_id", "warehouse_id"], how="left").with_columns(
            on_hand=pl.col("balance").fill_null(OPENING_STOCK)
            + pl.col("quantity").cum_sum().over(["product_id", "warehouse_id"])
        )
        balances = moves.group_by("product_id", "warehouse_id").agg(pl.col("on_hand").last().alias("balance"))
        n = moves.height
        moves = moves.with_columns(
            event_id=uuid4s(rng, n),
            movement_id=uuid4s(rng, n),
            correlation_id=uuid4s(rng, n),
            session_id=pl.lit(None, pl.String),
            user_id=pl.lit(None, pl.String),
            event_type=pl.lit("inventory.") + pl.col("kind"),
            event_source=pl.lit("inventory-service"),
        )
        lines = moves.select(
            "event_ts",
            line=envelope_json(
                pl.struct(
                    pl.col("movement_id").alias("movementId"),
                    pl.col("product_id").alias("productId"),
                    pl.col("warehouse_id").alias("warehouseId"),
                    pl.col("quantity"),
                    pl.col("on_hand").alias("onHand"),
                    pl.lit(REORDER_POINT).alias("reorderPoint"),
                ),
                pl.struct(pl.lit("wms").alias("system")),
            ),
        )
        yield day, lines


def simulate(days: list[dt.date], events_per_day: int, seed: int, rates: FaultRates) -> dict[str, int]:
    rng = np.random.default_rng(seed + 3)
    return land_days(DOMAIN, lines_by_day(rng, days, events_per_day, seed), rates=rates, rng=rng)
