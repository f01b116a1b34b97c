"""customers' Gold layer: the dbt project ``dbt/customers`` (daily signups)."""

from pathlib import Path

from domains.customers.contracts import CONTRACTS
from platform_resources.products.dbt_gold import build_dbt_gold_assets

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt" / "customers"

customers_gold = build_dbt_gold_assets("customers", DBT_PROJECT_DIR, CONTRACTS)
