"""slo: service level objectives read back from the Dagster instance. The report's computation
(``report.py``) apart from its files (``report_files.py``: HTML, CSV, PNG charts), and the
alerting sensor.

May import: products and everything below it. Independent of governance and upkeep."""
