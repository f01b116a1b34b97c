"""The SLO report: per domain and product, how often each SLO was met over a window, the error
budget left, every breach with its cause, and who reads each product (adoption).

``slo_report`` gathers it from a Dagster instance, the contracts and the code locations'
definitions; ``report_files.write_slo_report`` writes its files.

- Evaluations of an SLO: the SUCCEEDED or FAILED evaluations of its check
  (``check_names.SLO_CHECKS``) on the product recorded in the window, by whatever recorded
  them (a location's freshness sensor, a run, a runless report).
- Attainment: passed / evaluations; None ("not measured") when never evaluated, never a
  guessed value.
- Error budget: the contract's ``objective`` allows ``(1 - objective) * evaluations``
  failures; budget left = ``1 - failed / allowed``: 1 untouched, 0 spent, below 0
  exhausted. The SLO is met while the budget left is not below 0 (attainment >= objective).
  None with no evaluation.
- A breach: consecutive failing evaluations (in time order, whatever their partition) of
  one check on one product. It starts at the first failure and ends at the next passing
  evaluation (None: ongoing); it carries how many evaluations failed, the worst measured
  value against its threshold (``measured``/``threshold``/``comparison`` metadata, or the
  freshness check's worst lag against its SLO, or the contract check's failing ratio), and
  its cause: that worst evaluation's description, and for freshness the late partitions
  with their lags. Breaches of the other quality checks (contract, uniqueness, timeliness,
  ``consistency_*``, and the anomaly checks, listed as warnings) are listed too; only the
  SLO checks spend a budget.
- Adoption: a product's consumers are the assets of other domains whose specs depend on it,
  with the columns they pin (their ``consumes`` metadata). A consumer's reads are its
  materializations in the window (each one read the product), with the last one's time.
  This counts the pipelines that read a product, not ad-hoc queries of its table, which
  nothing records.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from platform_resources.contracts.model import Contract
from platform_resources.core.check_names import (
    CONSISTENCY_PREFIX,
    CONTRACT,
    NULL_RATE_ANOMALY,
    SLO_CHECKS,
    TIMELINESS,
    UNIQUENESS,
    VOLUME_ANOMALY,
)
from platform_resources.mesh.workspace import asset_specs
from platform_resources.products.input_ports import consumes_of
from platform_resources.quality.partition_freshness import materializations

OTHER_CHECKS = (CONTRACT, UNIQUENESS, TIMELINESS, VOLUME_ANOMALY, NULL_RATE_ANOMALY)
WARNING_CHECKS = {VOLUME_ANOMALY, NULL_RATE_ANOMALY}
MET, EXHAUSTED, NOT_MEASURED = "met", "exhausted", "not measured"
_SLO_TARGETS = {"freshness": "freshness_minutes", "completeness": "completeness", "accuracy": "accuracy"}
#: Metadata keys of (measured, threshold, comparison), by preference: the quality checks' own,
#: then the freshness check's and the contract check's.
_MEASURES = (
    ("measured", "threshold", None),
    ("worst_lag_minutes", "slo_freshness_minutes", "max"),
    ("failing_ratio", "max_failing_ratio", "max"),
)
_RECORDED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
_PAGE = 1000


@dataclass
class SloAttainment:
    slo: str  # freshness | completeness | accuracy
    check: str
    target: float  # the SLO's value: minutes for freshness, a share of rows otherwise
    objective: float
    evaluations: int
    passed: int
    failed: int
    attainment: float | None
    allowed_failures: float | None
    budget_left: float | None
    status: str  # met | exhausted | not measured


@dataclass
class Breach:
    check: str
    slo: str | None  # the SLO whose budget it spends; None for the other quality checks
    severity: str  # error | warning
    start: str
    end: str | None  # the first passing evaluation after it; None: ongoing
    evaluations: int
    measured: float | None
    threshold: float | None
    comparison: str | None  # min: measured must reach the threshold; max: must not exceed it
    cause: str
    late_partitions: dict[str, float]
    partitions: list[str]


@dataclass
class ConsumerReads:
    domain: str
    asset: str
    columns: list[str]
    reads: int  # the consumer's materializations in the window
    last_read: str | None


@dataclass
class ProductSlo:
    uri: str
    domain: str
    asset_key: str
    slos: list[SloAttainment]
    breaches: list[Breach]
    consumers: list[ConsumerReads]


@dataclass
class DomainRollup:
    domain: str
    products: int
    slos: int
    slos_measured: int
    slos_met: int
    attainment: float | None  # passed / evaluations over all its products' SLO evaluations
    breaches: int
    ongoing_breaches: int
    worst_budget_left: float | None


@dataclass
class SloReport:
    generated: str
    window_days: int
    window_start: str
    window_end: str
    domains: list[DomainRollup]
    products: list[ProductSlo]


class _Evaluation(NamedTuple):
    timestamp: float
    partition: str | None
    evaluation: dg.AssetCheckEvaluation


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def _oldest_first(newest_first: list[_Evaluation]) -> list[_Evaluation]:
    return sorted(reversed(newest_first), key=lambda e: e.timestamp)  # ties keep their recording order


def _evaluations(
    instance: dg.DagsterInstance, key: dg.AssetCheckKey, since: float, until: float
) -> list[_Evaluation]:
    """The check's passed or failed evaluations recorded in [since, until], oldest first."""
    found: list[_Evaluation] = []
    cursor = None
    while True:
        records = instance.event_log_storage.get_asset_check_execution_history(
            key, limit=_PAGE, cursor=cursor, status=_RECORDED
        )
        for record in records:
            if record.create_timestamp < since:  # newest first, and evaluated no earlier than created
                return _oldest_first(found)
            evaluated = record.event.timestamp if record.event else record.create_timestamp
            if since <= evaluated <= until and record.evaluation is not None:
                found.append(_Evaluation(evaluated, record.partition, record.evaluation))
        if len(records) < _PAGE:
            return _oldest_first(found)
        cursor = records[-1].id


