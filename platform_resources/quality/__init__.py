"""quality: the dimensions measured on each write (completeness, accuracy, uniqueness,
timeliness), the per-location table checks (consistency reconciliations, volume and null-rate
anomalies) and the partition-aware freshness check with its sensor.

May import: storage, mesh, contracts, core. Independent of ingest, privacy and simulate."""
