"""Checks over a domain's published tables after they are written: reconciliations and anomalies.

One multi-asset check per domain (``<domain>_table_checks``), run in the daily job after
the assets it reads, over the run's partition window (the last 7 days when run alone):

- ``consistency_<name>``: a contract's reconciliation across tables or domains (SQL over
  ``<domain>.<layer>_<name>`` views of the window; another domain's tables through its
  published ports only; a table not written yet is empty); passes while the consistent
  share stays at or above its minimum; ERROR (blocking downstream) or warning per contract.
- ``volume_anomaly`` and ``null_rate_anomaly`` (warnings): each checked day's rows, and
  each nullable column's null share, against the ``TRAILING_DAYS`` partitions before
  it, from the Iceberg data files' metadata (no data read). The expected range is the
  trailing median +/- 3 scaled MADs, widened to at least ``VOLUME_TOLERANCE`` of the
  median (rows) or ``NULL_RATE_TOLERANCE`` (null share); with fewer than
  ``MIN_HISTORY`` trailing days the check passes and says the history is too short.
"""

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
import pyarrow as pa
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.contracts.model import Contract, Reconciliation
from platform_resources.core.check_names import CONSISTENCY_PREFIX, NULL_RATE_ANOMALY, VOLUME_ANOMALY
from platform_resources.core.partitions import days_of, time_window_dates
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.product_sql import query_connection

TRAILING_DAYS = 14
MIN_HISTORY = 7
VOLUME_TOLERANCE = 0.2  # at least +/- 20% of the median day
NULL_RATE_TOLERANCE = 0.05  # at least +/- 5 points of null share
DEFAULT_DAYS = 7  # the days checked when the check runs outside a partitioned run
MAD_SCALE = 1.4826  # a MAD scaled to a standard deviation for normal data


@dataclass(frozen=True)
class Expected:
    low: float
    high: float
    median: float
    history: int  # trailing days it was computed from

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


def expected_range(history: Sequence[float], tolerance: float, *, relative: bool) -> Expected | None:
    """The range a day's value is expected in, from the trailing days' values (None: too few)."""
    if len(history) < MIN_HISTORY:
        return None
    median = statistics.median(history)
    mad = statistics.median(abs(v - median) for v in history) * MAD_SCALE
    spread = max(3 * mad, tolerance * median if relative else tolerance)
    return Expected(max(median - spread, 0.0), median + spread, median, len(history))


@dataclass(frozen=True)
class DayStats:
    rows: int
    nulls: dict[str, int]  # column -> null values


def day_stats(contract: Contract) -> dict[dt.date, DayStats]:
    """Rows and null counts per partition day, from the table's data file metadata."""
    table = load_catalog().load_table(contract.product_id)
    try:
        files = table.inspect.files().to_pylist()
    except pa.ArrowInvalid:  # pyiceberg cannot list the files of a table that has none
        return {}
    schema = table.schema()
    nullable = {c.name for c in contract.columns if not c.required}
    rows: dict[dt.date, int] = defaultdict(int)
    nulls: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in files:
        day = f["partition"].get(contract.partition_column)
        if day is None:
            continue
        rows[day] += f["record_count"]
        for field_id, count in f["null_value_counts"] or []:  # an Arrow map: (key, value) pairs
            name = schema.find_column_name(field_id)
            if name in nullable:
                nulls[day][name] += count
    return {day: DayStats(rows[day], dict(nulls[day])) for day in rows}


def _history(stats: Mapping[dt.date, DayStats], day: dt.date) -> list[dt.date]:
    return [d for d in (day - dt.timedelta(days=n) for n in range(1, TRAILING_DAYS + 1)) if d in stats]


def volume_evaluation(
    contract: Contract, stats: Mapping[dt.date, DayStats], days: Sequence[dt.date]
) -> dg.AssetCheckResult:
    report, anomalous, short = {}, [], []
    for day in days:
        rows = stats[day].rows if day in stats else 0
        expected = expected_range(
            [stats[d].rows for d in _history(stats, day)], VOLUME_TOLERANCE, relative=True
        )
        if expected is None:
            short.append(day.isoformat())
            continue
        report[day.isoformat()] = {"rows": rows, "low": round(expected.low), "high": round(expected.high)}
        if not expected.holds(rows):
            anomalous.append(
                f"{day}: {rows:,} rows, expected {expected.low:,.0f}-{expected.high:,.0f} "
                f"(median {expected.median:,.0f} of {expected.history} days before)"
            )
    last = report.get(days[-1].isoformat()) if days else None
    return _result(contract, VOLUME_ANOMALY, "rows", report, anomalous, short, last and last["rows"])


def null_rate_evaluation(
    contract: Contract, stats: Mapping[dt.date, DayStats], days: Sequence[dt.date]
) -> dg.AssetCheckResult:
    report, anomalous, short = {}, [], []
    worst = 0.0
    columns = [c.name for c in contract.columns if not c.required]
    for day in days:
        if day not in stats or not stats[day].rows:
            continue
        history = _history(stats, day)
        if len(history) < MIN_HISTORY:
            short.append(day.isoformat())
            continue
        for column in columns:
            share = stats[day].nulls.get(column, 0) / stats[day].rows
            worst = max(worst, share)
            trailing = [stats[d].nulls.get(column, 0) / stats[d].rows for d in history if stats[d].rows]
            expected = expected_range(trailing, NULL_RATE_TOLERANCE, relative=False)
            if expected is None:
                continue
            high = min(expected.high, 1.0)  # a share
            report.setdefault(day.isoformat(), {})[column] = {
                "null_share": round(share, 4),
                "low": round(expected.low, 4),
                "high": round(high, 4),
            }
            if not expected.holds(share):
                anomalous.append(
                    f"{day} {column}: {share:.1%} null, "
                    f"expected {expected.low:.1%}-{high:.1%} "
                    f"(median {expected.median:.1%} of {expected.history} days before)"
                )
    return _result(contract, NULL_RATE_ANOMALY, "null share", report, anomalous, short, worst)


