"""Change data capture: an operational table's row changes, read from PostgreSQL's logical
replication, as Debezium-shaped change events (``before``, ``after``, ``op``, ``source.lsn``,
``ts_ms``) inside the seed-002 envelope, onto the owning domain's stream.

The slot (``meshhouse_cdc_<schema>_<table>``, plugin ``test_decoding``, which every
PostgreSQL ships) is read with ``pg_logical_slot_peek_changes``: peeking does not move it.
Only after the bus acknowledged every event of the batch is the slot advanced
(``pg_replication_slot_advance``) past the last transaction published, so a crash or a
PostgreSQL restart in between replays those transactions, and the replay is dropped by the
stream: each event's id is derived from the slot, the change's commit LSN and its place in
the transaction, so the same change always has the same ``eventId`` (= ``Nats-Msg-Id``).
The table needs ``REPLICA IDENTITY FULL`` for ``before`` to hold the whole old row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
import uuid
from dataclasses import asdict, dataclass

import psycopg

from platform_resources.core.faults import kill_point
from platform_resources.core.settings import ODS_DATABASE, get_ods_url
from platform_resources.stream.bus import connect, ensure_domain_stream, event_subject

BATCH_CHANGES = 1000
#: How long a capture waits for a slot another backend holds before it fails.
SLOT_BUSY_PATIENCE_S = 30.0
#: Every CDC event id is a UUIDv5 in this namespace of (slot, commit LSN, change number).
#: Every change event's type starts so (``cdc.<schema>.<table>``): row images, not domain events.
CDC_EVENT_PREFIX = "cdc."
CDC_NAMESPACE = uuid.UUID("5f0c6a52-2d8e-4c55-9e1c-6f3c1a9b7e40")
OPS = {"INSERT": "c", "UPDATE": "u", "DELETE": "d"}
_COLUMN = re.compile(r"(\w+)\[([^\]]+)\]:('(?:[^']|'')*'|\S+)")
_COMMIT = re.compile(r"COMMIT \d+ \(at (.+)\)")
_NUMERIC = {"integer", "bigint", "smallint", "numeric", "real", "double precision"}


@dataclass(frozen=True)
class CapturedTable:
    domain: str  # whose stream the changes go to
    schema: str
    table: str

    @property
    def slot(self) -> str:
        return f"meshhouse_cdc_{self.schema}_{self.table}"

    @property
    def event_type(self) -> str:
        return f"{CDC_EVENT_PREFIX}{self.schema}.{self.table}"


CUSTOMERS = CapturedTable("customers", "customers", "customers")
CAPTURED = (CUSTOMERS,)


def _value(pg_type: str, text: str) -> object:
    if text == "null":
        return None
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if pg_type == "boolean":
        return text == "true"
    if pg_type in _NUMERIC or pg_type.startswith("numeric"):
        return float(text) if "." in text or "e" in text.lower() else int(text)
    return text


def _row(text: str) -> dict[str, object]:
    return {name: _value(pg_type, value) for name, pg_type, value in _COLUMN.findall(text)}


def parse_change(data: str, table: CapturedTable) -> tuple[str, dict | None, dict | None] | None:
    """(op, before, after) of a test_decoding row line of ``table``; None for any other line."""
    prefix = f"table {table.schema}.{table.table}: "
    if not data.startswith(prefix):
        return None
    action, _, rest = data[len(prefix) :].partition(": ")
    op = OPS.get(action)
    if op is None:  # TRUNCATE and the like carry no rows
        return None
    if op == "c":
        return op, None, _row(rest)
    if op == "d":
        return op, _row(rest), None
    old, _, new = rest.partition("new-tuple: ")
    before = _row(old.removeprefix("old-key: ")) if old.startswith("old-key: ") else None
    return op, before, _row(new if new else rest)


def change_event(
    table: CapturedTable,
    op: str,
    before: dict | None,
    after: dict | None,
    lsn: str,
    number: int,
    committed: str,
) -> dict:
    """The seed-002 envelope of one change, its payload shaped like a Debezium change event."""
    commit_ts = dt.datetime.fromisoformat(committed).astimezone(dt.UTC)
    key_row = after or before or {}
    return {
        "eventId": str(uuid.uuid5(CDC_NAMESPACE, f"{table.slot}:{lsn}:{number}")),
        "eventType": table.event_type,
        "eventSource": f"cdc:{table.schema}.{table.table}",
        "timestamp": commit_ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "version": "1.0",
        "userId": key_row.get("user_id") if isinstance(key_row.get("user_id"), str) else None,
        "data": {
            "payload": {
                "before": before,
                "after": after,
                "op": op,
                "source": {
                    "connector": "meshhouse-cdc",
                    "db": ODS_DATABASE,
                    "schema": table.schema,
                    "table": table.table,
                    "lsn": lsn,
                    "ts_ms": int(commit_ts.timestamp() * 1000),
                },
                "ts_ms": int(dt.datetime.now(dt.UTC).timestamp() * 1000),
            }
        },
    }


@dataclass
class CaptureSummary:
    table: str
    changes: int = 0  # change events published
    duplicates: int = 0  # of them, the stream already had (a replay after a crash)
    transactions: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


def ensure_slot(conn: psycopg.Connection, table: CapturedTable) -> None:
    """Create the table's slot if it has none; changes are captured from that moment on."""
    try:
        with conn.transaction():  # (a slot cannot be created in a transaction that wrote)
            exists = conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (table.slot,))
            if not exists.fetchone():
                conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (table.slot,))
    except psycopg.errors.DuplicateObject:
        pass  # another process created it meanwhile


