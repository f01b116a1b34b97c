"""How assets run without a click: automation conditions, each location's automation sensor,
chunked backfills, bounded retries and the pool that serializes DuckDB writers.

Landing sensors run a domain's day from Bronze to Gold. Automation covers the rest:
products that read other days (entity states over a horizon, a consumer's lookback)
refresh the partitions whose inputs changed, so a late file for an old day updates every
day downstream that read it, across code locations. Eager automation only looks at the
latest partition; these conditions look at every partition.
"""

import dagster as dg

from platform_resources.core.settings import get_automation_interval_seconds

#: Long backfills run in chunks of this many days, one run per chunk (and per domain).
CHUNK_DAYS = 31
CHUNKED_BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=CHUNK_DAYS)
#: Steps retry twice, 10 s then 20 s later (+-jitter). A partition write replaces the
#: partition in one commit, so a retry never duplicates rows.
RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
#: Steps that stage in DuckDB and commit to the catalog; its limit is set in dagster.yaml.
DUCKDB_POOL = "duckdb_writers"


def on_upstream_change() -> dg.AutomationCondition:
    """Any partition (not only the latest) one of whose upstream partitions has updated."""
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("on_upstream_change")


def refresh_when_upstream_changes() -> dg.AutomationCondition:
    """Partitions already materialized whose inputs changed since (e.g. late data for a day they read)."""
    return (on_upstream_change() & ~dg.AutomationCondition.missing()).with_label(
        "refresh_when_upstream_changes"
    )


def build_automation_sensor(domain: str) -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        f"{domain}_automation",
        target=dg.AssetSelection.groups(domain),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=get_automation_interval_seconds(),
        description=f"Evaluates the automation conditions of {domain}'s assets.",
    )
