"""The event-driven half's servers on the embedded default (`meshhouse servers up`: PostgreSQL
with logical decoding, NATS JetStream fsyncing every write) and `meshhouse stream publish`."""

from __future__ import annotations

import asyncio
import json
import signal
import urllib.request
from pathlib import Path

import psycopg

from platform_resources.core.settings import get_nats_url, get_ods_url
from platform_resources.operational.servers import embedded_nats
from platform_resources.stream.bus import connect, stream_name
from tests.conftest import envelope
from tests.integration.conftest import run_command
from tests.integration.test_orders_pipeline import MALFORMED


def _stored_messages(domain: str) -> int:
    async def count() -> int:
        client = await connect()
        try:
            return (await client.jetstream().stream_info(stream_name(domain))).state.messages
        finally:
            await client.close()

    return asyncio.run(count())


def _publish(home: Path, domain: str, file: Path) -> dict:
    done = run_command(["meshhouse", "stream", "publish", "--domain", domain, str(file), "--json"], home)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_servers_up_starts_logical_postgres_and_fsyncing_jetstream_once(servers: Path) -> None:
    with psycopg.connect(get_ods_url(), autocommit=True) as conn:
        assert conn.execute("SHOW wal_level").fetchone() == ("logical",)
        conn.execute("SELECT pg_create_logical_replication_slot('probe', 'test_decoding')")
        conn.execute("SELECT pg_drop_replication_slot('probe')")
    config = (servers / "nats" / "nats.conf").read_text().splitlines()
    monitor = next(line.split()[1] for line in config if line.startswith("http"))
    with urllib.request.urlopen(f"http://{monitor}/varz", timeout=5) as response:
        assert json.load(response)["jetstream"]["config"]["sync_always"] is True
    urls = (get_ods_url(), get_nats_url())
    pid = embedded_nats().pid()
    run_command(["meshhouse", "servers", "up"], servers)  # a second `up` keeps the running servers
    assert (get_ods_url(), get_nats_url(), embedded_nats().pid()) == (*urls, pid)


def test_a_file_published_twice_is_stored_once_and_survives_a_server_crash(
    servers: Path, tmp_path: Path
) -> None:
    good = [json.dumps(envelope("order.created", {"orderId": f"o-{i}"})).encode() for i in range(40)]
    lines = [*good, good[0], *MALFORMED]  # good[0] again: a redelivery, dropped by its eventId
    file = tmp_path / "events.jsonl"
    file.write_bytes(b"\n".join(lines) + b"\n")

    first = _publish(servers, "orders", file)
    assert first == {"domain": "orders", "lines": len(lines), "stored": len(lines) - 1, "duplicates": 1}
    again = _publish(servers, "orders", file)
    assert again["stored"] == 0 and again["duplicates"] == len(lines)
    assert _stored_messages("orders") == len(lines) - 1

    embedded_nats().stop(signal.SIGKILL)  # a crash: acknowledged messages were fsynced before the ack
    run_command(["meshhouse", "servers", "up"], servers)
    assert _stored_messages("orders") == len(lines) - 1
