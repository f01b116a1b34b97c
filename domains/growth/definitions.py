"""The growth code location: customer 360, churn features, scores and inference events, and DAU.

growth lands no events: every asset reads other domains' published Gold ports (pinned by
version in ``customer_360.py``) or growth's own products, and refreshes by itself when a
day it reads changes upstream.
"""

from domains.growth.churn import churn_features, churn_scores, model_inference_events
from domains.growth.contracts import CONTRACTS
from domains.growth.customer_360 import (
    CUSTOMER_360_READS,
    DAILY_ACTIVE_USERS_READS,
    customer_360,
    daily_active_users,
)
from platform_resources.location import domain_definitions
from platform_resources.products.derived import build_derived_product
from platform_resources.products.input_ports import ProductRead


def _own(name: str) -> ProductRead:
    return ProductRead(CONTRACTS[name])


growth_assets = [
    build_derived_product(CONTRACTS["customer_360"], CUSTOMER_360_READS, customer_360),
    build_derived_product(CONTRACTS["churn_features"], [_own("customer_360")], churn_features),
    build_derived_product(CONTRACTS["churn_scores"], [_own("churn_features")], churn_scores),
    build_derived_product(
        CONTRACTS["model_inference_events"],
        [_own("churn_scores"), _own("churn_features")],
        model_inference_events,
    ),
    build_derived_product(CONTRACTS["daily_active_users"], DAILY_ACTIVE_USERS_READS, daily_active_users),
]

defs = domain_definitions(
    "growth", owner="team:growth", contracts=CONTRACTS, assets=growth_assets, lands_events=False
)
