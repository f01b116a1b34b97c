"""`meshhouse stream check` on a home of its own (real PostgreSQL, NATS, Iceberg and Dagster):
every event the services write reaches stream Bronze and Silver once, with the relay and a
consumer SIGKILLed mid-way; the latency figures are reported (measured there, not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import run_command


def test_the_whole_path_loses_and_duplicates_nothing_through_a_relay_and_a_consumer_kill(
    servers: Path,
) -> None:
    check = ["meshhouse", "stream", "check", "--events", "240", "--rate", "60", "--json"]
    done = run_command(check, servers, without_dagster_home=True)  # its runs go to the home's instance
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    print(summary)  # shown with a failure
    assert summary["faults"] == {"relay_killed": True, "consumer_killed": True}
    assert (summary["produced"], summary["bronze"], summary["silver"]) == (240, 240, 240)
    assert (summary["lost"], summary["duplicated"]) == (0, 0)
    assert summary["cdc_changes"] > 0  # the customers service's writes were captured too
    assert summary["runs"]["failed"] == 0
    for target in ("silver", "gold"):
        latency = summary["latency_s"][target]
        assert 0 < latency["p50"] <= latency["p99"]
