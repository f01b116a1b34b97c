"""GDPR erasure under failure and concurrency, on small real tables.

A write that read its input before an erasure and commits after it must not put the
erased rows back; an erasure that fails half-way is audited with its error, and its retry
still knows the emails whose events the first attempt already erased.
"""

import datetime as dt
import threading

import dagster as dg
import polars as pl
import pytest

from domains.customers.definitions import defs
from platform_resources.core.partitions import DAILY
from platform_resources.gdpr import erasure as gdpr_erasure
from platform_resources.gdpr.erasure import ERASURE_LOG, erase_rows, erase_subject
from platform_resources.gdpr.subject import resolve_subject
from platform_resources.privacy.audit_log import read_audit
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.erasure_fence import erasure_running
from platform_resources.storage.iceberg_io import read_table, write_frames
from platform_resources.storage.outages import reporting_outages
from tests.conftest import envelope, write_landing

D = dt.date(2026, 11, 20)
T = "safety.events"


def _frame(users: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"day": [D] * len(users), "user_id": users})


def test_a_write_that_read_before_an_erasure_does_not_commit_the_erased_rows_back(home) -> None:
    window = (D, D + dt.timedelta(days=1))
    write_frames(load_catalog(), T, _frame(["a", "b", "subject"]), partition_column="day", window=window)
    read, go = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def stale_batches():  # a step that read its input before the erasure, committing after it
        yield _frame(["a", "b"])
        read.set()
        go.wait(timeout=60)
        yield _frame(["subject"])

    def writer() -> None:
        try:
            write_frames(load_catalog(), T, stale_batches(), partition_column="day", window=window)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    assert read.wait(timeout=60)
    catalog = load_catalog()
    removed = erase_rows(catalog.load_table(T), lambda _: pl.col("user_id") == "subject", catalog)
    go.set()
    thread.join(timeout=60)

    assert removed == 1
    assert len(errors) == 1  # refused: the step's retry reads its input again, after the erasure
    assert sorted(read_table(T).collect()["user_id"]) == ["a", "b"]


def _registered(user: str, email: str, minute: int) -> dict:
    payload = {"userId": user, "email": email, "registrationSource": "web", "country": "FR"}
    return envelope("user.registered", payload, ts=f"{D}T10:{minute:02d}:00Z", metadata={"referrer": "ads"})


def test_an_erasure_failing_half_way_is_audited_and_its_retry_finishes_it(
    home, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [_registered(f"user-s{i}", f"s{i}@example.com", i) for i in range(25)]
    write_landing(home, D, "part-1.jsonl", lines, domain="customers")
    job = defs.resolve_job_def("customers_daily")
    assert job.execute_in_process(partition_key=str(D), instance=instance).success

    def crash(*_args, **_kwargs):
        raise RuntimeError("the verification's host went away")

    with monkeypatch.context() as patched, pytest.raises(RuntimeError, match="went away"):
        patched.setattr(gdpr_erasure, "verify_erased", crash)
        erase_subject("user-s3")
    (failed,) = read_audit(ERASURE_LOG)
    assert failed["error"] == "RuntimeError: the verification's host went away" and not failed["verified"]
    assert failed["table_rows_removed"]["customers.silver_customers"] == 1  # deleted before the crash
    # their events are gone, yet the retry still knows them, and their email
    assert resolve_subject("user-s3").emails == ("s3@example.com",)

    report = erase_subject("user-s3")
    assert report.verified and report.findings == []
    done = read_audit(ERASURE_LOG)[-1]
    assert done["verified"] and "user-s3" not in str(done) and "s3@example.com" not in str(done)
    assert not list((home / "gdpr" / "subjects").glob("*.json"))  # the retry state is gone


def test_a_step_an_erasure_ran_beside_commits_nothing_and_its_retry_writes_from_the_erased_input(
    home,
) -> None:
    window = (D, D + dt.timedelta(days=1))
    write_frames(load_catalog(), T, _frame(["a", "subject"]), partition_column="day", window=window)
    target = "safety.copy"

    @dg.asset(partitions_def=DAILY, retry_policy=dg.RetryPolicy(max_retries=1))
    @reporting_outages
    def copy(context: dg.AssetExecutionContext):
        rows = read_table(T).collect()  # read before the erasure (on the first attempt)
        if context.retry_number == 0:
            catalog = load_catalog()
            with erasure_running(catalog):
                erase_rows(catalog.load_table(T), lambda _: pl.col("user_id") == "subject", catalog)
        write_frames(load_catalog(), target, rows, partition_column="day", window=window)
        yield dg.MaterializeResult()

    result = dg.materialize([copy], partition_key=D.isoformat(), raise_on_error=False)

    assert result.success  # on its retry
    retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retried) == 1
    error = retried[0].event_specific_data.error
    while error.cls_name != "ErasedMeanwhile":
        error = error.cause
    assert "not committed: safety.copy" in error.message
    assert read_table(target).collect()["user_id"].to_list() == ["a"]
    assert len(load_catalog().load_table(target).metadata.snapshots) == 1  # the refused write left none
