"""ingest: events in. The landing zone (local folder or S3) and its sensor, seed-002 envelope
validation with its quarantine reasons, and the Bronze assets with their line accounting.

May import: storage, mesh, contracts, core. Independent of privacy, quality and simulate."""
