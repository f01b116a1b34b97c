"""The stream -> Bronze consumer: a domain's durable JetStream pull consumer, committed to
Iceberg in micro-batches exactly once (``stream_bronze.commit_batch``), acked only after.

Position is the lakehouse's, not the server's: each batch is the contiguous run of stream
sequences after the one both Bronze tables committed. The consumer delivers them (at most
``max_ack_pending`` = one batch in flight); a sequence it does not deliver, because a killed
process still held it unacked or its delivery was lost with a connection, is read from the
stream by sequence, so a gap never lets a later commit step over an event. A redelivery of
a committed message is acked and skipped. One process per domain consumes at a time (a lock
file under the home; in Dagster a concurrency limit per domain), which is what makes the
committed sequence a prefix.

A failed Iceberg commit stops the consumer with an error saying what was not committed; the
messages stay in the stream (nothing acked) and the next run resumes at the same sequence.
A NATS restart is ridden out: the client reconnects and the batch is fetched again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TypeVar

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from platform_resources.core.faults import kill_point
from platform_resources.core.settings import get_nats_url, get_paths
from platform_resources.storage.catalog import load_catalog
from platform_resources.stream.bus import connect, ensure_domain_stream, stream_name
from platform_resources.stream.stream_bronze import StreamMessage, commit_batch, resume_seq

T = TypeVar("T")
DURABLE = "bronze"
BATCH_SIZE = 500
#: A delivered message not acked within this is delivered again (a killed consumer's batch).
ACK_WAIT_S = 30
FETCH_WAIT_S = 1.0
#: How long NATS may be unreachable (a restart) before the consumer gives up.
RECONNECT_PATIENCE_S = 60


class StreamBusy(RuntimeError):
    """Another process is consuming this domain's stream."""


class StreamCommitFailed(RuntimeError):
    """The lakehouse refused a batch; the stream still holds it."""


@dataclass
class IngestSummary:
    domain: str
    consumed: int = 0  # messages taken from the stream = bronze + quarantined + already_committed
    bronze: int = 0
    quarantined: int = 0
    already_committed: int = 0
    batches: int = 0
    committed_seq: int = 0
    lag: int = 0  # messages in the stream after committed_seq
    lag_s: float = 0.0  # how long the oldest of them has waited (0 when none waits)
    removed: int = 0  # sequences the stream no longer held when their turn came (limits, deletes)
    first_seq: int = 0  # the first sequence this run committed (0 when it committed none)
    days: list[str] = field(default_factory=list)  # the landing dates it committed rows to

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@contextmanager
def consumer_lock(domain: str) -> Iterator[None]:
    folder = get_paths().stream_locks
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{domain}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StreamBusy(f"another process is consuming {stream_name(domain)} into Bronze") from exc
        yield


def consumer_config(batch_size: int) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=DURABLE,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_S,
        max_ack_pending=batch_size,
        max_deliver=-1,
        description="stream -> Bronze; the committed position is kept in the Bronze tables",
    )


