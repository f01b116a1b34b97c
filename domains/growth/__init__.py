"""The growth domain: a consumer of the other domains' published ports (customer 360, churn, DAU)."""
