"""Assembling a domain's code location: its assets, the daily job, its sensors and resources."""

from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

from platform_resources.automation import build_automation_sensor
from platform_resources.bronze import build_bronze_assets
from platform_resources.contracts import Contract
from platform_resources.landing_sensor import build_landing_sensor
from platform_resources.output_ports import build_port_assets
from platform_resources.partition_freshness import build_partition_freshness_checks
from platform_resources.partitions import DAILY
from platform_resources.resources import platform_resources
from platform_resources.table_checks import build_table_checks
from platform_resources.workspace import products_by_table


def domain_definitions(
    domain: str,
    owner: str,
    assets: Sequence[dg.AssetsDefinition],
    contracts: Mapping[str, Contract],
    dbt_project_dir: Path | None = None,
    *,
    lands_events: bool = True,
) -> dg.Definitions:
    """The domain's assets and its products' file and stream ports, a daily job, the
    automation sensor, the partition freshness checks and their sensor, the reconciliation and
    anomaly checks (run in the daily job after the tables they read); Bronze and a
    landing sensor when the domain receives events (a consumer domain reads other
    domains' ports instead)."""
    assets = [*assets, *build_port_assets(contracts)]
    if lands_events:
        assets = [build_bronze_assets(domain, owner=owner), *assets]
    freshness = build_partition_freshness_checks(
        domain,
        [spec for a in assets for spec in a.specs],
        {c.asset_key: c for c in contracts.values()},
    )
    checks, freshness_sensors = ([freshness[0]], [freshness[1]]) if freshness else ([], [])
    selection = dg.AssetSelection.groups(domain)
    if checks:  # the freshness checks run from their sensor, not in every landing run
        selection = selection - dg.AssetSelection.checks(*checks)
    readable = products_by_table()
    if table_checks := build_table_checks(domain, contracts, readable):
        checks.append(table_checks)
    job = dg.define_asset_job(
        f"{domain}_daily",
        selection=selection,
        partitions_def=DAILY,
        description=f"Every {domain} asset for one day (or a range, as one run).",
    )
    sensors: list[dg.SensorDefinition] = [build_automation_sensor(domain), *freshness_sensors]
    if lands_events:
        sensors.append(build_landing_sensor(domain, job))
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[job],
        sensors=sensors,
        resources=platform_resources(dbt_project_dir=dbt_project_dir),
        # Steps of one partition run share a process: the multiprocess executor costs ~6 s a step here.
        executor=dg.in_process_executor,
    )
