"""Change data capture of the customers table on a real PostgreSQL (logical replication) onto a
real NATS: Debezium-shaped change events, one per committed row change, none lost or repeated
when the capture is killed before the slot advances and PostgreSQL restarts in between."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import psycopg

from platform_resources.core.settings import get_ods_url
from platform_resources.operational.servers import embedded_postgres
from tests.integration.conftest import BIN, REPO, run_command
from tests.integration.test_event_bus import _stored_messages as stored_messages
from tests.integration.test_stream_bronze import _rows, _summary


def _write_customers(home: Path, events: int) -> None:
    run_command(["meshhouse", "service", "write", "--domain", "customers", "--events", str(events)], home)


def _cdc(home: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "meshhouse"), "stream", "cdc", "--until-idle", "--json"],
        cwd=REPO,
        env={**os.environ, "MESHHOUSE_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _row_changes() -> tuple[int, int]:
    """(inserted, updated) rows of customers.customers, as PostgreSQL's statistics count them."""
    with psycopg.connect(get_ods_url()) as conn:
        return conn.execute(
            "SELECT n_tup_ins, n_tup_upd FROM pg_stat_user_tables "
            "WHERE relid = 'customers.customers'::regclass"
        ).fetchone()


def test_cdc_survives_a_kill_before_the_slot_advances_and_a_postgres_restart(servers: Path) -> None:
    _write_customers(servers, 200)
    killed = _cdc(servers, MESHHOUSE_KILL_AT="cdc-after-publish")
    assert killed.returncode == -signal.SIGKILL
    published_before_kill = stored_messages("customers")
    assert published_before_kill > 0

    embedded_postgres().stop()  # the slot keeps its position (never advanced) across the restart
    run_command(["meshhouse", "servers", "up"], servers)
    _write_customers(servers, 300)  # 100 more changes while the capture was down

    resumed = _summary(_cdc(servers))
    assert resumed["duplicates"] == published_before_kill  # the replayed batch, dropped by the stream
    inserted, updated = _row_changes()
    assert inserted + updated == stored_messages("customers")  # one event per row change, none twice
    again = _summary(_cdc(servers))
    assert again["changes"] == 0

    assert _summary(_ingest_customers(servers))["bronze"] == inserted + updated
    events = [json.loads(raw) for raw in _rows("customers.bronze_stream_events").sort("line_number")["raw"]]
    ops = [event["data"]["payload"]["op"] for event in events]
    assert (ops.count("c"), ops.count("u")) == (inserted, updated)
    update = next(e["data"]["payload"] for e in events if e["data"]["payload"]["op"] == "u")
    assert update["before"]["user_id"] == update["after"]["user_id"] and update["before"] != update["after"]
    assert set(update["source"]) >= {"lsn", "ts_ms", "schema", "table"} and "ts_ms" in update
    with psycopg.connect(get_ods_url()) as conn:
        user_id = update["after"]["user_id"]
        current = conn.execute(
            "SELECT email FROM customers.customers WHERE user_id = %s", (user_id,)
        ).fetchone()
    last = [
        e["data"]["payload"]["after"]
        for e in events
        if (e["data"]["payload"]["after"] or {}).get("user_id") == user_id
    ]
    assert last[-1]["email"] == current[0]  # the last change of the row is the row as it is


def _ingest_customers(home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "meshhouse"), "stream", "ingest", "--domain", "customers", "--until-idle", "--json"],
        cwd=REPO,
        env={**os.environ, "MESHHOUSE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
