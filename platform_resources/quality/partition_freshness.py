"""Partition-aware freshness: how far each day of a product lags behind its inputs, against the SLO.

Dagster's FreshnessPolicy looks at an asset's last update, whatever the partition; a
late file for an old day leaves it green. Here, for each recent day D of a product:

- its inputs' last update: the newest materialization of the upstream partitions D reads
  (same day, or the window of a TimeWindowPartitionMapping);
- the product's last update of D;
- D lags when an input changed after the product's D (or the product never had D): its
  lag is ``now - the input's update``, and the check fails once a lag exceeds the
  contract's ``freshness_minutes``. A day the product never had whose own day never
  landed upstream is not behind: a forward window (orders' 30-day status horizon) reads
  later days, but a day no event of which ever arrived has nothing to publish.

The newest complete partition is the newest finished day whose product partition is
not behind its inputs; its age (``now`` minus the day's end) is reported too. Each
location's sensor evaluates these checks every 5 minutes (RUNNING, no run needed).
"""

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import dagster as dg

from platform_resources.contracts.model import Contract
from platform_resources.core.check_names import FRESHNESS

LOOKBACK_DAYS = 35  # the days measured: a month, plus the longest same-month lookback


@dataclass(frozen=True)
class PartitionFreshness:
    lags_minutes: dict[str, float]  # day -> minutes behind its inputs, for days that are behind
    newest_complete: str | None
    newest_complete_age_minutes: float | None
    days_measured: int

    @property
    def worst_lag_minutes(self) -> float:
        return max(self.lags_minutes.values(), default=0.0)


def materializations(
    instance: dg.DagsterInstance, key: dg.AssetKey, since: float, until: float | None = None
) -> Iterator[dg.EventLogRecord]:
    """Every materialization record of ``key`` in ``[since, until)``, a page at a time."""
    cursor = None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_timestamp=since, before_timestamp=until),
            limit=1000,
            cursor=cursor,
        )
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def latest_by_partition(instance: dg.DagsterInstance, key: dg.AssetKey, since: float) -> dict[str, float]:
    """The timestamp of the newest materialization of each partition of ``key`` since ``since``."""
    latest: dict[str, float] = {}
    for record in materializations(instance, key, since):
        partition = record.partition_key
        if partition is not None:
            latest[partition] = max(latest.get(partition, 0.0), record.timestamp)
    return latest


def _window(dep: dg.AssetDep) -> tuple[int, int]:
    mapping = dep.partition_mapping
    if isinstance(mapping, dg.TimeWindowPartitionMapping):
        return mapping.start_offset, mapping.end_offset
    return 0, 0


Updates = Callable[[dg.AssetKey], Mapping[str, float]]


def partition_updates(instance: dg.DagsterInstance, now: dt.datetime) -> Updates:
    """Each asset's newest materialization per partition, fetched once per asset however many read it."""
    since = (now - dt.timedelta(days=LOOKBACK_DAYS * 2)).timestamp()
    return cache(lambda key: latest_by_partition(instance, key, since))


def measure(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    deps: Sequence[dg.AssetDep],
    now: dt.datetime,
    updates: Updates | None = None,
) -> PartitionFreshness:
    """``updates`` shares the fetched materializations between the products of one evaluation."""
    updates = updates or partition_updates(instance, now)
    today = now.date()
    days = [today - dt.timedelta(days=n) for n in range(LOOKBACK_DAYS)]
    own = updates(key)
    upstream = [(updates(dep.asset_key), _window(dep)) for dep in deps]
    lags: dict[str, float] = {}
    newest_complete: dt.date | None = None
    for day in days:
        inputs = [
            by_day.get((day + dt.timedelta(days=offset)).isoformat(), 0.0)
            for by_day, (start, end) in upstream
            for offset in range(start, end + 1)
        ]
        changed = max(inputs, default=0.0)
        updated = own.get(day.isoformat())
        own_day = [by_day.get(day.isoformat(), 0.0) for by_day, (start, end) in upstream if start <= 0 <= end]
        never_landed = updated is None and bool(own_day) and max(own_day) == 0.0
        behind = changed > 0 and not never_landed and (updated is None or changed > updated)
        if behind:
            lags[day.isoformat()] = round((now.timestamp() - changed) / 60, 2)
        elif updated is not None and day < today and (newest_complete is None or day > newest_complete):
            newest_complete = day
    age = None
    if newest_complete is not None:
        end = dt.datetime.combine(newest_complete + dt.timedelta(days=1), dt.time(), dt.UTC)
        age = round((now - end).total_seconds() / 60, 2)
    return PartitionFreshness(
        lags_minutes=lags,
        newest_complete=newest_complete.isoformat() if newest_complete else None,
        newest_complete_age_minutes=age,
        days_measured=len(days),
    )


