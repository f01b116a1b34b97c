"""The live services of the embedded demo: each source domain's service emits today's simulated
events as their time comes, into its operational store (change and outbox row in one
transaction), and the relay and CDC carry them onto the bus, a tick at a time.

An event is emitted when the clock passes its simulated time, so its envelope time is the
moment it was written; at midnight the next day's events begin. A server that does not answer
(a restart) costs a tick: the services write again at the next one, nothing emitted is lost
(the outbox keeps what the relay has not sent) and nothing is emitted twice (the outbox skips
a recorded event).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import nats.errors
import polars as pl
import psycopg

from platform_resources.operational.cdc import capture_until_idle
from platform_resources.operational.relay import relay_until_idle
from platform_resources.operational.services import SERVICE_DOMAINS, events_of_day, write_events


@dataclass
class LiveTotals:
    written: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICE_DOMAINS, 0))
    relayed: int = 0
    changes: int = 0
    failed_ticks: int = 0
    last_error: str = ""


def _due(events: pl.DataFrame, after: dt.datetime, until: dt.datetime) -> list[str]:
    return events.filter((pl.col("event_ts") > after) & (pl.col("event_ts") <= until))["line"].to_list()


def run_live(
    events_per_day: int,
    *,
    seed: int = 7,
    tick_s: float = 1.0,
    stop: threading.Event | None = None,
    progress: Callable[[LiveTotals], None] | None = None,
) -> LiveTotals:
    """Emit, relay and capture until ``stop`` is set (or forever)."""
    stop = stop or threading.Event()
    totals = LiveTotals()
    emitted_until = dt.datetime.now(dt.UTC)  # events before the start were not "lived": not emitted
    day = emitted_until.date()
    schedule = {d: events_of_day(d, day, events_per_day, seed) for d in SERVICE_DOMAINS}
    while not stop.is_set():
        now = dt.datetime.now(dt.UTC)
        if now.date() != day:  # midnight: the rest of the old day, then the new day's events
            due = {d: _due(schedule[d], emitted_until, now) for d in SERVICE_DOMAINS}
            day = now.date()
            schedule = {d: events_of_day(d, day, events_per_day, seed) for d in SERVICE_DOMAINS}
        else:
            due = {d: _due(schedule[d], emitted_until, now) for d in SERVICE_DOMAINS}
        try:
            for domain, lines in due.items():
                totals.written[domain] += write_events(domain, lines).written
            emitted_until = now
            totals.relayed += sum(relay_until_idle(d).relayed for d in SERVICE_DOMAINS)
            totals.changes += capture_until_idle().changes
        except (psycopg.OperationalError, nats.errors.Error, OSError, TimeoutError) as exc:
            totals.failed_ticks += 1
            totals.last_error = f"{type(exc).__name__}: {exc}"
        if progress:
            progress(totals)
        stop.wait(tick_s)
    return totals
