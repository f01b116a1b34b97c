"""Nothing personal leaks through the orchestrator: after runs that fail on PII-bearing rows,
the Dagster instance (event log, check failure samples, error messages, compute logs) and the
command's own output hold tokens only.

The rows carry personal data where the contract expects none (an e-mail address typed into
the country field, a phone number as the referrer) as well as where it does (userId, email,
names, IP address, a recipient's name and street), so the contract check fails on the very
values that must not be shown. What counts as personal is read from the landed lines here.
"""

import datetime as dt
import os
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from platform_resources.contracts.model import CONTRACT_CHECK
from platform_resources.core.redaction import EMAIL_SHAPE, PHONE_SHAPE, REDACTED
from platform_resources.mesh.workspace import prepare_dagster_home
from platform_resources.privacy.pii_scan import (
    files_under,
    scan_content,
    scan_files,
    value_pattern,
)
from tests.conftest import envelope, order_created, write_landing
from tests.integration.conftest import BIN, REPO

pytestmark = pytest.mark.integration
DAY = dt.date(2026, 11, 19)
PHONE = "+44 20 7946 0958"


def _registrations(count: int) -> list[dict]:
    """Registrations, every other one with its e-mail address as its country (breaks the contract)."""
    events = []
    for i in range(count):
        email = f"grace.hopper{i}@example.com"
        payload = {
            "userId": f"user-priv-{i:04d}",
            "email": email,
            "firstName": "Grace",
            "lastName": f"Hopperson{i}",
            "ipAddress": f"10.9.{i}.7",
            "registrationSource": "web",
            "country": email if i % 2 else "DE",
        }
        metadata = {"referrer": PHONE} if i % 3 == 0 else {}
        ts = f"{DAY}T10:{i % 60:02d}:00Z"
        events.append(envelope("user.registered", payload, ts=ts, metadata=metadata))
    return events


def _personal_values(events: list[dict]) -> set[str]:
    values = {PHONE}
    for event in events:
        payload = event["data"]["payload"]
        values.add(event["userId"])
        for field in ("userId", "email", "lastName", "ipAddress"):
            if field in payload:
                values.add(payload[field])
        address = event["data"]["metadata"].get("shippingAddress")
        if address:
            values |= {address["recipientName"], address["street"]}
    return values


def _materialize(location: str, home: Path, dagster_home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MESHHOUSE_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    command = [str(BIN / "dagster"), "asset", "materialize", "-m", location, "--select", "*"]
    return subprocess.run(
        [*command, "--partition", DAY.isoformat()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_runs_failing_on_personal_rows_leave_no_raw_personal_data_in_the_instance(home, tmp_path) -> None:
    registrations = _registrations(40)
    orders = [
        order_created(f"o-priv-{i}", user_id=f"user-priv-{i:04d}", ts=f"{DAY}T11:00:00Z") for i in range(5)
    ]
    write_landing(home, DAY, "part-1.jsonl", registrations, domain="customers")
    write_landing(home, DAY, "part-1.jsonl", [*orders, b'{"eventId": "grace.hopper1@example.com"'])
    dagster_home = prepare_dagster_home(tmp_path / "dagster_home")

    customers = _materialize("domains.customers.definitions", home, dagster_home)
    orders_run = _materialize("domains.orders.definitions", home, dagster_home)

    assert customers.returncode != 0, "the contract check was to fail the customers run"
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
        assert sorted(r.status.value for r in runs) == ["FAILURE", "SUCCESS"], orders_run.stderr[-2000:]
        failed = [
            e
            for r in runs
            for e in instance.all_logs(r.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
            if not e.dagster_event.event_specific_data.passed
        ]
        evaluations = {
            (data.asset_key.to_user_string(), data.check_name): data
            for data in (e.dagster_event.event_specific_data for e in failed)
        }
        assert ("customers/silver/customer_events", CONTRACT_CHECK) in evaluations
        metadata = evaluations["customers/silver/customer_events", CONTRACT_CHECK].metadata
        # the sample still says which rule broke, and that the value was personal
        assert "country" in metadata["failure_sample"].value and REDACTED in metadata["failure_sample"].value
        compute_logs = [p for p in files_under(Path(instance.root_directory)) if p.suffix in (".out", ".err")]
    assert compute_logs, "the runs' steps wrote compute logs"

    pattern = value_pattern(_personal_values([*registrations, *orders]), shapes=[EMAIL_SHAPE, PHONE_SHAPE])
    assert scan_files(files_under(dagster_home), pattern) == []
    for done in (customers, orders_run):
        output = (done.stdout + done.stderr).encode()
        assert sorted(str(f) for f in scan_content("command output", output, pattern)) == []
