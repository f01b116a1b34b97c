"""The platform operations location: health checks and webhook intake, and the health probe."""

import datetime as dt
import hashlib
import hmac
import json

import dagster as dg
import polars as pl
import pytest

from domains.platform.definitions import defs
from platform_resources.core.settings import DEV_TOKEN_KEY
from platform_resources.ingest.envelope import classify_lines
from platform_resources.privacy.tokenize import token
from platform_resources.storage.iceberg_io import read_table
from tests.conftest import envelope, write_landing
from tests.integration.conftest import check

pytestmark = pytest.mark.integration
D = dt.date(2026, 11, 20)


def _run(instance: dg.DagsterInstance, day: dt.date) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("platform_daily").execute_in_process(
        partition_key=day.isoformat(), instance=instance, raise_on_error=False
    )


def _health(service: str, status: str, response_time: float, errors: int = 0) -> dict:
    payload = {"serviceName": service, "status": status, "responseTime": response_time, "errorCount": errors}
    return envelope("system.health.check", payload, ts=f"{D}T10:00:00Z", metadata={"instanceId": "i-1"})


def _webhook(source: str, body: dict, secret: str) -> dict:
    compact = json.dumps(body, separators=(",", ":"))  # signed here, not by the code under test
    signature = "sha256=" + hmac.new(secret.encode(), compact.encode(), hashlib.sha256).hexdigest()
    payload = {"webhookId": f"wh-{body['id']}", "source": source, "payload": body}
    metadata = {
        "headers": {"content-type": "application/json"},
        "signature": signature,
        "processingTime": 4.0,
    }
    return envelope("integration.webhook.received", payload, ts=f"{D}T11:00:00Z", metadata=metadata)


def test_webhooks_are_verified_and_health_is_summed_per_service(home, instance) -> None:
    good = _webhook(
        "stripe",
        {"id": "evt_1", "type": "charge.succeeded", "amount": 1200},
        "meshhouse-development-webhook-stripe",
    )
    forged = _webhook("stripe", {"id": "evt_2", "type": "charge.refunded", "amount": 50}, "not-the-secret")
    lines = [
        good,
        forged,
        _health("api-gateway", "healthy", 10.0),
        _health("api-gateway", "healthy", 30.0),
        _health("api-gateway", "unhealthy", 900.0, errors=3),
        _health("api-gateway", "on-fire", 5.0),  # not a status: rejected with its reason
        *(_health("user-service", "healthy", 20.0 + i) for i in range(20)),  # keeps rejects under 5%
    ]
    write_landing(home, D, "part-1.jsonl", lines, domain="platform")
    result = _run(instance, D)
    assert result.success

    events = read_table("platform.silver_operations_events").collect()
    webhooks = dict(
        events.filter(pl.col("webhook_id").is_not_null()).select("webhook_id", "signature_valid").iter_rows()
    )
    assert webhooks == {"wh-evt_1": True, "wh-evt_2": False}
    stored = events.filter(pl.col("webhook_id") == "wh-evt_1")["webhook_payload_token"].item()
    payload = {"id": "evt_1", "type": "charge.succeeded", "amount": 1200}  # confidential: only its token
    assert stored == token(json.dumps(payload, separators=(",", ":")), DEV_TOKEN_KEY.encode())
    rejected = read_table("platform.silver_rejected").collect()
    assert rejected.height == 1 and "on-fire" in rejected["reason"].item()

    health = read_table("platform.gold_daily_service_health").collect()
    row = health.filter(pl.col("service_name") == "api-gateway").to_dicts()[0]
    assert (row["checks"], row["unhealthy"], row["errors"], row["max_response_time_ms"]) == (3, 1, 3, 900.0)
    assert row["availability"] == pytest.approx(2 / 3)
    users = health.filter(pl.col("service_name") == "user-service").to_dicts()[0]
    assert (users["checks"], users["availability"], users["max_response_time_ms"]) == (20, 1.0, 39.0)
    daily = read_table("platform.gold_daily_webhooks").collect().to_dicts()
    assert [(r["webhook_source"], r["received"], r["invalid_signatures"]) for r in daily] == [
        ("stripe", 2, 1)
    ]
    assert check(result, "platform/gold/daily_webhooks", "contract").passed


def test_the_health_probe_reports_through_the_platforms_own_pipeline(home, instance) -> None:
    probe = defs.resolve_job_def("platform_health_probe").execute_in_process(instance=instance)
    assert probe.success
    today = dt.datetime.now(dt.UTC).date()
    files = list((home / "landing" / "platform" / f"dt={today}").glob("health-*.jsonl"))
    assert len(files) == 1
    lines = files[0].read_bytes().splitlines()
    valid, quarantined = classify_lines(1, lines, str(files[0]), today, dt.datetime.now(dt.UTC))
    assert quarantined.height == 0 and valid.height == len(lines)

    assert _run(instance, today).success
    events = read_table("platform.silver_operations_events").collect()
    statuses = dict(events.select("service_name", "status").iter_rows())
    assert statuses["iceberg-catalog"] == "healthy" and statuses["warehouse"] == "healthy"
    assert statuses["bronze-orders"] == "degraded"  # nothing ingested for orders in this home
    assert {"landing-orders", "landing-growth"} & set(statuses) == {"landing-orders"}  # growth lands nothing
    assert (
        defs.get_schedule_def("platform_health_probe_schedule").default_status
        == dg.DefaultScheduleStatus.RUNNING
    )
