"""orders' Gold layer: the dbt project ``dbt/orders`` (daily revenue, orders by status, product sales)."""

from pathlib import Path

from domains.orders.contracts import CONTRACTS
from platform_resources.products.dbt_gold import build_dbt_gold_assets

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt" / "orders"

orders_gold = build_dbt_gold_assets("orders", DBT_PROJECT_DIR, CONTRACTS)
