"""Stream -> Bronze exactly once (`meshhouse stream ingest --until-idle`), on real NATS and real
Iceberg tables: line-by-line accounting of the malformed corpus, republishing changes nothing,
and no loss or duplicate when the consumer is killed after its commit, NATS restarts mid-stream
or the lakehouse is unavailable for a while."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import polars as pl

from platform_resources.core.settings import get_paths
from platform_resources.ingest.envelope import MAX_EVENT_BYTES
from platform_resources.operational.servers import embedded_nats
from platform_resources.storage.catalog import load_catalog
from platform_resources.stream.bus import connect, stream_name
from tests.conftest import envelope
from tests.integration.conftest import BIN, REPO, run_command
from tests.integration.test_orders_pipeline import MALFORMED

EVENTS, QUARANTINE = "orders.bronze_stream_events", "orders.bronze_stream_quarantine"


def _events_file(path: Path, n: int, extra: list[bytes] = ()) -> list[bytes]:
    lines = [json.dumps(envelope("order.created", {"orderId": f"o-{i}"})).encode() for i in range(n)]
    lines += list(extra)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return lines


def _publish(home: Path, file: Path) -> dict:
    done = run_command(["meshhouse", "stream", "publish", "--domain", "orders", str(file), "--json"], home)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ingest(home: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "meshhouse"), "stream", "ingest", "--domain", "orders", "--until-idle", "--json"],
        cwd=REPO,
        env={**os.environ, "MESHHOUSE_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _summary(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rows(identifier: str) -> pl.DataFrame:
    return load_catalog().load_table(identifier).scan().to_polars()


def _snapshot(identifier: str) -> int | None:
    return load_catalog().load_table(identifier).metadata.current_snapshot_id


def _publish_raw(messages: list[bytes]) -> None:
    """Messages no file could carry (a newline inside, a size no line should have)."""

    async def publish() -> None:
        client = await connect()
        try:
            js = client.jetstream()
            for i, data in enumerate(messages):
                await js.publish("events.orders.raw", data, headers={"Nats-Msg-Id": f"raw-{i}"})
        finally:
            await client.close()

    asyncio.run(publish())


def _assert_exactly_once(published: int) -> None:
    events, quarantine = _rows(EVENTS), _rows(QUARANTINE)
    sequences = pl.concat([events["line_number"], quarantine["line_number"]])
    assert sequences.len() == published  # nothing lost, nothing twice
    assert sequences.n_unique() == published
    assert events["event_id"].n_unique() == events.height


def test_the_malformed_corpus_is_accounted_line_by_line_and_a_republish_changes_nothing(
    servers: Path, tmp_path: Path
) -> None:
    file = tmp_path / "events.jsonl"
    good = _events_file(file, 40, [*MALFORMED])
    oversized = json.dumps(envelope("order.created", {"blob": "x" * MAX_EVENT_BYTES})).encode()
    multi_line = json.dumps(envelope("order.created", {}), indent=1).encode()
    assert _publish(servers, file)["stored"] == len(good)
    _publish_raw([oversized, multi_line])

    summary = _summary(_ingest(servers))
    assert (summary["consumed"], summary["bronze"], summary["quarantined"]) == (50, 40, 10)
    assert summary["lag"] == 0
    quarantine = _rows(QUARANTINE)
    reasons = dict(zip(quarantine["raw"], quarantine["reason"], strict=True))
    assert {raw: reasons[raw] for raw in MALFORMED} == MALFORMED  # each once, with its reason
    assert reasons[oversized].startswith("oversized: ")
    lines_in_message = len(multi_line.splitlines())
    assert reasons[multi_line] == f"multi-line message: {lines_in_message} lines in one message"
    assert set(quarantine["source_file"]) == {f"nats://{stream_name('orders')}"}
    events = _rows(EVENTS)
    assert events.height == 40 and set(events["event_type"]) == {"order.created"}
    summary_props = load_catalog().load_table(EVENTS).current_snapshot().summary.additional_properties
    assert (summary_props["meshhouse.stream.first-seq"], summary_props["meshhouse.stream.last-seq"]) == (
        "1",
        "50",
    )

    snapshots = (_snapshot(EVENTS), _snapshot(QUARANTINE))
    assert _publish(servers, file)["duplicates"] == len(good)  # the same file again, later
    again = _summary(_ingest(servers))
    assert (again["consumed"], again["batches"]) == (0, 0)
    assert (_snapshot(EVENTS), _snapshot(QUARANTINE)) == snapshots


def test_a_consumer_killed_after_its_commit_and_before_its_ack_duplicates_nothing(
    servers: Path, tmp_path: Path
) -> None:
    file = tmp_path / "events.jsonl"
    _events_file(file, 1200, [b"{not json"])
    _publish(servers, file)
    for point in ("stream-between-tables", "stream-after-commit"):
        killed = _ingest(servers, MESHHOUSE_KILL_AT=point)
        assert killed.returncode == -signal.SIGKILL
    assert _rows(EVENTS).height == 500  # the first batch was committed before the kill
    summary = _summary(_ingest(servers))  # its messages were never acked: the stream has them
    assert summary["bronze"] + summary["quarantined"] == 1201 - 500
    _assert_exactly_once(1201)


def test_ingestion_rides_out_a_nats_restart_mid_stream(servers: Path, tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    _events_file(file, 6000)
    _publish(servers, file)
    env = {**os.environ, "MESHHOUSE_HOME": str(servers)}
    ingest = subprocess.Popen(
        [str(BIN / "meshhouse"), "stream", "ingest", "--domain", "orders", "--until-idle", "--json"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert ingest.stdout is not None
    assert "batch 1:" in ingest.stdout.readline()  # consuming
    embedded_nats().stop(signal.SIGKILL)
    run_command(["meshhouse", "servers", "up"], servers)
    out, err = ingest.communicate(timeout=300)
    assert ingest.returncode == 0, out[-2000:] + err[-2000:]
    assert json.loads(out.strip().splitlines()[-1])["lag"] == 0
    _assert_exactly_once(6000)


def test_while_the_lakehouse_is_unavailable_the_stream_holds_the_backlog(
    servers: Path, tmp_path: Path
) -> None:
    file = tmp_path / "events.jsonl"
    _events_file(file, 300)
    _publish(servers, file)
    load_catalog().create_namespace_if_not_exists("orders")  # the catalog exists before the outage
    outage = sqlite3.connect(get_paths().catalog_db, timeout=1)
    outage.execute("BEGIN IMMEDIATE")  # the catalog takes no commit (it still answers reads)
    try:
        refused = _ingest(servers)
    finally:
        outage.rollback()
        outage.close()
    assert refused.returncode == 1
    assert "was not committed and not acknowledged, the stream keeps it" in refused.stderr
    summary = _summary(_ingest(servers))
    assert (summary["consumed"], summary["bronze"]) == (300, 300)
    _assert_exactly_once(300)
