"""The event bus's layout: one JetStream stream per domain (``EVENTS_<DOMAIN>``) holding the
subjects ``events.<domain>.<eventType>``, and publishing to it idempotently.

Every publish carries ``Nats-Msg-Id``: the event's ``eventId`` when it has one, else a hash
of the bytes, so the stream's duplicate window drops a republish (a relay retried after a
crash, a producer sending a file twice). Streams store on file; the embedded server fsyncs
every write before acking (``sync_interval: always``, operational/servers.py).
"""

from __future__ import annotations

import hashlib
import json
import re

import nats
from nats.aio.client import Client
from nats.js.api import StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from platform_resources.core.settings import get_nats_url

#: How long the stream remembers a message id to drop its republish.
DUPLICATE_WINDOW_S = 2 * 3600
#: Larger messages are refused by the stream (the publisher gets the error, nothing is stored).
MAX_MESSAGE_BYTES = 1024 * 1024
_TOKEN = re.compile(r"[^A-Za-z0-9_-]+")


def stream_name(domain: str) -> str:
    return f"EVENTS_{domain.upper()}"


def domain_subjects(domain: str) -> str:
    return f"events.{domain}.>"


def event_subject(domain: str, event_type: str | None) -> str:
    """``events.<domain>.<eventType>``; dots in the type become subject tokens, other
    characters a subject cannot hold become ``_`` (an event without a usable type: ``unknown``)."""
    tokens = [_TOKEN.sub("_", t) for t in (event_type or "").split(".") if t.strip()]
    return ".".join(["events", domain, *(tokens or ["unknown"])])


async def connect() -> Client:
    """A client that rides out a server restart (reconnecting for about 30 s)."""
    return await nats.connect(
        get_nats_url(), connect_timeout=5, max_reconnect_attempts=60, reconnect_time_wait=0.5
    )


async def ensure_domain_stream(js: JetStreamContext, domain: str) -> None:
    """Create the domain's stream, or keep it as it is."""
    try:
        await js.stream_info(stream_name(domain))
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=stream_name(domain),
                subjects=[domain_subjects(domain)],
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_S,
                max_msg_size=MAX_MESSAGE_BYTES,
                description=f"Domain events of {domain}: events.{domain}.<eventType>",
            )
        )


def message_identity(line: bytes) -> tuple[str, str | None]:
    """(``Nats-Msg-Id``, eventType) of a line: its eventId (and type) when it is an envelope,
    else the SHA-256 of its bytes (and no type)."""
    try:
        envelope = json.loads(line)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict):
        event_id, event_type = envelope.get("eventId"), envelope.get("eventType")
        if isinstance(event_id, str) and event_id:
            return event_id, event_type if isinstance(event_type, str) else None
    return hashlib.sha256(line).hexdigest(), None


async def publish_lines(js: JetStreamContext, domain: str, lines: list[bytes]) -> dict[str, int]:
    """Publish each line as is; counts of messages ``stored`` and ``duplicates`` the stream dropped.

    Publishes are pipelined and every ack is awaited: a line is counted only once the stream
    has it on disk.
    """
    await ensure_domain_stream(js, domain)
    futures = []
    for line in lines:
        msg_id, event_type = message_identity(line)
        futures.append(
            await js.publish_async(
                event_subject(domain, event_type), line, headers={"Nats-Msg-Id": msg_id}, wait_stall=30
            )
        )
    stored = duplicates = 0
    for future in futures:
        ack = await future
        duplicates += bool(ack.duplicate)
        stored += not ack.duplicate
    return {"stored": stored, "duplicates": duplicates}
