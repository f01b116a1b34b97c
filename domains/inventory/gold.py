"""inventory' Gold layer: the dbt project ``dbt/inventory`` (daily stock levels and low-stock flags)."""

from pathlib import Path

from domains.inventory.contracts import CONTRACTS
from platform_resources.products.dbt_gold import build_dbt_gold_assets

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt" / "inventory"

inventory_gold = build_dbt_gold_assets("inventory", DBT_PROJECT_DIR, CONTRACTS)