def evaluation(contract: Contract, freshness: PartitionFreshness) -> dg.AssetCheckEvaluation:
    """The check's outcome: failed when a day lags beyond the SLO, with every lag as metadata."""
    slo = contract.slo.freshness_minutes if contract.slo else None
    late = {day: lag for day, lag in freshness.lags_minutes.items() if slo is not None and lag > slo}
    return dg.AssetCheckEvaluation(
        asset_key=contract.asset_key,
        check_name=FRESHNESS,
        passed=not late,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "worst_lag_minutes": dg.MetadataValue.float(freshness.worst_lag_minutes),
            "slo_freshness_minutes": dg.MetadataValue.int(slo or 0),
            "late_partitions": dg.MetadataValue.json(late),
            "behind_partitions": dg.MetadataValue.json(freshness.lags_minutes),
            "newest_complete_partition": dg.MetadataValue.text(freshness.newest_complete or ""),
            "newest_complete_age_minutes": dg.MetadataValue.float(
                freshness.newest_complete_age_minutes or 0.0
            ),
            "days_measured": dg.MetadataValue.int(freshness.days_measured),
        },
        description=None
        if not late
        else (
            f"{len(late)} partition(s) behind their inputs beyond the {slo}-minute SLO: "
            + ", ".join(f"{day} by {lag:.1f} min" for day, lag in sorted(late.items()))
        ),
    )


def build_partition_freshness_checks(
    domain: str, specs: Iterable[dg.AssetSpec], contracts: Mapping[dg.AssetKey, Contract]
) -> tuple[dg.AssetChecksDefinition, dg.SensorDefinition] | None:
    """One check per product of the domain, and the sensor that evaluates them every 5 minutes.

    The sensor records the evaluations itself (no run, so the run queue stays free for
    data); the checks can also be run by hand or with their assets.
    """
    products = [s for s in specs if s.key in contracts and contracts[s.key].slo is not None]
    if not products:
        return None
    deps = {s.key: list(s.deps) for s in products}

    def evaluations(
        instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey]
    ) -> list[dg.AssetCheckEvaluation]:
        now = dt.datetime.now(dt.UTC)
        updates = partition_updates(instance, now)
        return [evaluation(contracts[key], measure(instance, key, deps[key], now, updates)) for key in keys]

    @dg.multi_asset_check(
        name=f"{domain}_partition_freshness",
        specs=[
            dg.AssetCheckSpec(
                FRESHNESS,
                asset=s.key,
                description="Each recent day's lag behind its inputs against the contract's freshness SLO.",
            )
            for s in products
        ],
        can_subset=True,
    )
    def checks(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        selected = [k.asset_key for k in context.selected_asset_check_keys]
        for e in evaluations(context.instance, selected):
            yield dg.AssetCheckResult(
                asset_key=e.asset_key,
                check_name=e.check_name,
                passed=e.passed,
                severity=e.severity,
                metadata=e.metadata,
                description=e.description,
            )

    @dg.sensor(
        name=f"{domain}_partition_freshness",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Evaluates {domain}'s partition_freshness checks every 5 minutes (no run).",
    )
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        return dg.SensorResult(asset_events=evaluations(context.instance, deps))

    return checks, sensor
