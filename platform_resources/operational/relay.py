"""The outbox relay: a domain's unsent outbox rows onto its stream, marked sent only after the
bus acknowledged them, so an event is never lost and a relay killed between the publish and
the mark republishes it into the stream's duplicate window (``Nats-Msg-Id`` = eventId), where
it is dropped.

Outbox polling, not logical decoding (docs/architecture.md says why): each batch is one
transaction that takes a per-domain advisory lock (one relay per domain publishes at a time,
so the stream receives the rows in ``seq`` order, and so in order per aggregate), selects the
unsent rows in ``seq`` order ``FOR UPDATE SKIP LOCKED``, publishes them pipelined on one
connection, awaits every ack and sets ``sent_at``. A failed ack stops the batch before the
mark: nothing of it is marked sent and the next batch publishes it again. Sent rows are kept
``SENT_RETENTION`` for inspection, then deleted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import asdict, dataclass

import psycopg
from psycopg import sql

from platform_resources.core.faults import kill_point
from platform_resources.core.settings import get_ods_url
from platform_resources.operational.outbox import ensure_store
from platform_resources.operational.services import service_of
from platform_resources.stream.bus import connect, ensure_domain_stream, event_subject

BATCH_SIZE = 500
SENT_RETENTION = dt.timedelta(days=1)


@dataclass
class RelaySummary:
    domain: str
    relayed: int = 0  # rows published and marked sent
    duplicates: int = 0  # of them, the stream already had (a republish after a crash)
    batches: int = 0
    unsent: int = 0  # rows left unsent (another relay holds the lock, or rows came in meanwhile)
    pruned: int = 0

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


async def _relay(domain: str, batch_size: int) -> RelaySummary:
    summary = RelaySummary(domain)
    outbox = sql.Identifier(domain, "outbox")
    client = await connect()
    try:
        js = client.jetstream()
        await ensure_domain_stream(js, domain)
        async with await psycopg.AsyncConnection.connect(get_ods_url()) as conn:
            while True:
                async with conn.transaction():
                    locked = await conn.execute(
                        "SELECT pg_try_advisory_xact_lock(hashtext(%s))", (f"meshhouse.relay:{domain}",)
                    )
                    if not (await locked.fetchone())[0]:  # type: ignore[index]
                        break  # another relay is publishing this domain's outbox
                    rows = await (
                        await conn.execute(
                            sql.SQL(
                                "SELECT seq, id::text, type, payload FROM {} WHERE sent_at IS NULL "
                                "ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED"
                            ).format(outbox),
                            (batch_size,),
                        )
                    ).fetchall()
                    if not rows:
                        break
                    acks = [
                        await js.publish_async(
                            event_subject(domain, event_type),
                            payload.encode(),
                            headers={"Nats-Msg-Id": event_id},
                            wait_stall=30,
                        )
                        for _, event_id, event_type, payload in rows
                    ]
                    for ack in acks:  # an error here leaves the whole batch unsent
                        summary.duplicates += bool((await ack).duplicate)
                    kill_point("relay-after-publish")
                    await conn.execute(
                        sql.SQL("UPDATE {} SET sent_at = clock_timestamp() WHERE seq = ANY(%s)").format(
                            outbox
                        ),
                        ([seq for seq, *_ in rows],),
                    )
                summary.relayed += len(rows)
                summary.batches += 1
            pruned = await conn.execute(
                sql.SQL("DELETE FROM {} WHERE sent_at < clock_timestamp() - %s").format(outbox),
                (SENT_RETENTION,),
            )
            summary.pruned = pruned.rowcount
            unsent = await conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE sent_at IS NULL").format(outbox)
            )
            summary.unsent = (await unsent.fetchone())[0]  # type: ignore[index]
            await conn.commit()
    finally:
        await client.close()
    return summary


def relay_until_idle(domain: str, *, batch_size: int = BATCH_SIZE) -> RelaySummary:
    """Publish ``domain``'s unsent outbox rows until none is left."""
    with psycopg.connect(get_ods_url()) as conn:
        ensure_store(conn, domain, service_of(domain).TABLES_DDL)
    return asyncio.run(_relay(domain, batch_size))
