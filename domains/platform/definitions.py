"""The platform code location: operations events (health checks, webhooks) to Gold, the health
probe, the data catalog, the SLO report, table maintenance and retention, and GDPR requests."""

import dagster as dg

from domains.platform.contracts import CONTRACTS
from domains.platform.data_catalog import catalog_job, catalog_schedule, data_products
from domains.platform.gdpr import gdpr_job, gdpr_request_sensor, gdpr_requests
from domains.platform.gold import DBT_PROJECT_DIR, platform_gold
from domains.platform.health import health_probe_job, health_probe_schedule
from domains.platform.maintenance import (
    maintenance_job,
    maintenance_schedule,
    retention_job,
    retention_report,
    retention_schedule,
    table_maintenance_report,
)
from domains.platform.silver import platform_silver_events
from domains.platform.slo_report import slo_report_asset, slo_report_job, slo_report_schedule
from platform_resources.location import domain_definitions
from platform_resources.slo.alerting import build_alert_sensor
from platform_resources.upkeep.dead_runs import dead_run_sensor

defs = dg.Definitions.merge(
    domain_definitions(
        "platform",
        owner="team:platform",
        contracts=CONTRACTS,
        assets=[platform_silver_events, platform_gold],
        dbt_project_dir=DBT_PROJECT_DIR,
    ),
    dg.Definitions(
        assets=[data_products, slo_report_asset, gdpr_requests, table_maintenance_report, retention_report],
        jobs=[health_probe_job, catalog_job, slo_report_job, gdpr_job, maintenance_job, retention_job],
        schedules=[
            health_probe_schedule,
            catalog_schedule,
            slo_report_schedule,
            maintenance_schedule,
            retention_schedule,
        ],
        sensors=[build_alert_sensor(), gdpr_request_sensor, dead_run_sensor],
    ),
)
