"""The health probe: the platform checks its own services and reports as ``system.health.check`` events.

Every 15 minutes (a schedule, RUNNING by default) it times a catalog query, a write to
the warehouse and scratch folders, a listing of each domain's landing zone, and the age
of each domain's last Bronze commit, then writes one envelope per check into the
platform's landing zone. The platform's own landing sensor ingests them like any event:
Bronze, Silver and the Gold ``daily_service_health`` report the platform's health too.
"""

import datetime as dt
import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.core.settings import get_paths
from platform_resources.ingest.landing import landing_files, write_landing_file
from platform_resources.mesh.workspace import simulated_domains
from platform_resources.storage.catalog import load_catalog

DOMAIN = "platform"
#: A domain whose last Bronze commit is older than this is degraded (nothing landed for a day).
BRONZE_STALE_AFTER = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Check:
    service: str
    status: str  # healthy | degraded | unhealthy
    response_time_ms: float
    error_count: int


def _timed(service: str, probe: Callable[[], str]) -> Check:
    """Run ``probe`` (returning a status); an exception makes the service unhealthy."""
    started = time.perf_counter()
    try:
        status, errors = probe(), 0
    except Exception:  # any failure of a probed service is its health, not the probe's
        status, errors = "unhealthy", 1
    return Check(service, status, round(1000 * (time.perf_counter() - started), 3), errors)


def _writable(folder_name: str) -> Callable[[], str]:
    def probe() -> str:
        folder = getattr(get_paths(), folder_name)
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / f".health-{uuid.uuid4().hex}"
        marker.write_bytes(b"ok")
        marker.unlink()
        return "healthy"

    return probe


def _bronze_fresh(domain: str) -> str:
    try:
        table = load_catalog().load_table(f"{domain}.bronze_events")
    except NoSuchTableError:
        return "degraded"  # nothing ingested yet
    snapshot = table.current_snapshot()
    if snapshot is None:
        return "degraded"
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromtimestamp(snapshot.timestamp_ms / 1000, dt.UTC)
    return "healthy" if age <= BRONZE_STALE_AFTER else "degraded"


def _catalog_answers() -> str:
    load_catalog().list_namespaces()
    return "healthy"


def _landing_lists(domain: str) -> str:
    landing_files(domain)
    return "healthy"


def run_checks() -> list[Check]:
    checks = [
        _timed("iceberg-catalog", _catalog_answers),
        _timed("warehouse", _writable("warehouse")),
        _timed("scratch", _writable("scratch")),
    ]
    for domain in simulated_domains():
        checks.append(_timed(f"landing-{domain}", lambda d=domain: _landing_lists(d)))
        checks.append(_timed(f"bronze-{domain}", lambda d=domain: _bronze_fresh(d)))
    return checks


def health_envelopes(checks: list[Check], at: dt.datetime) -> bytes:
    """The checks as seed-002 ``system.health.check`` envelopes, one JSON line each."""
    instance = socket.gethostname()
    region = os.environ.get("AWS_REGION", "local")
    lines = [
        json.dumps(
            {
                "eventId": str(uuid.uuid4()),
                "eventType": "system.health.check",
                "eventSource": "meshhouse.platform.health-probe",
                "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "version": "1.0",
                "data": {
                    "payload": {
                        "serviceName": c.service,
                        "status": c.status,
                        "responseTime": c.response_time_ms,
                        "errorCount": c.error_count,
                    },
                    "metadata": {
                        "instanceId": instance,
                        "region": region,
                        "availabilityZone": f"{region}-local",
                    },
                },
                "region": region,
            }
        )
        for c in checks
    ]
    return "".join(line + "\n" for line in lines).encode()


@dg.op(
    description="Checks the platform's services and writes the results as health events to landing/platform."
)
def probe_platform_health(context: dg.OpExecutionContext) -> None:
    at = dt.datetime.now(dt.UTC)
    checks = run_checks()
    name = f"health-{at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.jsonl"
    where = write_landing_file(DOMAIN, at.date(), name, health_envelopes(checks, at))
    unwell = [f"{c.service}: {c.status}" for c in checks if c.status != "healthy"]
    context.log.info(f"{len(checks)} checks written to {where}; not healthy: {unwell or 'none'}")


@dg.job(name="platform_health_probe", description="One round of the platform's health checks.")
def health_probe_job() -> None:
    probe_platform_health()


health_probe_schedule = dg.ScheduleDefinition(
    job=health_probe_job,
    cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 15 minutes: the platform's services checked, reported as system.health.check events.",
)
