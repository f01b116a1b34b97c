"""The payments code location: Bronze, Silver (payment events) and dbt Gold assets."""

from domains.payments.contracts import CONTRACTS
from domains.payments.gold import DBT_PROJECT_DIR, payments_gold
from domains.payments.silver import payments_silver_events
from platform_resources.location import domain_definitions

defs = domain_definitions(
    "payments",
    owner="team:payments",
    contracts=CONTRACTS,
    assets=[payments_silver_events, payments_gold],
    dbt_project_dir=DBT_PROJECT_DIR,
)
