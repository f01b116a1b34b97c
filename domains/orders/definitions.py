"""The orders code location: Bronze, Silver and dbt Gold assets, contract checks and the landing sensor."""

from domains.orders.contracts import CONTRACTS
from domains.orders.gold import DBT_PROJECT_DIR, orders_gold
from domains.orders.silver import orders_silver_events, orders_silver_orders
from platform_resources.location import domain_definitions

defs = domain_definitions(
    "orders",
    owner="team:orders",
    contracts=CONTRACTS,
    assets=[orders_silver_events, orders_silver_orders, orders_gold],
    dbt_project_dir=DBT_PROJECT_DIR,
)
