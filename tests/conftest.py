"""Shared fixtures: every test gets its own MESHHOUSE_HOME (catalog, warehouse, landing zone)."""

import asyncio
import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from hypothesis import HealthCheck, settings

#: Property-based tests: a hundred examples each in ``make test``; ``make reliability`` runs them
#: again under the ``reliability`` profile (HYPOTHESIS_PROFILE), with far more.
settings.register_profile(
    "default",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("reliability", parent=settings.get_profile("default"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

DAY = dt.date(2026, 11, 20)
#: Modules whose tests take minutes, longest first. They start first, so that on two
#: workers the short tests fill in around them instead of one long test ending the run alone.
LONGEST_FIRST = (
    "test_make_run.py",
    "test_growth_backfill.py",
    "test_contracts_ci.py",
    "test_isolation.py",
    "test_gdpr.py",
    "test_reliability.py",
    "test_cli.py",
    "test_bench_smoke.py",
    "test_catalog.py",
    "test_growth.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MESHHOUSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MESHHOUSE_ENV", raising=False)
    prefix = f"t{uuid.uuid4().hex[:12]}"  # this test's own stream ports on the shared NATS server
    monkeypatch.setenv("MESHHOUSE_PORT_PREFIX", prefix)
    yield tmp_path / "home"
    asyncio.run(_delete_streams(prefix))


async def _delete_streams(prefix: str) -> None:
    """Remove the JetStream streams a test's stream ports created, if any."""
    client = await nats.connect("nats://127.0.0.1:4222", connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = client.jetstream()
        for info in await js.streams_info():
            if info.config.name.startswith(prefix.upper() + "_"):
                await js.delete_stream(info.config.name)
    finally:
        await client.close()


def envelope(
    event_type: str,
    payload: dict,
    *,
    ts: str = "2026-11-20T10:00:00.000Z",
    metadata: dict | None = None,
    event_id: str | None = None,
    user_id: str | None = None,
) -> dict:
    """A seed-002 envelope, built by hand (not by the simulator under test)."""
    return {
        "eventId": event_id or str(uuid.uuid4()),
        "eventType": event_type,
        "eventSource": "order-service",
        "timestamp": ts,
        "version": "1.0",
        "data": {"payload": payload, "metadata": metadata or {}},
        "correlationId": str(uuid.uuid4()),
        "userId": user_id or payload.get("userId", "user-1"),
        "sessionId": str(uuid.uuid4()),
        "environment": "test",
        "region": "eu-west-1",
    }


def order_created(
    order_id: str,
    *,
    total: float = 30.0,
    currency: str = "EUR",
    items: list | None = None,
    ts: str = "2026-11-20T10:00:00.000Z",
    user_id: str = "user-1",
    event_id: str | None = None,
) -> dict:
    items = items if items is not None else [{"productId": "SKU-00001", "quantity": 2, "price": 15.0}]
    return envelope(
        "order.created",
        {"orderId": order_id, "userId": user_id, "items": items, "totalAmount": total, "currency": currency},
        ts=ts,
        event_id=event_id,
        metadata={
            "paymentMethod": "card",
            "shippingAddress": {
                "recipientName": "Ada Lovelace",
                "street": "1 Market Street",
                "city": "Leeds",
                "postalCode": "12345",
                "country": "GB",
            },
        },
    )


def status_change(order_id: str, status: str, ts: str, *, refund: float | None = None) -> dict:
    payload = {"orderId": order_id, "userId": "user-1", "status": status, "currency": "EUR"}
    if refund is not None:
        payload["refundAmount"] = refund
    return envelope(f"order.{status}", payload, ts=ts)


def write_landing(
    home: Path, day: dt.date, name: str, lines: list[bytes | dict], domain: str = "orders"
) -> Path:
    folder = home / "landing" / domain / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"".join((json.dumps(x).encode() if isinstance(x, dict) else x) + b"\n" for x in lines))
    return path
