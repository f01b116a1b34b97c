"""The transactional outbox of each domain's operational store: the ``<domain>.outbox`` table and
the one way a service records a change's event, in the transaction of the change.

Columns follow Debezium's outbox event router: ``id`` (the eventId), ``aggregatetype``,
``aggregateid`` (the entity whose events must stay in order, e.g. an orderId), ``type`` (the
eventType) and ``payload`` (the whole seed-002 envelope, as the line that goes on the bus),
plus ``seq`` (commit order for the relay), ``created_at`` and ``sent_at`` (set by the relay
once the bus acknowledged the event). ``id`` is unique: recording an event again is a no-op,
so a service that retries or restarts never emits an event twice.
"""

from __future__ import annotations

import json

from psycopg import Connection, Cursor, sql

OUTBOX_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.outbox (
    seq bigserial PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    aggregatetype text NOT NULL,
    aggregateid text NOT NULL,
    type text NOT NULL,
    payload text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON {schema}.outbox (seq) WHERE sent_at IS NULL;
"""


def ensure_store(conn: Connection, domain: str, tables_ddl: str) -> None:
    """Create the domain's schema, its business tables (``tables_ddl``, with ``{schema}``) and
    its outbox, or keep them as they are.

    The DDL runs once, by one process: a store whose outbox exists (it is created last, in the
    same transaction) is left alone, so no later caller takes the DDL's table locks (``ALTER
    TABLE ... REPLICA IDENTITY`` would deadlock with a service's inserts)."""
    schema = sql.Identifier(domain)

    def created() -> bool:
        found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{domain}.outbox",)).fetchone()
        return bool(found and found[0])

    with conn.transaction():
        if created():
            return
    with conn.transaction():
        # one creator at a time; the one that waited finds the store made
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"meshhouse.store:{domain}",))
        if created():
            return
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
        for ddl in (tables_ddl, OUTBOX_DDL):
            conn.execute(sql.SQL(ddl).format(schema=schema))  # type: ignore[arg-type]


def record_event(cur: Cursor, domain: str, line: str, aggregate: tuple[str, str]) -> bool:
    """Insert the envelope ``line`` into the outbox; False when the event was recorded before."""
    envelope = json.loads(line)
    cur.execute(
        sql.SQL(
            "INSERT INTO {}.outbox (id, aggregatetype, aggregateid, type, payload) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING seq"
        ).format(sql.Identifier(domain)),
        (envelope["eventId"], *aggregate, envelope["eventType"], line),
    )
    return cur.fetchone() is not None


def recorded_at(conn: Connection, domain: str, event_ids: list[str]) -> dict[str, float]:
    """When each of ``event_ids`` was committed to the outbox (epoch seconds)."""
    query = "SELECT id::text, extract(epoch FROM created_at) FROM {}.outbox WHERE id = ANY(%s::uuid[])"
    rows = conn.execute(sql.SQL(query).format(sql.Identifier(domain)), (event_ids,)).fetchall()
    return {event_id: float(at) for event_id, at in rows}
