"""The customers code location: Bronze, Silver (events, customer dimension) and dbt Gold assets."""

from domains.customers.contracts import CONTRACTS
from domains.customers.gold import DBT_PROJECT_DIR, customers_gold
from domains.customers.silver import customers_silver_customers, customers_silver_events
from platform_resources.location import domain_definitions

defs = domain_definitions(
    "customers",
    owner="team:customers",
    contracts=CONTRACTS,
    assets=[customers_silver_events, customers_silver_customers, customers_gold],
    dbt_project_dir=DBT_PROJECT_DIR,
)
