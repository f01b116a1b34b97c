"""customers' Silver layer: typed, deduplicated, tokenized customer events and the customer dimension.

``customer_events`` holds every registration and profile change once; ``customers`` one
row per customer registered that day, with the latest value of each attribute from the
profile changes of the following ``PROFILE_HORIZON_DAYS`` days.
"""

import datetime as dt

import polars as pl

from domains.customers.contracts import CONTRACTS
from platform_resources.products.horizon import build_horizon_product
from platform_resources.products.silver_events import EventTyping, build_silver_event_assets

PROFILE_HORIZON_DAYS = 30
EVENTS, CUSTOMERS = CONTRACTS["customer_events"], CONTRACTS["customers"]
#: Attributes a profile change may carry; a customer keeps the latest non-null value of each.
ATTRIBUTES = ("email_token", "email_domain", "country", "marketing_opt_in")

CUSTOMER_TYPING = EventTyping(
    contract=EVENTS,
    data={
        "payload": {
            "userId": "VARCHAR",
            "email": "VARCHAR",
            "registrationSource": "VARCHAR",
            "country": "VARCHAR",
            "marketingOptIn": "BOOLEAN",
        },
        "metadata": {"referrer": "VARCHAR"},
    },
    columns_sql="""
        nullif(split_part(lower(j.data.payload.email), '@', 2), '') AS email_domain,
        j.data.payload.registrationSource AS registration_source,
        j.data.metadata.referrer AS referrer,
        upper(j.data.payload.country) AS country,
        j.data.payload.marketingOptIn AS marketing_opt_in""",
    tokens={
        "user_token": "coalesce(j.data.payload.userId, user_id)",
        "email_token": "lower(j.data.payload.email)",
    },
)
customers_silver_events = build_silver_event_assets("customers", CUSTOMER_TYPING)


def current_customers(events: pl.DataFrame, window: tuple[dt.date, dt.date]) -> pl.DataFrame:
    """One row per customer registered in ``window``, with the latest known value of each attribute."""
    registered = (
        events.filter(
            (pl.col("event_type") == "user.registered")
            & pl.col("event_date").is_between(*window, closed="left")
        )
        .sort("event_ts")
        .unique("user_token", keep="first", maintain_order=True)
    )
    mine = events.join(registered.select("user_token"), on="user_token", how="semi").sort("event_ts")
    latest = mine.group_by("user_token").agg(
        *(pl.col(a).drop_nulls().last() for a in ATTRIBUTES),
        (pl.col("event_type") == "user.profile_updated").sum().cast(pl.Int64).alias("profile_updates"),
        pl.col("event_ts")
        .filter(pl.col("event_type") == "user.profile_updated")
        .max()
        .alias("profile_updated_at"),
    )
    return (
        registered.select(
            "user_token",
            pl.col("event_date").alias("registered_date"),
            pl.col("event_ts").alias("registered_at"),
            "registration_source",
            "referrer",
        )
        .join(latest, on="user_token")
        .select(CUSTOMERS.polars_schema().names())
        .sort("registered_at", "user_token")
    )


customers_silver_customers = build_horizon_product(CUSTOMERS, EVENTS, PROFILE_HORIZON_DAYS, current_customers)
