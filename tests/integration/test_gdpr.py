"""Privacy on a simulated lakehouse: no raw PII past Bronze, erasure of one customer, portability.

Every domain's simulator lands two days (with redeliveries, late and malformed lines) and
the demo runner materializes every layer. What counts as the subject's data is worked out
here from the landing files themselves, not by the code under test.
"""

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from platform_resources.cli.demo import run_demo
from platform_resources.core.redaction import EMAIL_SHAPE, PHONE_SHAPE
from platform_resources.core.settings import DEV_TOKEN_KEY
from platform_resources.ingest.landing import write_landing_file
from platform_resources.mesh.workspace import domain_module, domain_names, simulated_domains
from platform_resources.privacy.pii_scan import (
    files_under,
    scan_files,
    value_pattern,
)
from platform_resources.privacy.tokenize import token
from platform_resources.simulate.landing_faults import FaultRates
from platform_resources.storage.catalog import load_catalog, table_identifiers
from platform_resources.storage.iceberg_io import read_table

DAYS = [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
RATES = FaultRates(redelivery=0.01, late=0.02, malformed=0.01)
KEY = DEV_TOKEN_KEY.encode()


@dataclass(frozen=True)
class Lakehouse:
    home: Path
    events: list[dict]
    subject: str
    emails: frozenset[str]
    order_ids: frozenset[str]

    def subject_values(self) -> list[str]:
        """The subject's id, emails and their tokens: what must be gone after erasure."""
        raw = [self.subject, *self.emails]
        return raw + [token(self.subject, KEY)] + [token(e.lower(), KEY) for e in self.emails]


def _landed_events(home: Path) -> list[dict]:
    events = []
    for path in sorted((home / "landing").rglob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a malformed line: no values to learn from it
            if isinstance(event, dict) and isinstance(event.get("data"), dict):
                events.append(event)
    return events


def _payload(event: dict) -> dict:
    payload = event["data"].get("payload")
    return payload if isinstance(payload, dict) else {}


def _users(events: list[dict], prefix: str) -> set[str]:
    return {e.get("userId") for e in events if str(e.get("eventType", "")).startswith(prefix)} - {None}


#: The domains that hold customers' data (inventory's and platform's events hold none).
CUSTOMER_DOMAINS = ["customers", "orders", "payments", "growth"]


def _simulated_lakehouse(home: Path, instance: dg.DagsterInstance, domains: list[str]) -> Lakehouse:
    for domain in set(domains) & set(simulated_domains()):
        domain_module(domain, "simulate").simulate(DAYS, 300, 7, RATES)
    events = _landed_events(home)
    both = _users(events, "user.registered") & _users(events, "order.") & _users(events, "payment.")
    assert both, "the simulation has no customer who registered, ordered and paid"
    subject = min(both)
    mine = [e for e in events if subject in (e.get("userId"), _payload(e).get("userId"))]
    emails = frozenset(_payload(e)["email"] for e in mine if _payload(e).get("email"))
    order_ids = frozenset(_payload(e)["orderId"] for e in mine if _payload(e).get("orderId"))
    # a line cut short that mentions the subject: not an envelope, so Bronze quarantines it
    broken = f'{{"eventId": "cut", "userId": "{subject}", "data": {{"payload": {{"email": "{min(emails)}"'
    write_landing_file("customers", DAYS[0], "cut-short.jsonl", broken.encode() + b"\n")
    assert run_demo(instance, domains) == 0
    return Lakehouse(home, events, subject, emails, order_ids)


@pytest.fixture
def lakehouse(home: Path, instance: dg.DagsterInstance) -> Lakehouse:
    """Every domain, simulated and materialized."""
    return _simulated_lakehouse(home, instance, domain_names())


@pytest.fixture
def customer_lakehouse(home: Path, instance: dg.DagsterInstance) -> Lakehouse:
    """The domains that hold customers' data, simulated and materialized."""
    return _simulated_lakehouse(home, instance, CUSTOMER_DOMAINS)


def _tables() -> dict[str, pl.DataFrame]:
    return {identifier: read_table(identifier).collect() for identifier in table_identifiers(load_catalog())}


def _about(frame: pl.DataFrame, values: list[str], order_ids: frozenset[str]) -> pl.Series:
    """Rows that hold one of ``values`` in a text column, or one of the subject's orders."""
    terms = [pl.lit(False)]
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            terms += [pl.col(name).str.contains(v, literal=True).fill_null(False) for v in values]
        elif dtype == pl.Binary:
            terms += [pl.col(name).bin.contains(v.encode()).fill_null(False) for v in values]
    if "order_id" in frame.columns:
        terms.append(pl.col("order_id").is_in(sorted(order_ids)))
    return frame.select(pl.any_horizontal(terms)).to_series()


#: Lineage columns an ingestion run sets: a rerun after erasure renumbers the shortened files.
RUN_COLUMNS = ("line_number", "ingested_at")


def _row_hashes(frame: pl.DataFrame, ignore: tuple[str, ...] = ()) -> list[int]:
    return sorted(frame.drop(ignore, strict=False).hash_rows(seed=1).to_list())


def _meshhouse(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "platform_resources.cli.main", *args],
        env={**os.environ, "MESHHOUSE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _export(lakehouse: Lakehouse, role: str, out: Path) -> subprocess.CompletedProcess:
    """``meshhouse gdpr export`` of the lakehouse's subject as ``role`` into ``out``."""
    args = ("gdpr", "export", "--subject", lakehouse.subject, "--role", role, "--out", str(out))
    return _meshhouse(lakehouse.home, *args)


def test_silver_gold_and_port_files_hold_no_raw_personal_data(lakehouse: Lakehouse) -> None:
    personal = set()
    for event in lakehouse.events:
        payload, metadata = _payload(event), event["data"].get("metadata") or {}
        address = metadata.get("shippingAddress") or {}
        personal |= {event.get("userId"), payload.get("userId"), payload.get("email")}
        personal |= {payload.get("firstName"), payload.get("lastName"), metadata.get("ipAddress")}
        personal |= {address.get("recipientName"), address.get("street")}
    personal = {v for v in personal if isinstance(v, str) and v}
    assert len(personal) > 500
    pattern = value_pattern(personal, shapes=[EMAIL_SHAPE, PHONE_SHAPE])
    warehouse = lakehouse.home / "warehouse"
    raw_zone = list(warehouse.glob("*/bronze_*"))
    products = [t for t in warehouse.glob("*/*") if t.name.startswith(("silver_", "gold_"))]

    # the scan sees personal data where it is (compressed Parquet included) ...
    in_bronze = scan_files(files_under(*raw_zone), pattern)
    assert {f.value for f in in_bronze} & set(lakehouse.emails)
    assert any(f.where == "column raw" for f in in_bronze)
    # ... and finds none in any Silver or Gold table (rejects included) nor in any port file
    assert len(products) >= 25 and any(t.name == "silver_rejected" for t in products)
    ports = files_under(lakehouse.home / "exports")
    assert ports
    assert scan_files(files_under(*products) + ports, pattern) == []


def test_erasure_request_removes_one_customer_from_every_file(
    customer_lakehouse: Lakehouse, instance: dg.DagsterInstance
) -> None:
    lakehouse = customer_lakehouse
    from domains.platform.definitions import defs as platform_defs

    values = lakehouse.subject_values()
    everywhere = value_pattern(values)
    home_files = files_under(lakehouse.home)
    assert {f.value for f in scan_files(home_files, everywhere)} >= {lakehouse.subject, *lakehouse.emails}
    before = _tables()
    quarantine = before["customers.bronze_quarantine"]
    assert _about(quarantine, values, lakehouse.order_ids).sum() == 1  # the cut-short line
    others = {
        name: frame.filter(~_about(frame, values, lakehouse.order_ids)) for name, frame in before.items()
    }

    filed = _meshhouse(lakehouse.home, "gdpr", "request", "erase", "--subject", lakehouse.subject)
    assert filed.returncode == 0, filed.stderr
    sensor = platform_defs.resolve_sensor_def("gdpr_requests")
    run_requests = sensor(dg.build_sensor_context(instance=instance)).run_requests
    assert len(run_requests) == 1
    result = platform_defs.resolve_job_def("platform_gdpr").execute_in_process(instance=instance)
    assert result.success

    # no file under the home holds the subject's id, an email or a token: not the landing
    # zone, the warehouse (old snapshots and their files expired), ports, audit, or Dagster
    dagster_storage = Path(instance.root_directory)
    assert scan_files(files_under(lakehouse.home, dagster_storage), everywhere) == []
    after = _tables()
    assert set(after) == set(before)
    for name, frame in after.items():
        assert _row_hashes(frame) == _row_hashes(others[name]), f"{name}: other customers' rows changed"
    removed = {name for name in before if before[name].height != after[name].height}
    assert {
        "customers.bronze_events",
        "customers.bronze_quarantine",
        "customers.silver_customers",
        "orders.bronze_events",
        "orders.silver_orders",
        "orders.silver_order_items",
        "payments.silver_payment_events",
        "growth.gold_customer_360",
    } <= removed
    (audit,) = [json.loads(line) for line in (lakehouse.home / "audit" / "gdpr_erasures.jsonl").open()]
    assert audit["verified"] and audit["findings"] == []
    assert audit["table_rows_removed"]["customers.bronze_quarantine"] == 1
    assert sum(audit["landing_lines_removed"].values()) >= len(lakehouse.order_ids) + 2
    assert not list((lakehouse.home / "gdpr" / "requests").glob("*.json"))  # served

    # the pipeline keeps running on the cleaned landing zone, without the subject
    assert run_demo(instance, CUSTOMER_DOMAINS) == 0
    assert scan_files(files_under(lakehouse.home, dagster_storage), everywhere) == []
    rerun = _tables()
    for name in ("orders.silver_orders", "customers.silver_customers", "payments.silver_payment_events"):
        assert _row_hashes(rerun[name], RUN_COLUMNS) == _row_hashes(others[name], RUN_COLUMNS), name


def test_export_detokenizes_for_the_privacy_officer_only(
    customer_lakehouse: Lakehouse, tmp_path: Path
) -> None:
    lakehouse = customer_lakehouse
    officer = _export(lakehouse, "privacy_officer", tmp_path / "officer.json")
    assert officer.returncode == 0, officer.stderr
    export = json.loads((tmp_path / "officer.json").read_text())
    assert export["subject"] == lakehouse.subject and export["detokenized"]
    products = export["products"]
    assert {"customers.silver_customers", "orders.silver_orders", "orders.silver_order_items"} <= set(
        products
    )
    assert {"payments.silver_payment_events", "growth.gold_customer_360"} <= set(products)
    assert {r["order_id"] for r in products["orders.silver_orders"]} == lakehouse.order_ids
    assert {r["order_id"] for r in products["orders.silver_order_items"]} == lakehouse.order_ids
    (customer,) = products["customers.silver_customers"]
    assert customer["user_token"] == lakehouse.subject and customer["email_token"] in lakehouse.emails
    assert {e["userId"] for e in export["raw_events"]} == {lakehouse.subject}

    engineer = _export(lakehouse, "data_engineer", tmp_path / "engineer.json")
    assert engineer.returncode == 0, engineer.stderr
    text = (tmp_path / "engineer.json").read_text()
    assert lakehouse.subject not in text and not any(e in text for e in lakehouse.emails)
    tokenized = json.loads(text)
    assert not tokenized["detokenized"] and "raw_events" not in tokenized
    assert tokenized["subject"] == tokenized["subject_reference"] != lakehouse.subject
    (customer,) = tokenized["products"]["customers.silver_customers"]
    assert customer["user_token"] == token(lakehouse.subject, KEY)  # confidential: the token kept
    assert customer["email_token"] is None  # restricted: nullified for this role
    assert tokenized["products"].keys() == products.keys() and tokenized["withheld"] == {}

    analyst = _export(lakehouse, "analyst", tmp_path / "analyst.json")
    assert analyst.returncode == 0, analyst.stderr
    masked = json.loads((tmp_path / "analyst.json").read_text())
    assert "no region column" in masked["withheld"]["orders.silver_orders"]
    for rows in masked["products"].values():  # confidential and restricted values redacted
        assert all(row.get("user_token", "***") == "***" for row in rows)

    unknown = _export(lakehouse, "intern", tmp_path / "x.json")
    assert unknown.returncode == 2 and "unknown role 'intern'" in unknown.stderr
    # an id no event names as its user (a typo, or a word like a status) erases nothing
    for wrong in ("user-999999", "paid"):
        refused = _meshhouse(lakehouse.home, "gdpr", "erase", "--subject", wrong)
        assert refused.returncode == 2 and f"no event names {wrong!r} as its user" in refused.stderr
    preview = _meshhouse(lakehouse.home, "gdpr", "erase", "--subject", lakehouse.subject, "--dry-run")
    assert preview.returncode == 0 and "customers.silver_customers" in preview.stdout

    # erased, the subject has nothing left to export
    erased = _meshhouse(lakehouse.home, "gdpr", "erase", "--subject", lakehouse.subject)
    assert erased.returncode == 0, erased.stderr
    assert "verified: no file under the home mentions the subject" in erased.stdout
    again = _export(lakehouse, "privacy_officer", tmp_path / "after.json")
    assert again.returncode == 2 and f"no event names {lakehouse.subject!r} as its user" in again.stderr
