"""governance: federated governance as code. The global rules every product follows (``rules.py``)
and the classification of contract changes with the consumers they would break.

May import: products and everything below it. Independent of slo and upkeep."""
