"""`meshhouse stream check`: the whole event path on this home's servers, measured, with faults.

The orders and customers services write ``--events`` events (half each) at ``--rate`` per
second into their operational stores; meanwhile a relay loop publishes the outboxes and the
customers table's changes (CDC) onto the bus, and a micro-batch loop runs each domain's stream
job (stream Bronze -> Silver -> Gold, today's partition) on the Dagster instance, as the stream
sensor would. Mid-way the relay is SIGKILLed between publishing and marking sent, and a
consumer after its Iceberg commit and before its ack. Then every event is looked for: in stream
Bronze, in the Silver event product, once each. Latency runs from the event's outbox commit to
the Silver materialization that first held it, and to the Gold materialization after that.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import psycopg
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.cli.instance import dagster_instance
from platform_resources.core.settings import get_ods_url
from platform_resources.ingest.landing_sensor import PARTITION_LOCK_TAG
from platform_resources.mesh.workspace import domain_module
from platform_resources.operational.cdc import capture_until_idle
from platform_resources.operational.outbox import recorded_at
from platform_resources.operational.relay import relay_until_idle
from platform_resources.operational.servers import start_embedded_servers
from platform_resources.operational.services import first_events_of_day, retimed, write_events
from platform_resources.storage.iceberg_io import read_table
from platform_resources.stream.consumer import stream_backlog
from platform_resources.stream.stream_bronze import stream_tables

#: The services the check drives, and their Silver event product.
EVENT_PRODUCTS = {"orders": "order_events", "customers": "customer_events"}
WRITE_TICK_S = 0.2
COMMAND = [str(Path(sys.executable).parent / "meshhouse"), "stream"]


@dataclass
class _Path:
    """What the loops saw, shared between them."""

    today: dt.date
    expected: int
    written: dict[str, list[str]] = field(default_factory=lambda: {d: [] for d in EVENT_PRODUCTS})
    writing_done: threading.Event = field(default_factory=threading.Event)
    relay_idle: threading.Event = field(default_factory=threading.Event)
    faults: dict[str, bool] = field(default_factory=lambda: {"relay_killed": False, "consumer_killed": False})
    silver_at: dict[str, float] = field(default_factory=dict)  # eventId -> first Silver holding it
    gold_at: dict[str, float] = field(default_factory=dict)  # eventId -> first Gold after that
    cdc_changes: int = 0
    errors: list[str] = field(default_factory=list)  # a loop that stopped on an error
    runs: int = 0
    failed_runs: int = 0

    @property
    def produced(self) -> int:
        return sum(len(ids) for ids in self.written.values())


def _killed(args: list[str], point: str) -> bool:
    """Run a ``meshhouse stream`` command that SIGKILLs itself at ``point``; whether it got there."""
    done = subprocess.run(
        [*COMMAND, *args],
        env={**os.environ, "MESHHOUSE_KILL_AT": point},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done.returncode == -signal.SIGKILL


def _write(path: _Path, events: int, rate: float, seed: int) -> None:
    """The services' events, ``rate`` per second in all, half by each service."""
    shares = divmod(events, len(EVENT_PRODUCTS))
    per_domain = {d: shares[0] + (i < shares[1]) for i, d in enumerate(EVENT_PRODUCTS)}
    lines = {d: first_events_of_day(d, path.today, n, seed) for d, n in per_domain.items()}
    per_tick = max(1, round(rate * WRITE_TICK_S / len(EVENT_PRODUCTS)))
    position = 0
    while any(position < len(ls) for ls in lines.values()):
        started = time.monotonic()
        for domain, domain_lines in lines.items():
            now = dt.datetime.now(dt.UTC)  # the services emit their events now, not at the simulated time
            chunk = [retimed(line, now) for line in domain_lines[position : position + per_tick]]
            if chunk:
                write_events(domain, chunk)
                path.written[domain] += [_event_id(line) for line in chunk]
        position += per_tick
        time.sleep(max(0.0, WRITE_TICK_S - (time.monotonic() - started)))
    path.writing_done.set()


def _event_id(line: str) -> str:
    return json.loads(line)["eventId"]


def _relay(path: _Path, events: int) -> None:
    """Outboxes and CDC onto the bus until the services are done and nothing is unsent; the
    relay is killed once, between publish and mark-sent, when a third of the events are in."""
    while True:
        done = path.writing_done.is_set()
        if not path.faults["relay_killed"] and path.produced >= events // 3 and not done:
            # killed only when it had rows to publish: else tried again at the next tick
            path.faults["relay_killed"] = _killed(
                ["relay", "--domain", "orders", "--until-idle"], "relay-after-publish"
            )
        unsent = sum(relay_until_idle(d).unsent for d in EVENT_PRODUCTS)
        path.cdc_changes += capture_until_idle().changes
        if done and not unsent:
            break
        time.sleep(WRITE_TICK_S)
    path.relay_idle.set()


def _materialized_at(
    result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance, layer: str
) -> float | None:
    """When the run's last materialization of a ``layer`` asset was recorded (epoch seconds)."""
    keys = {
        e.asset_key
        for e in result.get_asset_materialization_events()
        if len(e.asset_key.path) == 3 and e.asset_key.path[1] == layer
    }
    entries = [instance.get_latest_materialization_event(key) for key in keys]
    return max((entry.timestamp for entry in entries if entry is not None), default=None)


