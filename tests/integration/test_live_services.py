"""`meshhouse service run` (what `make run` starts beside Dagster), on real PostgreSQL and NATS:
the four services emit events as their time comes, each relayed onto its domain's stream once,
and a NATS outage in the middle costs ticks, not events."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg

from platform_resources.core.settings import get_ods_url
from platform_resources.operational.servers import embedded_nats
from platform_resources.operational.services import SERVICE_DOMAINS
from platform_resources.stream.bus import connect, stream_name
from tests.integration.conftest import BIN, REPO, run_command

#: Dense enough that every service emits within seconds, whatever the hour (nights are quieter).
EVENTS_PER_DAY = 300_000


def _stream_counts() -> dict[str, int]:
    async def counts() -> dict[str, int]:
        client = await connect()
        try:
            js = client.jetstream()
            return {d: (await js.stream_info(stream_name(d))).state.messages for d in SERVICE_DOMAINS}
        finally:
            await client.close()

    return asyncio.run(counts())


def _outbox(domain: str) -> tuple[int, int]:
    """(rows, rows still unsent) of the domain's outbox."""
    with psycopg.connect(get_ods_url()) as conn:
        row = conn.execute(f"SELECT count(*), count(*) FILTER (WHERE sent_at IS NULL) FROM {domain}.outbox")
        return row.fetchone()  # type: ignore[return-value]


def _row_changes(schema: str, table: str) -> int:
    with psycopg.connect(get_ods_url()) as conn:
        row = conn.execute(
            "SELECT n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE schemaname = %s AND relname = %s",
            (schema, table),
        ).fetchone()
        return int(row[0])  # type: ignore[index]


def test_the_live_services_emit_relay_and_ride_out_a_nats_outage(servers: Path) -> None:
    live = subprocess.Popen(
        [
            str(BIN / "meshhouse"),
            "service",
            "run",
            "--events-per-day",
            str(EVENTS_PER_DAY),
            "--seconds",
            "24",
            "--report-every",
            "1",
            "--json",
        ],
        cwd=REPO,
        env={**os.environ, "MESHHOUSE_HOME": str(servers)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert live.stdout is not None
    while "relayed" not in (line := live.stdout.readline()) or " 0 relayed" in line:
        assert line, "the live services stopped before relaying anything"
    embedded_nats().stop(signal.SIGKILL)  # the bus goes away for a while, services emitting
    time.sleep(5)
    run_command(["meshhouse", "servers", "up"], servers)
    out, err = live.communicate(timeout=120)
    assert live.returncode == 0, out[-2000:] + err[-2000:]
    summary = json.loads(out.strip().splitlines()[-1])  # it carried on through the outage
    in_streams = _stream_counts()
    for domain in SERVICE_DOMAINS:
        rows, unsent = _outbox(domain)
        assert summary["written"][domain] == rows > 0, domain
        # every event is on the bus once (customers' row changes besides, one per insert or update)
        assert unsent == 0, domain
        expected = rows + (_row_changes("customers", "customers") if domain == "customers" else 0)
        assert in_streams[domain] == expected, domain
