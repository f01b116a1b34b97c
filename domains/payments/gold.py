"""payments' Gold layer: the dbt project ``dbt/payments`` (daily settlement by method and currency)."""

from pathlib import Path

from domains.payments.contracts import CONTRACTS
from platform_resources.products.dbt_gold import build_dbt_gold_assets

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt" / "payments"

payments_gold = build_dbt_gold_assets("payments", DBT_PROJECT_DIR, CONTRACTS)
