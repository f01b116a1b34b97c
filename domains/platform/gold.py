"""platform's Gold layer: the dbt project ``dbt/platform`` (daily service health, daily webhooks)."""

from pathlib import Path

from domains.platform.contracts import CONTRACTS
from platform_resources.products.dbt_gold import build_dbt_gold_assets

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt" / "platform"

platform_gold = build_dbt_gold_assets("platform", DBT_PROJECT_DIR, CONTRACTS)
