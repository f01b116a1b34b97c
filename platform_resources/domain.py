"""Assembling a domain's code location: its assets, the daily job, the landing sensor and resources."""

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from platform_resources.bronze import build_bronze_assets
from platform_resources.landing_sensor import build_landing_sensor
from platform_resources.partitions import DAILY
from platform_resources.resources import platform_resources


def domain_definitions(
    domain: str,
    owner: str,
    assets: Sequence[dg.AssetsDefinition],
    dbt_project_dir: Path | None = None,
) -> dg.Definitions:
    """Bronze from the landing zone plus the domain's own assets, with a daily job and its sensor."""
    job = dg.define_asset_job(
        f"{domain}_daily",
        selection=dg.AssetSelection.groups(domain),
        partitions_def=DAILY,
        description=f"Every {domain} asset for one day (or a range, as one run), landing to Gold.",
    )
    return dg.Definitions(
        assets=[build_bronze_assets(domain, owner=owner), *assets],
        jobs=[job],
        sensors=[build_landing_sensor(domain, job)],
        resources=platform_resources(dbt_project_dir=dbt_project_dir),
        # Steps of one partition run share a process: the multiprocess executor costs ~6 s a step here.
        executor=dg.in_process_executor,
    )
