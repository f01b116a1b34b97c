"""A step that fails after committing part of its output is retried, and the retry duplicates nothing."""

import dagster as dg
import pytest

import platform_resources.storage.iceberg_io as iceberg_io
from tests.conftest import DAY, order_created, write_landing
from tests.integration.conftest import rows, run_orders

pytestmark = pytest.mark.integration


def test_a_transient_failure_after_a_commit_is_retried_without_duplicates(
    home, instance, monkeypatch
) -> None:
    write_landing(home, DAY, "part-1.jsonl", [*(order_created(f"o-{i}") for i in range(10)), b"{broken"])
    write_frames, failures = iceberg_io.write_frames, []

    def flaky_write(catalog, identifier, frames, **kwargs):
        # Bronze commits its events, then the quarantine: the first quarantine commit fails
        if identifier == "orders.bronze_quarantine" and not failures:
            failures.append(identifier)
            raise OSError("connection reset by the object store")
        return write_frames(catalog, identifier, frames, **kwargs)

    monkeypatch.setattr(iceberg_io, "write_frames", flaky_write)
    result = run_orders(instance, DAY)

    assert result.success and failures == ["orders.bronze_quarantine"]
    retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert [e.step_key for e in retried] == ["orders_bronze"]
    assert (rows("orders.bronze_events"), rows("orders.bronze_quarantine")) == (10, 1)
    assert rows("orders.silver_order_events") == 10
