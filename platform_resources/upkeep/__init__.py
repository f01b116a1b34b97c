"""upkeep: the tables kept in shape. Compaction, snapshot expiry with its files and the orphan
sweep (``table_maintenance.py``), and retention by tier.

May import: products and everything below it. Independent of slo and governance."""
