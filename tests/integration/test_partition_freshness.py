"""Partition-aware freshness: a day whose inputs changed and that lags beyond the SLO fails, with its lag.

Materializations are real events in a real Dagster instance; the measurement is taken at
chosen instants after them, so a 30-minute SLO is tested without waiting 30 minutes.
"""

import datetime as dt

import dagster as dg
import pytest

from domains.orders.contracts import CONTRACTS
from domains.orders.definitions import defs as orders_defs
from platform_resources.quality.partition_freshness import evaluation, measure

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

    within = evaluation(REVENUE, measure(instance, REVENUE.asset_key, deps, _at(late_input, 10)))
    assert within.passed and within.metadata["behind_partitions"].value == {D.isoformat(): 10.0}

    late = evaluation(REVENUE, measure(instance, REVENUE.asset_key, deps, _at(late_input, 45)))
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


def test_each_location_evaluates_the_checks_by_sensor_and_by_hand_outside_its_landing_runs(instance) -> None:
    repository = orders_defs.get_repository_def()
    assert "orders_partition_freshness" not in repository.get_job("orders_daily").graph.node_names()
    products = {c.asset_key.to_user_string() for c in CONTRACTS.values() if c.layer != "bronze"}

    sensor = repository.get_sensor_def("orders_partition_freshness")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING and sensor.minimum_interval_seconds == 300
    result = sensor(dg.build_sensor_context(instance=instance))
    assert {e.asset_key.to_user_string(): e.passed for e in result.asset_events} == dict.fromkeys(
        products, True
    )

    run = dg.materialize(  # the same checks, run by hand (here: one product's)
        list(orders_defs.asset_checks),
        instance=instance,
        selection=dg.AssetSelection.checks(dg.AssetCheckKey(REVENUE.asset_key, "partition_freshness")),
    )
    assert [(e.asset_key, e.passed) for e in run.get_asset_check_evaluations()] == [(REVENUE.asset_key, True)]


def test_a_day_that_never_landed_is_not_behind_the_later_days_its_window_reads() -> None:
    instance = dg.DagsterInstance.ephemeral()
    horizon = dg.TimeWindowPartitionMapping(start_offset=0, end_offset=30)  # orders' status horizon
    deps = [dg.AssetDep(SILVER, partition_mapping=horizon)]
    later = _materialized(instance, SILVER, D)  # events of D; nothing ever landed for D - 1
    lags = measure(instance, REVENUE.asset_key, deps, _at(later, 60)).lags_minutes
    assert D.isoformat() in lags  # D has data the product never published: behind
    assert (D - dt.timedelta(days=1)).isoformat() not in lags  # only its window saw D: not behind
