"""The orders code location: Bronze, Silver and dbt Gold assets, contract checks and the landing sensor."""

import dagster as dg

from domains.orders.gold import DBT_PROJECT_DIR, orders_gold
from domains.orders.silver import orders_silver_events, orders_silver_orders
from platform_resources.bronze import build_bronze_assets
from platform_resources.resources import platform_resources

defs = dg.Definitions(
    assets=[build_bronze_assets("orders", owner="team:orders"), orders_silver_events, orders_silver_orders, orders_gold],
    resources=platform_resources(dbt_project_dir=DBT_PROJECT_DIR),
)
