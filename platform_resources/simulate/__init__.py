"""simulate: building blocks of the domains' event simulators (vectorized ids, faults, landing
files) and the order world that the orders and payments simulators share.

May import: storage, mesh, contracts, core. Independent of ingest, privacy and quality."""
