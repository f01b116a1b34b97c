"""core: the bottom room. Settings from the environment, the daily partitions, automation
and retry policies, check names, Markdown tables, and the keys every room agrees on
(``keys.py``: resource and metadata keys, the dbt executable, the repository root).

May import: nothing of the platform (third-party libraries only)."""
