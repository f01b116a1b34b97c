"""The inventory code location: Bronze, Silver (stock movements) and dbt Gold assets."""

from domains.inventory.contracts import CONTRACTS
from domains.inventory.gold import DBT_PROJECT_DIR, inventory_gold
from domains.inventory.silver import inventory_silver_events
from platform_resources.location import domain_definitions

defs = domain_definitions(
    "inventory",
    owner="team:inventory",
    contracts=CONTRACTS,
    assets=[inventory_silver_events, inventory_gold],
    dbt_project_dir=DBT_PROJECT_DIR,
)
