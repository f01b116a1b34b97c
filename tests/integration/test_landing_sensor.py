"""The landing sensor on a real instance.

New files request their day once; a new file for an old day requests that day again.
"""

import datetime as dt
import os

import dagster as dg
import pytest

from domains.orders.definitions import defs
from tests.conftest import order_created, write_landing
from tests.integration.conftest import rows

pytestmark = pytest.mark.integration
D1, D2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20)


def _tick(instance: dg.DagsterInstance, cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
    sensor = defs.get_sensor_def("orders_landing_sensor")
    result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
    return list(result.run_requests or []), result.cursor


def test_sensor_is_running_by_default_and_targets_the_daily_job() -> None:
    sensor = defs.get_sensor_def("orders_landing_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.job_name == "orders_daily"


def test_sensor_requests_each_touched_day_once_and_reruns_an_old_day_for_a_new_file(home, instance) -> None:
    write_landing(home, D1, "a.jsonl", [order_created("o-1", ts="2026-11-19T10:00:00Z")])
    write_landing(home, D2, "a.jsonl", [order_created("o-2")])
    write_landing(home, D2, "b.jsonl", [order_created("o-3")])
    future = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=5)
    write_landing(home, future, "a.jsonl", [order_created("o-4", ts=f"{future}T10:00:00Z")])

    requests, cursor = _tick(instance, None)
    assert [r.partition_key for r in requests] == [D1.isoformat(), D2.isoformat()]
    assert len({r.run_key for r in requests}) == 2
    assert [r.run_key for r in _tick(instance, None)[0]] == [
        r.run_key for r in requests
    ]  # same files, same keys
    assert [r.tags["meshhouse/domain_partition"] for r in requests] == [f"orders/{D1}", f"orders/{D2}"]

    again, cursor = _tick(instance, cursor)
    assert again == []

    write_landing(home, D1, "late-1.jsonl", [order_created("o-5", ts="2026-11-19T23:00:00Z")])
    late, cursor = _tick(instance, cursor)
    assert [r.partition_key for r in late] == [D1.isoformat()]
    assert late[0].run_key != requests[0].run_key

    rewritten = home / "landing" / "orders" / f"dt={D2}" / "b.jsonl"
    rewritten.write_bytes(rewritten.read_bytes() * 2)
    os.utime(rewritten, ns=(rewritten.stat().st_atime_ns, rewritten.stat().st_mtime_ns + 1_000_000))
    changed, cursor = _tick(instance, cursor)
    assert [r.partition_key for r in changed] == [D2.isoformat()]
    assert future.isoformat() not in cursor  # picked up once its partition exists


def test_a_sensor_request_materializes_its_day_on_the_instance(home, instance) -> None:
    write_landing(home, D1, "a.jsonl", [order_created(f"o-{i}", ts="2026-11-19T10:00:00Z") for i in range(5)])
    (request,), _ = _tick(instance, None)
    result = defs.resolve_job_def(request.job_name or "orders_daily").execute_in_process(
        partition_key=request.partition_key, tags=request.tags, instance=instance, raise_on_error=False
    )
    assert result.success
    assert rows("orders.silver_orders") == 5
    record = instance.get_latest_materialization_event(dg.AssetKey(["orders", "gold", "daily_revenue"]))
    assert record is not None and record.dagster_event.partition == D1.isoformat()