def _value(metadata: Mapping[str, Any], key: str) -> Any:
    value = metadata.get(key)
    return value.value if isinstance(value, dg.MetadataValue) else value


def _measure(metadata: Mapping[str, Any]) -> tuple[float | None, float | None, str | None]:
    for measured_key, threshold_key, comparison in _MEASURES:
        measured, threshold = _value(metadata, measured_key), _value(metadata, threshold_key)
        if isinstance(measured, int | float):
            return (
                float(measured),
                float(threshold) if isinstance(threshold, int | float) else None,
                _value(metadata, "comparison") or comparison,
            )
    return None, None, None


def _breach(check: str, slo: str | None, failures: Sequence[_Evaluation], end: float | None) -> Breach:
    measures = [_measure(f.evaluation.metadata) for f in failures]
    scored = [(m, f) for m, f in zip(measures, failures, strict=True) if m[0] is not None]
    measured = threshold = comparison = None
    worst = failures[-1]
    if scored:
        comparison = scored[0][0][2]
        if comparison == "max":
            scored = [max(scored, key=lambda s: s[0][0] or 0.0)]
        elif comparison == "min":
            scored = [min(scored, key=lambda s: s[0][0] or 0.0)]
        (measured, threshold, comparison), worst = scored[-1]
    late: dict[str, float] = {}
    for failure in failures:
        for day, lag in (_value(failure.evaluation.metadata, "late_partitions") or {}).items():
            late[day] = max(late.get(day, lag), lag)
    described = [f.evaluation.description for f in (worst, *reversed(failures)) if f.evaluation.description]
    warning = check in WARNING_CHECKS or worst.evaluation.severity == dg.AssetCheckSeverity.WARN
    return Breach(
        check=check,
        slo=slo,
        severity="warning" if warning else "error",
        start=_iso(failures[0].timestamp),
        end=None if end is None else _iso(end),
        evaluations=len(failures),
        measured=measured,
        threshold=threshold,
        comparison=comparison,
        cause=described[0] if described else f"{check} failed (no description recorded)",
        late_partitions=dict(sorted(late.items())),
        partitions=sorted({f.partition for f in failures if f.partition is not None}),
    )


def breaches(check: str, slo: str | None, evaluations: Sequence[_Evaluation]) -> list[Breach]:
    """Consecutive failing evaluations (oldest first) of one check, each run of them one breach."""
    found: list[Breach] = []
    failing: list[_Evaluation] = []
    for e in evaluations:
        if not e.evaluation.passed:
            failing.append(e)
        elif failing:
            found.append(_breach(check, slo, failing, end=e.timestamp))
            failing = []
    if failing:
        found.append(_breach(check, slo, failing, end=None))
    return found


def attainment(
    slo: str, check: str, target: float, objective: float, evaluations: Sequence[_Evaluation]
) -> SloAttainment:
    n = len(evaluations)
    passed = sum(1 for e in evaluations if e.evaluation.passed)
    failed = n - passed
    if n == 0:
        return SloAttainment(slo, check, target, objective, 0, 0, 0, None, None, None, NOT_MEASURED)
    allowed = (1 - objective) * n
    left = 1 - failed / allowed
    return SloAttainment(
        slo=slo,
        check=check,
        target=target,
        objective=objective,
        evaluations=n,
        passed=passed,
        failed=failed,
        attainment=round(passed / n, 6),
        allowed_failures=round(allowed, 6),
        budget_left=round(left, 6),
        status=MET if round(left, 9) >= 0 else EXHAUSTED,
    )


def _dependents(
    defs_by_domain: Mapping[str, dg.Definitions],
) -> dict[dg.AssetKey, list[tuple[str, dg.AssetSpec]]]:
    """Every asset's dependents across the code locations, with their domain."""
    found: dict[dg.AssetKey, list[tuple[str, dg.AssetSpec]]] = defaultdict(list)
    for domain, defs in defs_by_domain.items():
        for spec in asset_specs(defs):
            for dep in spec.deps:
                found[dep.asset_key].append((domain, spec))
    return found


