"""Integration fixtures: a real Dagster instance (SQLite, on disk) per test."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pytest

from platform_resources.iceberg_io import read_table


@pytest.fixture
def instance(tmp_path) -> Iterator[dg.DagsterInstance]:
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as inst:
        yield inst


def run_orders(instance: dg.DagsterInstance, day: dt.date, defs=None) -> dg.ExecuteInProcessResult:
    if defs is None:
        from domains.orders.definitions import defs
    return defs.resolve_job_def("orders_daily").execute_in_process(
        partition_key=day.isoformat(), instance=instance, raise_on_error=False
    )


def rows(identifier: str) -> int:
    return read_table(identifier).select(__import__("polars").len()).collect().item()


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}


def check(result: dg.ExecuteInProcessResult, asset: str, name: str):
    found = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == asset and e.check_name == name
    ]
    assert len(found) == 1, f"no single evaluation of {asset} {name}: {found}"
    return found[0]


PRODUCERS = ("orders", "customers", "payments")  # the domains whose ports growth reads


def publish_producer_ports(
    instance: dg.DagsterInstance, days: list[dt.date], events_per_day: int = 300
) -> None:
    """Simulated landing data for growth's producers, run through their jobs (one range run each)."""
    from platform_resources.simulation import FaultRates
    from platform_resources.workspace import domain_module

    for domain in PRODUCERS:
        domain_module(domain, "simulate").simulate(days, events_per_day, 7, FaultRates())
        result = (
            domain_module(domain, "definitions")
            .defs.resolve_job_def(f"{domain}_daily")
            .execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": days[0].isoformat(),
                    "dagster/asset_partition_range_end": days[-1].isoformat(),
                },
            )
        )
        assert result.success, domain
