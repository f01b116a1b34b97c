"""The stream path's benchmark, in this process: the platform from the outbox to stream Bronze
against raw JetStream publish + consume of the same messages on the same server (the limit of
this path); prints its figures as one JSON line.

``python -m bench.stream <events> <rate>`` with ``MESHHOUSE_HOME`` set (its own servers).

- Throughput: the orders service writes ``events`` events to its outbox (not timed); the relay
  then publishes them and the consumer commits them to stream Bronze: events/s = events / the
  two drains. The limit publishes the same envelopes to a stream of its own (awaiting every
  ack) and consumes them with a durable pull consumer acking each message.
- Latency: ``events`` more, written at ``rate`` per second while relay and consumer loop: from
  each event's outbox commit to the stream Bronze commit holding it. The limit: the same
  messages published at the same rate, from publish to receipt by a pull consumer.
"""

import asyncio
import datetime as dt
import json
import sys
import threading
import time

import numpy as np
import polars as pl
import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from platform_resources.core.settings import get_ods_url
from platform_resources.operational.outbox import recorded_at
from platform_resources.operational.relay import relay_until_idle
from platform_resources.operational.servers import start_embedded_servers
from platform_resources.operational.services import first_events_of_day, write_events
from platform_resources.storage.iceberg_io import read_table
from platform_resources.stream.bus import connect
from platform_resources.stream.consumer import ingest_until_idle
from platform_resources.stream.stream_bronze import stream_tables

DOMAIN = "orders"
RAW_STREAM = "BENCH_RAW"
FETCH = 500


def _lines(events: int, seed: int) -> list[str]:
    day = dt.datetime.now(dt.UTC).date()
    return first_events_of_day(DOMAIN, day, events, seed)


def _percentiles(seconds: list[float]) -> dict[str, float]:
    return {f"p{q}": round(float(np.percentile(seconds, q)), 3) for q in (50, 90, 99)}


def platform_throughput(lines: list[str]) -> dict[str, float]:
    write_events(DOMAIN, lines)
    started = time.perf_counter()
    relay_until_idle(DOMAIN)
    relayed = time.perf_counter()
    consumed = ingest_until_idle(DOMAIN).consumed
    done = time.perf_counter()
    assert consumed == len(lines), f"consumed {consumed} of {len(lines)}"
    return {
        "events_per_s": len(lines) / (done - started),
        "relay_events_per_s": len(lines) / (relayed - started),
        "ingest_events_per_s": len(lines) / (done - relayed),
        "seconds": done - started,
    }


def platform_latency(lines: list[str], rate: float) -> dict[str, float]:
    written = threading.Event()

    def write() -> None:
        per_tick = max(1, round(rate / 10))
        for i in range(0, len(lines), per_tick):
            write_events(DOMAIN, lines[i : i + per_tick])
            time.sleep(0.1)
        written.set()

    writer = threading.Thread(target=write)
    writer.start()
    while True:
        done = written.is_set()
        relay_until_idle(DOMAIN)
        ingest_until_idle(DOMAIN)
        if done:
            break
    writer.join()
    ids = [json.loads(line)["eventId"] for line in lines]
    bronze = read_table(stream_tables(DOMAIN)[0]).select("event_id", "ingested_at").collect()
    bronze = bronze.filter(pl.col("event_id").is_in(ids))
    with psycopg.connect(get_ods_url()) as conn:
        committed = recorded_at(conn, DOMAIN, ids)
    latencies = [at.timestamp() - committed[i] for i, at in bronze.iter_rows()]
    assert len(latencies) == len(ids), f"{len(latencies)} of {len(ids)} in stream Bronze"
    return _percentiles(latencies)


async def _raw(lines: list[bytes], rate: float | None) -> dict:
    """Publish ``lines`` to the raw stream (paced at ``rate`` if given) while a pull consumer
    receives and acks them; the seconds taken and each message's publish-to-receipt latency."""
    client = await connect()
    js = client.jetstream()
    name = f"{RAW_STREAM}_{len(lines)}_{int(rate or 0)}"
    subject = f"bench.raw.{name.lower()}"
    await js.add_stream(
        StreamConfig(name=name, subjects=[subject], storage=StorageType.FILE, duplicate_window=7200)
    )
    consumer = ConsumerConfig(durable_name="raw", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=FETCH)
    await js.add_consumer(name, consumer)
    sub = await js.pull_subscribe_bind(durable="raw", stream=name)
    latencies: list[float] = []

    async def publish() -> None:
        futures = []
        for i, line in enumerate(lines):
            body = json.dumps({"sent": time.time(), "line": line.decode()}).encode()
            futures.append(
                await js.publish_async(subject, body, headers={"Nats-Msg-Id": str(i)}, wait_stall=30)
            )
            if rate and i % max(1, round(rate / 10)) == 0:
                await asyncio.sleep(0.1)
        for future in futures:
            await future

    async def consume() -> None:
        while len(latencies) < len(lines):
            try:
                msgs = await sub.fetch(FETCH, timeout=1)
            except TimeoutError:
                continue
            for msg in msgs:
                latencies.append(time.time() - json.loads(msg.data)["sent"])
                await msg.ack()

    started = time.perf_counter()
    await asyncio.gather(publish(), consume())
    seconds = time.perf_counter() - started
    await client.close()
    return {"seconds": seconds, "latencies": latencies}


def raw_throughput(lines: list[str]) -> dict[str, float]:
    figures = asyncio.run(_raw([line.encode() for line in lines], None))
    return {"events_per_s": len(lines) / figures["seconds"], "seconds": figures["seconds"]}


def raw_latency(lines: list[str], rate: float) -> dict[str, float]:
    return _percentiles(asyncio.run(_raw([line.encode() for line in lines], rate))["latencies"])


def main() -> None:
    events, rate = int(sys.argv[1]), float(sys.argv[2])
    start_embedded_servers()
    drained, paced = _lines(events, seed=1), _lines(events, seed=2)
    platform = {**platform_throughput(drained), "latency_s": platform_latency(paced, rate)}
    limit = {**raw_throughput(drained), "latency_s": raw_latency(paced, rate)}
    print(
        json.dumps(
            {
                "events": events,
                "rate": rate,
                "platform": platform,
                "limit": limit,
                "ratio_to_limit": platform["events_per_s"] / limit["events_per_s"],
            }
        )
    )


if __name__ == "__main__":
    main()