def _reads(
    instance: dg.DagsterInstance, key: dg.AssetKey, since: float, until: float
) -> tuple[int, float | None]:
    """How many times ``key`` was materialized in [since, until), and when last."""
    times = [r.timestamp for r in materializations(instance, key, since, until)]
    return len(times), max(times, default=None)


def _rollup(domain: str, products: Sequence[ProductSlo]) -> DomainRollup:
    slos = [s for p in products for s in p.slos]
    measured = [s for s in slos if s.evaluations]
    evaluations = sum(s.evaluations for s in slos)
    found = [b for p in products for b in p.breaches]
    return DomainRollup(
        domain=domain,
        products=len(products),
        slos=len(slos),
        slos_measured=len(measured),
        slos_met=sum(1 for s in slos if s.status == MET),
        attainment=round(sum(s.passed for s in slos) / evaluations, 6) if evaluations else None,
        breaches=len(found),
        ongoing_breaches=sum(1 for b in found if b.end is None),
        worst_budget_left=min((s.budget_left for s in measured if s.budget_left is not None), default=None),
    )


def slo_report(
    instance: dg.DagsterInstance,
    contracts: Mapping[str, Contract],
    defs_by_domain: Mapping[str, dg.Definitions],
    window_days: int = 30,
    now: dt.datetime | None = None,
) -> SloReport:
    """The report over the ``window_days`` before ``now``, for every product version with an SLO."""
    now = now or dt.datetime.now(dt.UTC)
    since, until = (now - dt.timedelta(days=window_days)).timestamp(), now.timestamp()
    dependents = _dependents(defs_by_domain)
    reads: dict[dg.AssetKey, tuple[int, float | None]] = {}
    slo_of = {check: slo for slo, check in SLO_CHECKS.items()}
    order = {d: i for i, d in enumerate(defs_by_domain)}
    products = []
    for uri, contract in sorted(contracts.items(), key=lambda c: (order.get(c[1].domain, len(order)), c[0])):
        if contract.slo is None:
            continue
        key = contract.asset_key
        consistency = sorted(CONSISTENCY_PREFIX + rule.name for rule in contract.quality.consistency)
        checks = [*SLO_CHECKS.values(), *OTHER_CHECKS, *consistency]
        history = {
            check: _evaluations(instance, dg.AssetCheckKey(key, check), since, until) for check in checks
        }
        consumers = []
        for domain, spec in dependents.get(key, ()):
            if domain == contract.domain:
                continue
            if spec.key not in reads:
                reads[spec.key] = _reads(instance, spec.key, since, until)
            count, last = reads[spec.key]
            columns = list(consumes_of(spec).get(uri, ()))
            consumers.append(
                ConsumerReads(domain, spec.key.to_user_string(), columns, count, last and _iso(last))
            )
        products.append(
            ProductSlo(
                uri=uri,
                domain=contract.domain,
                asset_key=key.to_user_string(),
                slos=[
                    attainment(
                        slo,
                        check,
                        getattr(contract.slo, _SLO_TARGETS[slo]),
                        contract.slo.objective,
                        history[check],
                    )
                    for slo, check in SLO_CHECKS.items()
                ],
                breaches=sorted(
                    (b for check in checks for b in breaches(check, slo_of.get(check), history[check])),
                    key=lambda b: (b.start, b.check),
                ),
                consumers=sorted(consumers, key=lambda c: c.asset),
            )
        )
    domains = list(dict.fromkeys(p.domain for p in products))
    return SloReport(
        generated=_iso(dt.datetime.now(dt.UTC).timestamp()),
        window_days=window_days,
        window_start=_iso(since),
        window_end=_iso(until),
        domains=[_rollup(d, [p for p in products if p.domain == d]) for d in domains],
        products=products,
    )


def share_text(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:.2%}"


def budget_text(value: float | None) -> str:
    if value is None:
        return NOT_MEASURED
    return f"{EXHAUSTED} ({value:.2f})" if value < 0 else f"{value:.0%}"


def summary_rows(report: SloReport) -> list[list[str]]:
    """A header and one row per product: attainment per SLO, worst budget left, breaches (ongoing)."""
    header = ["domain", "product", *SLO_CHECKS, "budget left", "breaches"]
    rows = [header]
    for p in report.products:
        budgets = [s.budget_left for s in p.slos if s.budget_left is not None]
        ongoing = sum(1 for b in p.breaches if b.end is None)
        rows.append(
            [
                p.domain,
                p.uri.removeprefix("data://"),
                *(share_text(s.attainment) for s in p.slos),
                budget_text(min(budgets, default=None)),
                f"{len(p.breaches)}" + (f" ({ongoing} ongoing)" if ongoing else ""),
            ]
        )
    return rows
