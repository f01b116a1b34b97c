"""storage: where tables and files live. The Iceberg catalog (SQLite or Postgres), the Iceberg
IO manager and table reads and writes (``iceberg_io.py``), the one adapter over pyiceberg's
private APIs (``pyiceberg_internals.py``), the scratch DuckDB staging of large frames, DuckDB
views of product tables, the S3 client and the buckets' encryption at rest.

May import: mesh, contracts, core."""
