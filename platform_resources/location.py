"""A domain's code location assembled: its assets, the daily job, its sensors and the resources
every location binds under the same keys. The domains' ``definitions.py`` call it."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from platform_resources.contracts.model import Contract
from platform_resources.core.automation import build_automation_sensor
from platform_resources.core.keys import DBT_EXECUTABLE, DBT_RESOURCE_KEY, IO_MANAGER_KEY
from platform_resources.core.partitions import DAILY
from platform_resources.ingest.bronze import build_bronze_assets
from platform_resources.ingest.landing_sensor import build_landing_sensor
from platform_resources.mesh.workspace import products_by_table
from platform_resources.products.dbt_resource import PlatformDbtCliResource
from platform_resources.products.output_ports import build_port_assets
from platform_resources.quality.partition_freshness import build_partition_freshness_checks
from platform_resources.quality.table_checks import build_table_checks
from platform_resources.storage.iceberg_io import IcebergPolarsIOManager
from platform_resources.stream.stream_assets import build_stream_bronze_assets
from platform_resources.stream.stream_sensor import build_stream_sensor


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
    anomaly checks (run in the daily job after the tables they read); when the domain receives
    events, its file Bronze with a landing sensor and its stream Bronze with a stream job
    (micro-batch, today's partition: stream Bronze and everything after it) and sensor (a
    consumer domain reads other domains' ports instead)."""
    assets = [*assets, *build_port_assets(contracts)]
    stream_bronze = build_stream_bronze_assets(domain, owner=owner) if lands_events else None
    if stream_bronze is not None:
        assets = [build_bronze_assets(domain, owner=owner), stream_bronze, *assets]
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
    jobs = []
    sensors: list[dg.SensorDefinition] = [build_automation_sensor(domain), *freshness_sensors]
    if stream_bronze is not None:
        stream_assets = dg.AssetSelection.assets(stream_bronze)
        jobs.append(
            dg.define_asset_job(
                f"{domain}_stream",
                selection=stream_assets.downstream() & selection,
                partitions_def=DAILY,
                description=f"A micro-batch: {domain}'s stream into stream Bronze, then every asset after it "
                "for the day (today's, from the stream sensor).",
            )
        )
        sensors.append(build_stream_sensor(domain, jobs[-1]))
        selection = selection - stream_assets  # a file's day does not consume the stream
    daily = dg.define_asset_job(
        f"{domain}_daily",
        selection=selection,
        partitions_def=DAILY,
        description=f"Every {domain} asset for one day (or a range, as one run).",
    )
    jobs.insert(0, daily)
    if lands_events:
        sensors.append(build_landing_sensor(domain, daily))
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        sensors=sensors,
        resources=location_resources(dbt_project_dir),
        # Steps of one partition run share a process: the multiprocess executor costs ~6 s a step here.
        executor=dg.in_process_executor,
    )


def location_resources(dbt_project_dir: Path | None = None) -> dict[str, Any]:
    """The shared resource map; the IO manager reads the environment when it runs, not at import."""
    resources: dict[str, Any] = {IO_MANAGER_KEY: IcebergPolarsIOManager()}
    if dbt_project_dir is not None:
        resources[DBT_RESOURCE_KEY] = PlatformDbtCliResource(
            project_dir=str(dbt_project_dir), dbt_executable=DBT_EXECUTABLE
        )
    return resources