def _silver_ids(domain: str, today: dt.date) -> pl.Series:
    product = domain_module(domain, "contracts").CONTRACTS[EVENT_PRODUCTS[domain]]
    try:
        return read_table(product.product_id).filter(pl.col("event_date") == today).collect()["event_id"]
    except NoSuchTableError:  # before its first publication
        return pl.Series("event_id", [], dtype=pl.String)


def _reporting(path: _Path, loop: Callable[..., None]) -> Callable[..., None]:
    """``loop``, its error recorded for the check to stop on, not lost in its thread."""

    def run(*args: object) -> None:
        try:
            loop(*args)
        except Exception as exc:
            path.errors.append(f"{loop.__name__.strip('_')}: {type(exc).__name__}: {exc}")
            raise

    return run


def _kill_a_consumer(path: _Path) -> None:
    """Once half the events are written and some wait in the orders stream, SIGKILL a consumer
    after its Iceberg commit and before its ack."""
    while not path.errors and (path.produced < path.expected // 2 or not stream_backlog("orders").waiting):
        if path.relay_idle.is_set():
            return  # nothing waits any more: the fault could not be injected (reported as not)
        time.sleep(WRITE_TICK_S)
    ingest = ["ingest", "--domain", "orders", "--until-idle"]
    path.faults["consumer_killed"] = _killed(ingest, "stream-after-commit")


def _micro_batches(path: _Path, instance: dg.DagsterInstance, progress: Callable[[_Path], None]) -> None:
    """Each domain's stream job, round after round, until every event reached Gold (or the
    relay is idle and a round found nothing new); a consumer is killed once, after its commit."""
    day = path.today.isoformat()
    definitions = {d: domain_module(d, "definitions").defs for d in EVENT_PRODUCTS}
    quiet_rounds = 0
    _kill_a_consumer(path)
    while quiet_rounds < 2 and not path.errors:
        relay_was_idle = path.relay_idle.is_set()
        new = 0
        for domain, defs in definitions.items():
            result = defs.resolve_job_def(f"{domain}_stream").execute_in_process(
                partition_key=day,
                instance=instance,
                tags={"meshhouse/trigger": "stream-check", PARTITION_LOCK_TAG: f"{domain}/{day}"},
                raise_on_error=False,
            )
            path.runs += 1
            path.failed_runs += not result.success
            silver = _materialized_at(result, instance, "silver")
            gold = _materialized_at(result, instance, "gold")
            if silver is not None:
                for event_id in _silver_ids(domain, path.today):
                    if event_id not in path.silver_at:
                        path.silver_at[event_id] = silver
                        new += 1
            if gold is not None:
                for event_id, at in path.silver_at.items():
                    if event_id not in path.gold_at and at <= gold:
                        path.gold_at[event_id] = gold
        progress(path)
        quiet_rounds = quiet_rounds + 1 if relay_was_idle and not new else 0


def _percentiles(latencies: list[float]) -> dict[str, float | None]:
    if not latencies:
        return {"p50": None, "p99": None}
    return {
        "p50": round(float(np.percentile(latencies, 50)), 2),
        "p99": round(float(np.percentile(latencies, 99)), 2),
    }


def _bronze_copies(domain: str, ids: set[str]) -> tuple[int, int]:
    """(rows, distinct event ids) of ``ids`` in the domain's stream Bronze."""
    events = read_table(stream_tables(domain)[0]).select("event_id").collect()["event_id"]
    mine = events.filter(events.is_in(list(ids)))
    return mine.len(), mine.n_unique()


def check_stream_path(events: int, rate: float, seed: int, progress: Callable[[_Path], None]) -> dict:
    """The path's summary: ``produced``, ``bronze``, ``silver``, ``lost``, ``duplicated``,
    ``latency_s`` (``silver`` and ``gold``: ``p50``, ``p99``), the faults injected and the runs."""
    start_embedded_servers()
    instance = dagster_instance()
    path = _Path(today=dt.datetime.now(dt.UTC).date(), expected=events)
    loops = [
        threading.Thread(target=_reporting(path, _write), args=(path, events, rate, seed), daemon=True),
        threading.Thread(target=_reporting(path, _relay), args=(path, events), daemon=True),
    ]
    for loop in loops:
        loop.start()
    _micro_batches(path, instance, progress)
    if path.errors:
        raise RuntimeError(f"the stream check stopped: {'; '.join(path.errors)}")
    for loop in loops:
        loop.join()

    summary: dict = {"produced": path.produced, "bronze": 0, "silver": 0, "lost": 0, "duplicated": 0}
    silver_lat: list[float] = []
    gold_lat: list[float] = []
    with psycopg.connect(get_ods_url()) as conn:
        for domain, ids in path.written.items():
            wanted = set(ids)
            rows, distinct = _bronze_copies(domain, wanted)
            silver = _silver_ids(domain, path.today)
            mine = silver.filter(silver.is_in(ids))
            summary["bronze"] += distinct
            summary["silver"] += mine.n_unique()
            summary["lost"] += len(wanted) - mine.n_unique()
            summary["duplicated"] += (rows - distinct) + (mine.len() - mine.n_unique())
            committed = recorded_at(conn, domain, ids)
            silver_lat += [path.silver_at[i] - committed[i] for i in ids if i in path.silver_at]
            gold_lat += [path.gold_at[i] - committed[i] for i in ids if i in path.gold_at]
    summary["latency_s"] = {"silver": _percentiles(silver_lat), "gold": _percentiles(gold_lat)}
    summary["faults"] = path.faults
    summary["cdc_changes"] = path.cdc_changes
    summary["runs"] = {"micro_batch": path.runs, "failed": path.failed_runs}
    return summary
