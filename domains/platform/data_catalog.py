"""The data catalog as an asset of the platform: rebuilt every 30 minutes (a schedule, RUNNING).

It writes the static catalog (``platform_resources/data_catalog/site.py``) to
``$MESHHOUSE_HOME/catalog`` from the running instance and the warehouse, and reports in
the UI how many products it lists, which sample queries failed, and each product's SLO
status, rows and consumers.
"""

import dagster as dg

from domains.platform.operations_asset import operations_asset
from platform_resources.core.settings import get_paths
from platform_resources.data_catalog.site import build_catalog, failed_sample_queries

CATALOG_KEY = dg.AssetKey(["platform", "catalog", "data_products"])


def _status(product: dict) -> str:
    status = product["slo_status"] or {}
    breached = [name for name, s in status.items() if s["met"] is False]
    unknown = [name for name, s in status.items() if s["met"] is None]
    return f"breached: {', '.join(breached)}" if breached else ("not measured" if unknown else "met")


@operations_asset(
    CATALOG_KEY,
    "catalog",
    {"html", "json"},
    "The static data catalog of every product (HTML pages and index.json), "
    "with SLO status, lineage, usage and sample query results.",
)
def data_products(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    out = get_paths().home / "catalog"
    products = build_catalog(out, context.instance)
    failed = failed_sample_queries(products)
    table = "\n".join(
        f"| {p['uri']} | {p['owner']} | {p['rows'] if p['rows'] is not None else '-'} | {_status(p)} | "
        f"{', '.join(sorted({c['domain'] for c in p['consumers']})) or '-'} |"
        for p in products
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/uri": str(out / "index.html"),
            "products": dg.MetadataValue.int(len(products)),
            "sample_queries_failed": dg.MetadataValue.json(failed),
            "products_table": dg.MetadataValue.md(
                "| product | owner | rows | SLOs | consumed by |\n|---|---|---|---|---|\n" + table
            ),
        }
    )


catalog_job = dg.define_asset_job("platform_catalog", selection=[CATALOG_KEY])
catalog_schedule = dg.ScheduleDefinition(
    job=catalog_job, cron_schedule="*/30 * * * *", default_status=dg.DefaultScheduleStatus.RUNNING
)
