"""contracts: the data contract. Its model (``model.py``), the parsing of a domain's YAML files
(``parsing.py``), enforcement of a frame against it with pandera (``enforcement.py``), the
column types it maps to polars, Iceberg and DuckDB (``column_types.py``), and the Dagster
asset and check specs generated from it (``specs.py``).

May import: core."""
