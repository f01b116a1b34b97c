"""Domain services on their operational stores: every event a service emits is its business
change and its outbox row, committed in one transaction, never one without the other.

A domain's ``domains/<domain>/service.py`` owns its business tables (``TABLES_DDL``) and how
an event changes them (``apply(cursor, event)``) and the entity whose events stay in order
(``aggregate(event) -> (aggregatetype, aggregateid)``); the events
are its simulator's (``domains/<domain>/simulate.py`` ``lines_by_day``), so the world the
services write is the one the file landing describes. An event already in the outbox is
skipped with its change: a service rerun writes nothing twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl
import psycopg

from platform_resources.core.settings import get_ods_url
from platform_resources.mesh.workspace import domain_module
from platform_resources.operational.cdc import ensure_capture
from platform_resources.operational.outbox import ensure_store, record_event

SERVICE_DOMAINS = ("orders", "customers", "payments", "inventory")


class DomainService(Protocol):
    TABLES_DDL: str

    def aggregate(self, event: dict) -> tuple[str, str]: ...

    def apply(self, cur: psycopg.Cursor, event: dict) -> None: ...


def service_of(domain: str) -> DomainService:
    return domain_module(domain, "service")  # type: ignore[return-value]


def events_of_day(domain: str, day: dt.date, events_per_day: int, seed: int) -> pl.DataFrame:
    """The domain's simulated events of ``day`` (``event_ts``, ``line``), in time order."""
    rng = np.random.default_rng([seed, SERVICE_DOMAINS.index(domain), day.toordinal()])
    _, lines = next(domain_module(domain, "simulate").lines_by_day(rng, [day], events_per_day, seed))
    return lines.sort("event_ts")


def first_events_of_day(domain: str, day: dt.date, n: int, seed: int) -> list[str]:
    """The first ``n`` lines of the domain's simulated ``day``, of a day simulated large enough to
    hold them (payments emits a share of the orders, and that share varies by day)."""
    size = 2 * n
    while (lines := events_of_day(domain, day, size, seed)).height < n:
        size *= 2
    return lines["line"].head(n).to_list()


def retimed(line: str, at: dt.datetime) -> str:
    """The event ``line`` as emitted at ``at``: its envelope ``timestamp`` replaced (ms, UTC)."""
    envelope = json.loads(line)
    envelope["timestamp"] = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Written:
    written: int  # events recorded with their change
    already_recorded: int  # events the outbox held before: skipped with their change


def write_events(domain: str, lines: Iterable[str]) -> Written:
    """Each event's business change and outbox row in one transaction."""
    service = service_of(domain)
    written = skipped = 0
    with psycopg.connect(get_ods_url()) as conn:
        ensure_store(conn, domain, service.TABLES_DDL)
        ensure_capture(conn, domain)
        for line in lines:
            event = json.loads(line)
            with conn.transaction(), conn.cursor() as cur:
                if record_event(cur, domain, line, service.aggregate(event)):
                    service.apply(cur, event)
                    written += 1
                else:
                    skipped += 1
    return Written(written, skipped)
