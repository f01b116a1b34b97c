"""Partition-aware freshness: a day whose inputs changed and that lags beyond the SLO fails, with its lag.

Materializations are real events in a real Dagster instance; the measurement is taken at
chosen instants after them, so a 30-minute SLO is tested without waiting 30 minutes.
"""

import datetime as dt

import dagster as dg
import pytest

from domains.orders.contracts import CONTRACTS
from domains.orders.definitions import defs as orders_defs
from platform_resources.partition_freshness import check_result, measure

pytestmark = pytest.mark.integration
REVENUE = CONTRACTS["daily_revenue"]  # freshness SLO: 30 minutes
SILVER = CONTRACTS["orders"].asset_key
D = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)


def _materialized(instance: dg.DagsterInstance, key: dg.AssetKey, day: dt.date) -> float:
    instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=day.isoformat()))
    return instance.get_latest_materialization_event(key).timestamp


def _at(timestamp: float, minutes: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC) + dt.timedelta(minutes=minutes)


def test_a_day_behind_its_inputs_beyond_the_slo_fails_with_its_measured_lag(instance) -> None:
    deps = [dg.AssetDep(SILVER)]
    _materialized(instance, REVENUE.asset_key, D)
    late_input = _materialized(instance, SILVER, D)  # late data for D reached Silver, not Gold

    within = check_result(REVENUE, measure(instance, REVENUE.asset_key, deps, _at(late_input, 10)))
    assert within.passed and within.metadata["behind_partitions"].value == {D.isoformat(): 10.0}

    late = check_result(REVENUE, measure(instance, REVENUE.asset_key, deps, _at(late_input, 45)))
    assert not late.passed
    assert late.metadata["late_partitions"].value == {D.isoformat(): 45.0}
    assert late.metadata["worst_lag_minutes"].value == 45.0
    assert late.metadata["slo_freshness_minutes"].value == 30
    assert f"{D} by 45.0 min" in late.description

    caught_up = _materialized(instance, REVENUE.asset_key, D)
    fresh = measure(instance, REVENUE.asset_key, deps, _at(caught_up, 45))
    assert fresh.lags_minutes == {} and fresh.newest_complete == D.isoformat()
    day_end = dt.datetime.combine(D + dt.timedelta(days=1), dt.time(), dt.UTC)
    assert fresh.newest_complete_age_minutes == round((_at(caught_up, 45) - day_end).total_seconds() / 60, 2)


def test_a_lookback_reads_the_days_it_maps_to() -> None:
    instance = dg.DagsterInstance.ephemeral()
    deps = [
        dg.AssetDep(SILVER, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-2, end_offset=0))
    ]
    _materialized(instance, REVENUE.asset_key, D)
    changed = _materialized(instance, SILVER, D - dt.timedelta(days=2))  # read by D through the lookback

    lags = measure(instance, REVENUE.asset_key, deps, _at(changed, 40)).lags_minutes
    assert lags[D.isoformat()] == 40.0


def test_each_location_runs_the_checks_on_a_schedule_outside_its_landing_runs(instance) -> None:
    repository = orders_defs.get_repository_def()
    schedule = repository.get_schedule_def("orders_freshness_schedule")
    assert (
        schedule.default_status == dg.DefaultScheduleStatus.RUNNING
        and schedule.cron_schedule == "*/5 * * * *"
    )
    assert "orders_partition_freshness" not in repository.get_job("orders_daily").graph.node_names()
    result = repository.get_job("orders_freshness").execute_in_process(instance=instance)
    evaluations = {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {
        c.asset_key.to_user_string(): True for c in CONTRACTS.values() if c.layer != "bronze"
    }
