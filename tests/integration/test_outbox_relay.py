"""The operational stores and their outbox on a real PostgreSQL, and the relay onto a real NATS:
a change and its event commit together or not at all, a service rerun writes nothing twice, and
a relay killed between the publish and the mark loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import psycopg
import pytest

from platform_resources.core.settings import get_ods_url
from platform_resources.operational.services import write_events
from tests.integration.conftest import BIN, REPO, run_command
from tests.integration.test_event_bus import _stored_messages as stored_messages
from tests.integration.test_stream_bronze import _ingest, _rows, _summary

SERVICE_TABLES = {
    "orders": "orders.orders",
    "customers": "customers.customers",
    "payments": "payments.payments",
    "inventory": "inventory.movements",
}


def _json(done) -> dict:
    return json.loads(done.stdout.strip().splitlines()[-1])


def _one(query: str, *params) -> object:
    with psycopg.connect(get_ods_url()) as conn:
        return conn.execute(query, params).fetchone()[0]


@pytest.mark.parametrize("domain", sorted(SERVICE_TABLES))
def test_each_service_writes_its_change_and_its_event_together_once(servers: Path, domain: str) -> None:
    first = _json(
        run_command(
            ["meshhouse", "service", "write", "--domain", domain, "--events", "120", "--json"], servers
        )
    )
    assert first["written"] == 120
    assert _one(f"SELECT count(*) FROM {domain}.outbox") == 120
    assert _one(f"SELECT count(DISTINCT aggregateid) FROM {domain}.outbox") > 1
    assert _one(f"SELECT count(*) FROM {SERVICE_TABLES[domain]}") > 0
    again = _json(
        run_command(
            ["meshhouse", "service", "write", "--domain", domain, "--events", "120", "--json"], servers
        )
    )
    assert (again["written"], again["already_recorded"]) == (0, 120)
    assert _one(f"SELECT count(*) FROM {domain}.outbox") == 120


def test_a_change_that_fails_leaves_no_event_behind(servers: Path) -> None:
    run_command(["meshhouse", "service", "write", "--domain", "orders", "--events", "10", "--json"], servers)
    order_id = _one("SELECT order_id FROM orders.orders LIMIT 1")
    broken = {  # a second order.created for an existing order: the insert violates its key
        "eventId": "0b9a2b8e-7f00-4b7a-9a55-3e7c2f1d0a11",
        "eventType": "order.created",
        "timestamp": "2026-12-06T10:00:00.000Z",
        "data": {
            "payload": {"orderId": order_id, "userId": "u", "items": [], "totalAmount": 1, "currency": "EUR"}
        },
    }
    with pytest.raises(psycopg.errors.UniqueViolation):
        write_events("orders", [json.dumps(broken)])
    assert _one("SELECT count(*) FROM orders.outbox WHERE id = %s", broken["eventId"]) == 0


def test_a_relay_killed_between_publish_and_mark_sent_loses_and_duplicates_nothing(servers: Path) -> None:
    run_command(["meshhouse", "service", "write", "--domain", "orders", "--events", "700", "--json"], servers)
    killed = _relay(servers, MESHHOUSE_KILL_AT="relay-after-publish")
    assert killed.returncode == -signal.SIGKILL
    assert stored_messages("orders") == 500  # the first batch reached the stream...
    assert _one("SELECT count(*) FROM orders.outbox WHERE sent_at IS NULL") == 700  # ...but is not marked

    relayed = _json(
        run_command(["meshhouse", "stream", "relay", "--domain", "orders", "--until-idle", "--json"], servers)
    )
    assert (relayed["relayed"], relayed["duplicates"], relayed["unsent"]) == (700, 500, 0)
    assert stored_messages("orders") == 700

    assert _summary(_ingest(servers))["bronze"] == 700
    events = _rows("orders.bronze_stream_events").sort("line_number")
    with psycopg.connect(get_ods_url()) as conn:
        outbox = conn.execute("SELECT id::text, aggregateid FROM orders.outbox ORDER BY seq").fetchall()
    assert sorted(events["event_id"]) == sorted(event_id for event_id, _ in outbox)
    # per aggregate, the stream holds the events in the order the service committed them
    stream_order = {event_id: i for i, event_id in enumerate(events["event_id"])}
    by_order: dict[str, list[int]] = {}
    for event_id, order_id in outbox:
        by_order.setdefault(order_id, []).append(stream_order[event_id])
    assert all(positions == sorted(positions) for positions in by_order.values())
    assert any(len(positions) > 1 for positions in by_order.values())


def _relay(home: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "meshhouse"), "stream", "relay", "--domain", "orders", "--until-idle", "--json"],
        cwd=REPO,
        env={**os.environ, "MESHHOUSE_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
