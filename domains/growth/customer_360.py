"""Customer 360 and daily active users, from the orders, payments and customers ports only.

A customer is active on a day when they registered, placed an order or had a payment
event that day. The 360 of day D holds every customer active in the 30 days ending D,
with their activity over those days and their profile (registrations of the 365 days
ending D are known; an older registration shows as unknown).
"""

import dataclasses
import datetime as dt
from collections.abc import Mapping

import polars as pl

from domains.customers.contracts import CONTRACTS as CUSTOMERS
from domains.growth.contracts import CONTRACTS
from domains.orders.contracts import CONTRACTS as ORDERS
from domains.payments.contracts import CONTRACTS as PAYMENTS
from platform_resources.products.input_ports import ProductRead, pin

ACTIVITY_DAYS = 30
PROFILE_DAYS = 365
ORDERS_URI = "data://orders/customer_daily_orders/v1"
PAYMENTS_URI = "data://payments/customer_daily_payments/v1"
PROFILES_URI = "data://customers/customer_profiles/v1"

#: What the 360 of day D reads: each port's days [D - lookback, D].
_PROFILE = ["registered_date", "registration_source", "country", "marketing_opt_in"]
_ORDER_COLUMNS = ["order_date", "user_token", "orders", "cancelled", "refunded"]
_PAYMENT_COLUMNS = ["payment_date", "user_token", "authorized", "captured", "failed", "refunded"]
_PROFILE_COLUMNS = ["user_token", *_PROFILE]
CUSTOMER_360_READS = (
    pin(ORDERS, ORDERS_URI, _ORDER_COLUMNS, lookback_days=ACTIVITY_DAYS - 1),
    pin(PAYMENTS, PAYMENTS_URI, _PAYMENT_COLUMNS, lookback_days=ACTIVITY_DAYS - 1),
    pin(CUSTOMERS, PROFILES_URI, _PROFILE_COLUMNS, lookback_days=PROFILE_DAYS - 1),
)
#: What daily active users of day D read: the same columns of the ports' day D.
DAILY_ACTIVE_USERS_READS: tuple[ProductRead, ...] = tuple(
    dataclasses.replace(read, lookback_days=0) for read in CUSTOMER_360_READS
)


def daily_activity(inputs: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per customer and day with any activity: registered (0/1), orders and payment events."""
    orders = inputs["customer_daily_orders"].select(
        "user_token", "orders", "cancelled", "refunded", day="order_date"
    )
    payments = inputs["customer_daily_payments"].select(
        "user_token",
        "captured",
        "failed",
        day="payment_date",
        payment_events=pl.sum_horizontal("authorized", "captured", "failed", "refunded"),
    )
    registrations = inputs["customer_profiles"].select(
        "user_token", day="registered_date", registered=pl.lit(1, pl.Int64)
    )
    return (
        pl.concat([orders, payments, registrations], how="diagonal")
        .group_by("user_token", "day")
        .agg(pl.all().sum())  # a sum of nulls is 0
    )


def customer_360(window: tuple[dt.date, dt.date], inputs: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    start, end = window
    as_of = pl.col("as_of_date")
    activity = (
        daily_activity(inputs)
        .with_columns(as_of_date=pl.date_ranges("day", pl.col("day") + pl.duration(days=ACTIVITY_DAYS - 1)))
        .explode("as_of_date")
        .filter(as_of.is_between(start, end, closed="left"))
        .group_by("as_of_date", "user_token")
        .agg(
            active_days_30d=pl.col("day").n_unique().cast(pl.Int64),
            last_active_date=pl.col("day").max(),
            orders_30d=pl.col("orders").sum(),
            cancelled_30d=pl.col("cancelled").sum(),
            refunded_30d=pl.col("refunded").sum(),
            payments_captured_30d=pl.col("captured").sum(),
            payments_failed_30d=pl.col("failed").sum(),
        )
    )
    profiles = inputs["customer_profiles"].select("user_token", *_PROFILE)
    registered = pl.col("registered_date")
    known = registered.is_between(as_of - pl.duration(days=PROFILE_DAYS - 1), as_of)
    return (
        activity.join(profiles, on="user_token", how="left")
        .with_columns(
            *(pl.when(known).then(pl.col(c)).alias(c) for c in _PROFILE),
            tenure_days=pl.when(known).then((as_of - registered).dt.total_days()),
            days_since_last_active=(as_of - pl.col("last_active_date")).dt.total_days(),
        )
        .select(CONTRACTS["customer_360"].polars_schema().names())
        .sort("as_of_date", "user_token")
    )


def daily_active_users(window: tuple[dt.date, dt.date], inputs: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    start, end = window
    days = pl.DataFrame({"activity_date": pl.date_range(start, end, closed="left", eager=True)})
    counts = (
        daily_activity(inputs)
        .filter(pl.col("day").is_between(start, end, closed="left"))
        .group_by(activity_date="day")
        .agg(
            active_users=pl.len().cast(pl.Int64),
            new_users=(pl.col("registered") > 0).sum().cast(pl.Int64),
            ordering_users=(pl.col("orders") > 0).sum().cast(pl.Int64),
            paying_users=(pl.col("payment_events") > 0).sum().cast(pl.Int64),
        )
    )
    return days.join(counts, on="activity_date", how="left").fill_null(0).sort("activity_date")
