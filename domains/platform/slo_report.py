"""The SLO report as an asset of the platform: rebuilt every 30 minutes (a schedule, RUNNING).

It writes the report (``platform_resources/slo/report.py``) to ``$MESHHOUSE_HOME/slo`` from
the running instance, and reports in the UI a table per product, each domain's attainment
and worst error budget left (numbers the UI plots across materializations) and the breaches.
"""

import dagster as dg

from domains.platform.operations_asset import operations_asset
from platform_resources.core.markdown_table import markdown_table
from platform_resources.core.settings import get_paths
from platform_resources.mesh.workspace import workspace_contracts, workspace_definitions
from platform_resources.slo.report import slo_report, summary_rows
from platform_resources.slo.report_files import write_slo_report

SLO_REPORT_KEY = dg.AssetKey(["platform", "slo", "report"])


@operations_asset(
    SLO_REPORT_KEY,
    "slo",
    {"html", "png"},
    "The SLO report: per domain and product, attainment over 30 days, error budget "
    "left, each breach with its cause, and who reads each product (HTML, JSON, CSV, charts).",
)
def slo_report_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    out = get_paths().home / "slo"
    report = slo_report(context.instance, workspace_contracts(), workspace_definitions())
    index = write_slo_report(report, out)
    per_domain: dict[str, dg.MetadataValue] = {}
    for d in report.domains:
        if d.attainment is not None:
            per_domain[f"attainment_{d.domain}"] = dg.MetadataValue.float(d.attainment)
        if d.worst_budget_left is not None:
            per_domain[f"budget_left_{d.domain}"] = dg.MetadataValue.float(d.worst_budget_left)
    found = [b for p in report.products for b in p.breaches]
    header, *rows = summary_rows(report)
    return dg.MaterializeResult(
        metadata={
            "dagster/uri": str(index),
            "window_days": dg.MetadataValue.int(report.window_days),
            "products": dg.MetadataValue.int(len(report.products)),
            "breaches": dg.MetadataValue.int(len(found)),
            "ongoing_breaches": dg.MetadataValue.int(sum(1 for b in found if b.end is None)),
            **per_domain,
            "products_table": dg.MetadataValue.md(markdown_table(header, rows)),
        }
    )


slo_report_job = dg.define_asset_job("platform_slo_report", selection=[SLO_REPORT_KEY])
slo_report_schedule = dg.ScheduleDefinition(
    job=slo_report_job, cron_schedule="*/30 * * * *", default_status=dg.DefaultScheduleStatus.RUNNING
)
