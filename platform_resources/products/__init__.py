"""products: the data products a domain builds. Silver event products, horizon (current state)
and derived products, the ports read (``input_ports.py``: pins by URI) and published
(``output_ports.py``: files and streams), and dbt Gold: its write-audit-publish assets, its
resource and the dbt model contracts generated from the data contracts.

May import: ingest, privacy, quality, simulate, storage, mesh, contracts, core."""
