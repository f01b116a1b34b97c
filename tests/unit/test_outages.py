"""A step whose service goes away says which of its assets it did not commit, for which days."""

import dagster as dg

from platform_resources.core.partitions import DAILY
from platform_resources.storage.outages import reporting_outages

FIRST, SECOND = dg.AssetKey(["trial", "silver", "first"]), dg.AssetKey(["trial", "silver", "second"])


@dg.multi_asset(
    specs=[dg.AssetSpec(FIRST), dg.AssetSpec(SECOND)],
    partitions_def=DAILY,
)
@reporting_outages
def two_tables(context: dg.AssetExecutionContext):
    yield dg.MaterializeResult(asset_key=FIRST)
    raise ConnectionRefusedError(111, "Connection refused")  # an OSError, as pyarrow's S3 raises


def test_a_service_failure_names_what_was_not_committed_and_the_day() -> None:
    result = dg.materialize([two_tables], partition_key="2026-11-20", raise_on_error=False)

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    while error.cls_name != "ServiceUnavailable":
        error = error.cause
    assert error.message.startswith(
        "platform_resources.storage.outages.ServiceUnavailable: "
        "not committed: trial/silver/second for 2026-11-20: the warehouse's storage"
    )
    assert "trial/silver/first" not in error.message  # committed before the failure
    assert "Connection refused" in error.message


def test_other_errors_pass_unchanged() -> None:
    @dg.asset(partitions_def=DAILY)
    @reporting_outages
    def broken(context: dg.AssetExecutionContext):
        raise ValueError("a bug, not an outage")
        yield  # a generator, as the platform's steps are

    result = dg.materialize([broken], partition_key="2026-11-20", raise_on_error=False)
    [failure] = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    assert [error.cls_name, error.cause.cls_name] == ["DagsterExecutionStepExecutionError", "ValueError"]