async def _riding_out(call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, again while the server is unreachable (a restart: the client reconnects)."""
    deadline = asyncio.get_running_loop().time() + RECONNECT_PATIENCE_S
    while True:
        try:
            return await call()
        except NotFoundError:
            raise
        except (nats.errors.Error, OSError, TimeoutError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


@dataclass(frozen=True)
class _Run:
    messages: list[StreamMessage]  # the stream's messages ``start..end`` it still holds, in order
    delivered: list[Msg]  # what the consumer delivered, to ack once they are committed
    end: int  # the last sequence this run covers; ``start - 1`` when nothing waits


class _Batches:
    """Contiguous runs of a domain stream's messages, from a starting sequence."""

    def __init__(self, js: JetStreamContext, domain: str, batch_size: int) -> None:
        self.js, self.domain, self.batch_size = js, domain, batch_size
        self.stream = stream_name(domain)
        self.sub: JetStreamContext.PullSubscription | None = None

    async def open(self) -> None:
        await ensure_domain_stream(self.js, self.domain)
        await self.js.add_consumer(self.stream, consumer_config(self.batch_size))
        self.sub = await self.js.pull_subscribe_bind(durable=DURABLE, stream=self.stream)

    async def _fetch(self) -> list[Msg]:
        assert self.sub is not None
        sub = self.sub

        async def fetch() -> list[Msg]:
            try:
                return await sub.fetch(self.batch_size, timeout=FETCH_WAIT_S)
            except TimeoutError:  # nothing waits (fetch raises nats' TimeoutError or asyncio's)
                return []

        return await _riding_out(fetch)

    async def last_seq(self) -> int:
        return (await _riding_out(lambda: self.js.stream_info(self.stream))).state.last_seq

    async def waited_s(self, seq: int) -> float:
        """Seconds since the stream stored message ``seq`` (0 when it holds none there)."""
        try:
            raw = await _riding_out(lambda: self.js.get_msg(self.stream, seq))
        except NotFoundError:
            return 0.0
        stored = raw.time or dt.datetime.now(dt.UTC)
        return max(0.0, (dt.datetime.now(dt.UTC) - stored).total_seconds())

    async def next(self, start: int) -> _Run:
        delivered = await self._fetch()
        fresh = {m.metadata.sequence.stream: m for m in delivered if m.metadata.sequence.stream >= start}
        state = (await _riding_out(lambda: self.js.stream_info(self.stream))).state
        if not fresh and state.last_seq < start:
            return _Run([], delivered, start - 1)
        end = max(fresh) if fresh else min(state.last_seq, start + self.batch_size - 1)
        messages: list[StreamMessage] = []
        for seq in range(max(start, state.first_seq), end + 1):  # below first_seq: gone by the limits
            if seq in fresh:
                msg = fresh[seq]
                messages.append(StreamMessage(seq, msg.data, msg.metadata.timestamp))
                continue
            try:  # not delivered to us: held by a killed process, or lost with a connection
                raw = await _riding_out(lambda seq=seq: self.js.get_msg(self.stream, seq))
            except NotFoundError:  # deleted from the stream
                continue
            messages.append(StreamMessage(seq, raw.data or b"", raw.time or dt.datetime.now(dt.UTC)))
        return _Run(messages, delivered, end)


async def _settle(client: Client, delivered: list[Msg], nak: bool = False) -> None:
    """Ack (or nak) delivered messages, best effort: one whose ack is lost is redelivered and
    recognised as committed."""
    try:
        for msg in delivered:
            await (msg.nak() if nak else msg.ack())
        await client.flush(timeout=5)
    except (nats.errors.Error, OSError, TimeoutError):
        pass


async def _ingest(
    domain: str, batch_size: int, progress: Callable[[IngestSummary], None] | None
) -> IngestSummary:
    summary = IngestSummary(domain)
    catalog = load_catalog()
    client = await connect()
    try:
        batches = _Batches(client.jetstream(), domain, batch_size)
        await batches.open()
        try:
            start = resume_seq(catalog, domain)
        except Exception as exc:
            raise StreamCommitFailed(
                f"{stream_name(domain)}: the lakehouse is unavailable ({type(exc).__name__}: {exc}); "
                "nothing was consumed or committed, the stream keeps every message"
            ) from exc
        while True:
            run = await batches.next(start)
            if not run.messages:
                await _settle(client, run.delivered)  # redeliveries of committed messages
                summary.removed += run.end - start + 1
                if run.end < start:
                    break
                start = run.end + 1
                continue
            try:
                commit = await asyncio.to_thread(
                    commit_batch, catalog, domain, run.messages, dt.datetime.now(dt.UTC)
                )
            except Exception as exc:
                await _settle(client, run.delivered, nak=True)
                raise StreamCommitFailed(
                    f"{stream_name(domain)}: the Iceberg commit of sequences {start}-{run.end} failed "
                    f"({type(exc).__name__}: {exc}); that batch was not committed and not acknowledged, "
                    f"the stream keeps it and the next run resumes at sequence {start}"
                ) from exc
            kill_point("stream-after-commit")
            await _settle(client, run.delivered)
            summary.batches += 1
            summary.consumed += len(run.messages)
            summary.bronze += commit.bronze
            summary.quarantined += commit.quarantined
            summary.already_committed += commit.already_committed
            summary.first_seq = summary.first_seq or run.messages[0].seq
            summary.days = sorted(set(summary.days) | {d.isoformat() for d in commit.days})
            summary.removed += run.end - start + 1 - len(run.messages)
            start = run.end + 1
            if progress:
                progress(summary)
        summary.committed_seq = start - 1
        summary.lag = max(0, await batches.last_seq() - summary.committed_seq)
        if summary.lag:
            summary.lag_s = round(await batches.waited_s(summary.committed_seq + 1), 3)
    finally:
        await client.close()
    return summary


@dataclass(frozen=True)
class Backlog:
    """Where a domain's stream and its Bronze stand."""

    committed_seq: int  # the last sequence both stream Bronze tables committed
    last_seq: int  # the stream's last sequence (0 before the stream exists)

    @property
    def waiting(self) -> int:
        return max(0, self.last_seq - self.committed_seq)


def stream_backlog(domain: str, *, timeout_s: float = 2.0) -> Backlog:
    """The backlog, asked once (no reconnecting): raises ``OSError`` or a NATS error when the
    server does not answer."""

    async def last_seq() -> int:
        async def quiet(_: Exception) -> None:  # the caller reports the failure
            return None

        client = await asyncio.wait_for(
            nats.connect(
                get_nats_url(),
                connect_timeout=timeout_s,
                allow_reconnect=False,
                max_reconnect_attempts=1,  # 0 would retry forever
                error_cb=quiet,
            ),
            2 * timeout_s,
        )
        try:
            return (await client.jetstream().stream_info(stream_name(domain))).state.last_seq
        except NotFoundError:
            return 0
        finally:
            await client.close()

    return Backlog(resume_seq(load_catalog(), domain) - 1, asyncio.run(last_seq()))


def ingest_until_idle(
    domain: str, *, batch_size: int = BATCH_SIZE, progress: Callable[[IngestSummary], None] | None = None
) -> IngestSummary:
    """Consume ``domain``'s stream into its stream Bronze until nothing waits."""
    with consumer_lock(domain):
        return asyncio.run(_ingest(domain, batch_size, progress))