def ensure_capture(conn: psycopg.Connection, domain: str) -> None:
    """The slots of the domain's captured tables, created with its store so no change is missed."""
    for table in CAPTURED:
        if table.domain == domain:
            ensure_slot(conn, table)


def _on_slot(conn: psycopg.Connection, sql: str, params: tuple) -> list[tuple]:
    """``sql`` on the table's slot, waiting while another backend holds it: a capture killed a
    moment ago keeps its slot until PostgreSQL notices the closed connection (seconds)."""
    deadline = time.monotonic() + SLOT_BUSY_PATIENCE_S
    while True:
        try:
            return conn.execute(sql, params).fetchall()
        except psycopg.errors.ObjectInUse:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _peek(conn: psycopg.Connection, table: CapturedTable) -> tuple[list[dict], str | None, int]:
    """(events, LSN to advance to, transactions) of the next whole transactions in the slot."""
    rows = _on_slot(
        conn,
        "SELECT lsn::text, data FROM pg_logical_slot_peek_changes(%s, NULL, %s, "
        "'include-timestamp', '1', 'skip-empty-xacts', '1')",
        (table.slot, BATCH_CHANGES),
    )
    events: list[dict] = []
    pending: list[tuple[str, dict | None, dict | None]] = []
    advance_to, transactions = None, 0
    for lsn, data in rows:
        if data.startswith("BEGIN"):
            pending = []
        elif commit := _COMMIT.fullmatch(data):
            events += [
                change_event(table, op, before, after, lsn, number, commit[1])
                for number, (op, before, after) in enumerate(pending)
            ]
            advance_to, transactions = lsn, transactions + 1
        elif change := parse_change(data, table):
            pending.append(change)
    return events, advance_to, transactions


async def _capture(table: CapturedTable) -> CaptureSummary:
    summary = CaptureSummary(f"{table.schema}.{table.table}")
    client = await connect()
    try:
        js = client.jetstream()
        await ensure_domain_stream(js, table.domain)
        with psycopg.connect(get_ods_url(), autocommit=True) as conn:
            ensure_slot(conn, table)
            while True:
                events, advance_to, transactions = _peek(conn, table)
                if advance_to is None:
                    break
                acks = [
                    await js.publish_async(
                        event_subject(table.domain, event["eventType"]),
                        json.dumps(event, separators=(",", ":")).encode(),
                        headers={"Nats-Msg-Id": event["eventId"]},
                        wait_stall=30,
                    )
                    for event in events
                ]
                for ack in acks:
                    summary.duplicates += bool((await ack).duplicate)
                kill_point("cdc-after-publish")
                advance = "SELECT pg_replication_slot_advance(%s, %s::pg_lsn)"
                _on_slot(conn, advance, (table.slot, advance_to))
                summary.changes += len(events)
                summary.transactions += transactions
                summary.batches += 1
    finally:
        await client.close()
    return summary


def capture_until_idle(table: CapturedTable = CUSTOMERS) -> CaptureSummary:
    """Publish the table's committed changes until the slot holds none."""
    return asyncio.run(_capture(table))