def _result(
    contract: Contract,
    name: str,
    what: str,
    report: dict,
    anomalous: list[str],
    short: list[str],
    measured: float | None,
) -> dg.AssetCheckResult:
    if anomalous:
        description = f"{len(anomalous)} {what} anomal{'y' if len(anomalous) == 1 else 'ies'}: " + "; ".join(
            anomalous
        )
    elif report:
        description = f"{what} within the expected range on every checked day"
    else:
        description = f"not enough history: fewer than {MIN_HISTORY} of the {TRAILING_DAYS} days before"
    return dg.AssetCheckResult(
        asset_key=contract.asset_key,
        check_name=name,
        passed=not anomalous,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "measured": dg.MetadataValue.float(float(measured or 0.0)),
            "comparison": "range",
            "anomalies": dg.MetadataValue.int(len(anomalous)),
            "days": dg.MetadataValue.json(report),
            "days_with_short_history": dg.MetadataValue.json(short),
        },
        description=description,
    )


def consistency_evaluation(
    contract: Contract,
    rule: Reconciliation,
    readable: Mapping[str, Contract],
    window: tuple[dt.date, dt.date],
) -> dg.AssetCheckResult:
    """Run the rule's SQL over the window's views of the tables it reads."""
    con = query_connection([readable[t] for t in rule.reads], window, empty_if_missing=True)
    try:
        consistent, checked = con.sql(rule.sql).fetchone() or (0, 0)
    finally:
        con.close()
    consistent, checked = int(consistent or 0), int(checked or 0)
    share = consistent / checked if checked else 1.0
    passed = share >= rule.minimum
    return dg.AssetCheckResult(
        asset_key=contract.asset_key,
        check_name=CONSISTENCY_PREFIX + rule.name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if rule.blocking else dg.AssetCheckSeverity.WARN,
        metadata={
            "measured": dg.MetadataValue.float(round(share, 6)),
            "threshold": dg.MetadataValue.float(rule.minimum),
            "comparison": "min",
            "consistent": dg.MetadataValue.int(consistent),
            "checked": dg.MetadataValue.int(checked),
            "inconsistent": dg.MetadataValue.int(checked - consistent),
            "window": f"[{window[0]}, {window[1]})",
        },
        description=f"{rule.description or rule.name}: {share:.2%} of {checked} consistent "
        f"({checked - consistent} not), required at least {rule.minimum:.0%}"
        + ("" if passed else " - BREACHED"),
    )


def _window(context: dg.AssetCheckExecutionContext) -> tuple[dt.date, dt.date]:
    if context.has_partition_key or context.has_partition_key_range:
        return time_window_dates(context.partition_time_window)
    today = dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=DEFAULT_DAYS - 1), today + dt.timedelta(days=1)


def build_table_checks(
    domain: str, contracts: Mapping[str, Contract], readable: Mapping[str, Contract]
) -> dg.AssetChecksDefinition | None:
    """The domain's reconciliation and anomaly checks; ``readable``: every product by table id."""
    specs: list[dg.AssetCheckSpec] = []
    rules: dict[dg.AssetCheckKey, tuple[Contract, Reconciliation | None]] = {}
    for contract in contracts.values():
        if contract.layer == "bronze" or not contract.partition_column:
            continue
        for rule in contract.quality.consistency:
            if missing := [t for t in rule.reads if t not in readable]:
                raise dg.DagsterInvalidDefinitionError(
                    f"{contract.uri} consistency {rule.name} reads unknown tables {missing}"
                )
            if private := [
                t for t in rule.reads if readable[t].domain != domain and not readable[t].published
            ]:
                raise dg.DagsterInvalidDefinitionError(
                    f"{contract.uri} consistency {rule.name} reads {private}: another domain's "
                    "tables are readable through their output ports only"
                )
            spec = dg.AssetCheckSpec(
                CONSISTENCY_PREFIX + rule.name,
                asset=contract.asset_key,
                blocking=rule.blocking,
                description=rule.description or rule.name,
                additional_deps=[
                    readable[t].asset_key for t in rule.reads if readable[t].asset_key != contract.asset_key
                ],
            )
            specs.append(spec)
            rules[spec.key] = (contract, rule)
        for name in (VOLUME_ANOMALY, NULL_RATE_ANOMALY):
            spec = dg.AssetCheckSpec(
                name,
                asset=contract.asset_key,
                description=f"{'Rows' if name == VOLUME_ANOMALY else 'Null share per column'} per day "
                f"against the {TRAILING_DAYS} days before (warning).",
            )
            specs.append(spec)
            rules[spec.key] = (contract, None)
    if not specs:
        return None

    @dg.multi_asset_check(name=f"{domain}_table_checks", specs=specs, can_subset=True)
    def table_checks(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        window = _window(context)
        days = days_of(window)
        stats: dict[dg.AssetKey, Mapping[dt.date, DayStats]] = {}
        for key in sorted(context.selected_asset_check_keys, key=lambda k: k.to_user_string()):
            contract, rule = rules[key]
            if rule is not None:
                yield consistency_evaluation(contract, rule, readable, window)
                continue
            if contract.asset_key not in stats:
                try:
                    stats[contract.asset_key] = day_stats(contract)
                except NoSuchTableError:
                    stats[contract.asset_key] = {}
            evaluate = volume_evaluation if key.name == VOLUME_ANOMALY else null_rate_evaluation
            yield evaluate(contract, stats[contract.asset_key], days)

    return table_checks
