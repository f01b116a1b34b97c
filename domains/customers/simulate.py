"""The customer service's events: registrations and profile changes as seed-002 envelopes.

Customers register as ``user-000000``, ``user-000001``, ... in order (the ids the other
services' events carry), then change their profile (email, country, marketing opt-in)
now and then. A share ``REGISTRATION_SHARE`` of each day's events are registrations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import polars as pl

from platform_resources.ingest.envelope import envelope_json
from platform_resources.simulate.landing_faults import FaultRates, land_days, uuid4s

DOMAIN = "customers"
REGISTRATION_SHARE = 0.4
SOURCES = ("web", "ios", "android", "referral", "partner")
REFERRERS = ("google", "newsletter", "friend", "ads", "direct")
COUNTRIES = ("US", "FR", "GB", "DE", "PT", "PL")
REGIONS = ("us-east-1", "eu-west-1", "eu-west-2")
DOMAINS = ("example.com", "mail.test", "inbox.example")
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")


def _times(rng: np.random.Generator, day: dt.date, n: int) -> pl.Series:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start + pl.Series(rng.random(n) * 86_400_000_000).cast(pl.Duration("us"))


def _common(rng: np.random.Generator, n: int) -> dict:
    return {
        "correlation_id": uuid4s(rng, n),
        "session_id": uuid4s(rng, n),
        "region": np.array(REGIONS)[rng.integers(len(REGIONS), size=n)],
        "event_id": uuid4s(rng, n),
    }


def _registrations(rng: np.random.Generator, day: dt.date, first_user: int, n: int) -> pl.DataFrame:
    users = np.arange(first_user, first_user + n)
    names = rng.integers(len(FIRST), size=(n, 2))
    return pl.DataFrame(
        {
            "event_ts": _times(rng, day, n),
            "event_type": "user.registered",
            "user_id": [f"user-{u:06d}" for u in users],
            **_common(rng, n),
        }
    ).with_columns(
        payload=pl.struct(
            pl.col("user_id").alias("userId"),
            pl.Series([f"u{u}@{DOMAINS[u % len(DOMAINS)]}" for u in users]).alias("email"),
            pl.Series([FIRST[a] for a, _ in names]).alias("firstName"),
            pl.Series([LAST[b] for _, b in names]).alias("lastName"),
            pl.Series(np.array(SOURCES)[rng.integers(len(SOURCES), size=n)]).alias("registrationSource"),
            pl.Series(np.array(COUNTRIES)[users % len(COUNTRIES)]).alias("country"),
        ),
        metadata=pl.struct(
            pl.Series([f"10.0.{a}.{b}" for a, b in rng.integers(256, size=(n, 2))]).alias("ipAddress"),
            pl.lit("Mozilla/5.0").alias("userAgent"),
            pl.Series(np.array(REFERRERS)[rng.integers(len(REFERRERS), size=n)]).alias("referrer"),
        ),
    )


def _profile_changes(
    rng: np.random.Generator, day: dt.date, registered: pl.DataFrame, n: int
) -> pl.DataFrame:
    """``n`` profile changes of customers registered before them (one field or more each)."""
    picked = registered.sample(n, with_replacement=True, seed=int(rng.integers(1 << 31)))
    after = picked.get_column("event_ts").dt.replace_time_zone(None).cast(pl.Int64)
    day_start = int(dt.datetime.combine(day, dt.time()).timestamp() * 1_000_000)
    start = np.maximum(after.to_numpy() + 1, day_start)
    ts = start + (rng.random(n) * (day_start + 86_400_000_000 - start)).astype(np.int64)
    change = rng.integers(3, size=n)  # 0 email, 1 country, 2 marketing opt-in
    users = picked.get_column("user_id")
    return pl.DataFrame(
        {
            "event_ts": pl.Series(ts).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "event_type": "user.profile_updated",
            "user_id": users,
            **_common(rng, n),
        }
    ).with_columns(
        payload=pl.struct(
            pl.col("user_id").alias("userId"),
            pl.when(pl.Series(change == 0))
            .then(pl.col("user_id").str.replace("user-", "new") + pl.lit("@mail.test"))
            .alias("email"),
            pl.when(pl.Series(change == 1))
            .then(pl.Series(np.array(COUNTRIES)[rng.integers(len(COUNTRIES), size=n)]))
            .alias("country"),
            pl.when(pl.Series(change == 2)).then(pl.Series(rng.random(n) < 0.5)).alias("marketingOptIn"),
        ),
        metadata=pl.struct(pl.lit("profile-service").alias("actor")),
    )


def lines_by_day(
    rng: np.random.Generator, days: list[dt.date], events_per_day: int, seed: int
) -> Iterator[tuple[dt.date, pl.DataFrame]]:
    """Each day's envelope lines (``event_ts``, ``line``): what the service emits that day."""
    per_day = max(1, round(events_per_day * REGISTRATION_SHARE))
    registered: list[pl.DataFrame] = []
    for i, day in enumerate(days):
        new = _registrations(rng, day, i * per_day, per_day)
        registered.append(new.select("user_id", "event_ts"))
        changes = _profile_changes(rng, day, pl.concat(registered), max(0, events_per_day - per_day))
        lines = pl.concat(
            [
                frame.with_columns(event_source=pl.lit("customer-service")).select(
                    "event_ts", line=envelope_json(pl.col("payload"), pl.col("metadata"))
                )
                for frame in (new, changes)
            ]
        ).filter(pl.col("event_ts").dt.date() == day)
        yield day, lines


def simulate(days: list[dt.date], events_per_day: int, seed: int, rates: FaultRates) -> dict[str, int]:
    rng = np.random.default_rng(seed + 1)
    return land_days(DOMAIN, lines_by_day(rng, days, events_per_day, seed), rates=rates, rng=rng)
