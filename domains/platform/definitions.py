"""The platform code location: operations events (health checks, webhooks) to Gold, and the health probe."""

import dagster as dg

from domains.platform.contracts import CONTRACTS
from domains.platform.gold import DBT_PROJECT_DIR, platform_gold
from domains.platform.health import health_probe_job, health_probe_schedule
from domains.platform.silver import platform_silver_events
from platform_resources.domain import domain_definitions

defs = dg.Definitions.merge(
    domain_definitions(
        "platform",
        owner="team:platform",
        contracts=CONTRACTS,
        assets=[platform_silver_events, platform_gold],
        dbt_project_dir=DBT_PROJECT_DIR,
    ),
    dg.Definitions(jobs=[health_probe_job], schedules=[health_probe_schedule]),
)
