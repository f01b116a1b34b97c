"""Quality dimensions measured in a product's own step, as asset checks Dagster plots over time.

From the rows a step is about to publish (before any is rejected) and the outcome of
holding them to their contract:

- ``completeness``: the share of rows with every required value present (``required``
  and ``required_when`` rules), against the SLO's ``completeness``;
- ``accuracy``: the share of rows passing every value rule (ranges, allowed values,
  patterns, the step's own rules such as the landing day), against the SLO's ``accuracy``;
- ``uniqueness``: the share of rows whose grain (or unique column) is not repeated, against 1;
- ``timeliness``: the p95 of minutes from event time to availability, against the
  contract's ``quality.timeliness.max_minutes`` (only where the contract declares it).

Each result carries ``measured``, ``threshold`` and ``comparison`` (``check_names``). A
dimension the contract lists in ``quality.blocking`` is an ERROR (a breach stops
publication: ``publish_if_passed``); the others are warnings.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
import polars as pl

from platform_resources.contracts.enforcement import ContractOutcome
from platform_resources.contracts.model import Contract
from platform_resources.contracts.specs import contract_check_spec
from platform_resources.core.check_names import ACCURACY, COMPLETENESS, TIMELINESS, UNIQUENESS

UNIQUENESS_CHECKS = ("field_uniqueness", "multiple_fields_uniqueness")
COMPLETENESS_CHECKS = ("not_nullable",)
REQUIRED_WHEN = " required when "  # in the name of a ``required_when`` rule's check


@dataclass(frozen=True)
class Measure:
    dimension: str
    measured: float
    threshold: float
    comparison: str  # "min": measured >= threshold passes; "max": measured <= threshold
    unit: str  # "share" or "minutes"
    details: dict[str, float | int]

    @property
    def passed(self) -> bool:
        if self.comparison == "min":
            return self.measured >= self.threshold
        return self.measured <= self.threshold


def dimensions(contract: Contract) -> list[str]:
    """The dimensions measured for a product: those its contract gives a threshold for."""
    found = [COMPLETENESS, ACCURACY] if contract.slo else []
    if contract.grain or any(c.unique for c in contract.columns):
        found.append(UNIQUENESS)
    if contract.quality.timeliness:
        found.append(TIMELINESS)
    return found


def _severity(contract: Contract, dimension: str) -> dg.AssetCheckSeverity:
    blocking = dimension in contract.quality.blocking
    return dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN


_DESCRIPTIONS = {
    COMPLETENESS: "Share of rows with every required value present",
    ACCURACY: "Share of rows passing every value rule (ranges, allowed values, patterns)",
    UNIQUENESS: "Share of rows whose grain is not repeated",
    TIMELINESS: "p95 minutes from event time to availability",
}


def dimension_check_specs(contract: Contract) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            dimension,
            asset=contract.asset_key,
            blocking=dimension in contract.quality.blocking,
            description=f"{_DESCRIPTIONS[dimension]} "
            f"({'blocking' if dimension in contract.quality.blocking else 'warning'}).",
        )
        for dimension in dimensions(contract)
    ]


def _rows_failing(outcome: ContractOutcome, checks: pl.Expr) -> int:
    return outcome.failure_cases.filter(checks & pl.col("index").is_not_null())["index"].n_unique()


def measures(outcome: ContractOutcome, rows_timed: pl.DataFrame | None = None) -> list[Measure]:
    """Each dimension of the product, measured over the rows checked.

    ``rows_timed``: the rows (at least the contract's timeliness columns), when the
    contract declares timeliness.
    """
    contract, rows = outcome.contract, outcome.rows_checked
    check = pl.col("check")
    missing = check.is_in(COMPLETENESS_CHECKS) | check.str.contains(REQUIRED_WHEN, literal=True)
    repeated = check.is_in(UNIQUENESS_CHECKS)
    failing = {
        COMPLETENESS: _rows_failing(outcome, missing),
        UNIQUENESS: _rows_failing(outcome, repeated),
        ACCURACY: _rows_failing(outcome, ~missing & ~repeated),
    }
    thresholds = {UNIQUENESS: 1.0}
    if contract.slo:
        thresholds |= {COMPLETENESS: contract.slo.completeness, ACCURACY: contract.slo.accuracy}
    found = []
    for dimension in dimensions(contract):
        if dimension == TIMELINESS:
            found.append(_timeliness(contract, rows_timed))
            continue
        share = 1 - failing[dimension] / rows if rows else 1.0
        found.append(
            Measure(
                dimension,
                round(share, 6),
                thresholds[dimension],
                "min",
                "share",
                {"rows_checked": rows, "failing_rows": failing[dimension]},
            )
        )
    return found


def _timeliness(contract: Contract, rows: pl.DataFrame | None) -> Measure:
    """The rows' minutes from event time to availability, per the contract's columns."""
    rule = contract.quality.timeliness
    assert rule is not None and rows is not None, f"{contract.product_id}: timeliness not measured"
    lags = rows.select(
        ((pl.col(rule.available_at) - pl.col(rule.event_time)).dt.total_milliseconds() / 60_000).alias("lag")
    )["lag"].drop_nulls()

    def minutes(value: object) -> float:
        return round(float(value), 2) if isinstance(value, int | float) else 0.0

    return Measure(
        TIMELINESS,
        minutes(lags.quantile(0.95)),
        rule.max_minutes,
        "max",
        "minutes",
        {
            "rows_checked": len(lags),
            "p50_minutes": minutes(lags.quantile(0.5)),
            "max_minutes": minutes(lags.max()),
            "rows_late": int((lags > rule.max_minutes).sum()),
        },
    )


def _described(measure: Measure, contract: Contract) -> str:
    if measure.unit == "minutes" and not measure.details["rows_checked"]:
        return f"{measure.dimension} not measured for {contract.product_id}: no timed rows (no live events)"
    if measure.unit == "minutes":
        value = f"p95 {measure.measured:.1f} min, allowed at most {measure.threshold:g} min"
    else:
        rows = measure.details["rows_checked"]
        value = f"{measure.measured:.2%} of {rows} rows, required at least {measure.threshold:.2%}"
    verdict = "met" if measure.passed else "BREACHED"
    return f"{measure.dimension} {verdict} for {contract.product_id}: {value}"


def _result(contract: Contract, m: Measure) -> dg.AssetCheckResult:
    details = {
        k: dg.MetadataValue.int(v) if isinstance(v, int) else dg.MetadataValue.float(v)
        for k, v in m.details.items()
    }
    return dg.AssetCheckResult(
        asset_key=contract.asset_key,
        check_name=m.dimension,
        passed=m.passed,
        severity=_severity(contract, m.dimension),
        metadata={
            "measured": dg.MetadataValue.float(m.measured),
            "threshold": dg.MetadataValue.float(float(m.threshold)),
            "comparison": m.comparison,
            "unit": m.unit,
            **details,
        },
        description=_described(m, contract),
    )


def quality_check_results(
    outcome: ContractOutcome, rows_timed: pl.DataFrame | None = None, extra: dict | None = None
) -> list[dg.AssetCheckResult]:
    """The contract check's result (``extra`` added to its metadata) and each dimension's.

    ``rows_timed``: the rows checked (or their timeliness columns), for a contract that
    declares timeliness.
    """
    contract = outcome.contract
    return [
        outcome.check_result(contract.asset_key, extra),
        *(_result(contract, m) for m in measures(outcome, rows_timed)),
    ]


def quality_check_specs(contracts: Iterable[Contract]) -> list[dg.AssetCheckSpec]:
    """The contract check and the dimension checks of each product a step publishes."""
    return [spec for c in contracts for spec in (contract_check_spec(c), *dimension_check_specs(c))]
