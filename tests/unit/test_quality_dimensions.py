"""Quality dimensions: each one fails on data made to break it, with the measured value and its
threshold in the metadata; the contract decides whether a breach blocks publication."""

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from platform_resources.contracts.enforcement import hold_to_contract
from platform_resources.contracts.model import ContractError
from platform_resources.contracts.parsing import parse_contract
from platform_resources.contracts.specs import publish_if_passed
from platform_resources.quality.dimensions import (
    dimension_check_specs,
    quality_check_results,
)

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
RAW = {
    "domain": "orders",
    "layer": "silver",
    "name": "things",
    "version": "1.0.0",
    "owner": "team:orders",
    "grain": ["id"],
    "slo": {"freshness_minutes": 15, "completeness": 0.9, "accuracy": 0.95},
    "quality": {
        "max_failing_ratio": 1.0,  # the contract check tolerates anything: only the dimensions judge
        "blocking": ["uniqueness"],
        "timeliness": {"event_time": "event_ts", "available_at": "seen_at", "max_minutes": 5},
    },
    "columns": [
        {"name": "id", "type": "string", "required": True},
        {"name": "kind", "type": "string", "required": True, "allowed": ["a", "b"]},
        {"name": "amount", "type": "int64", "minimum": 0, "required_when": {"kind": ["a"]}},
        {"name": "event_ts", "type": "timestamp", "required": True},
        {"name": "seen_at", "type": "timestamp", "required": True},
    ],
}
CONTRACT = parse_contract(RAW)


def _frame(rows: list[tuple[str, str | None, int | None]], lag_minutes: float = 1.0) -> pl.DataFrame:
    return pl.DataFrame(
        [(i, k, a, T0, T0 + dt.timedelta(minutes=lag_minutes)) for i, k, a in rows],
        schema=CONTRACT.polars_schema(),
        orient="row",
    )


def _results(frame: pl.DataFrame) -> dict[str, dg.AssetCheckResult]:
    outcome = hold_to_contract(frame, CONTRACT)
    return {r.check_name: r for r in quality_check_results(outcome, frame)}


GOOD = [(f"id-{i}", "a", i) for i in range(20)]


def test_good_rows_meet_every_dimension() -> None:
    results = _results(_frame(GOOD))
    assert {n: r.passed for n, r in results.items()} == {
        "contract": True,
        "completeness": True,
        "accuracy": True,
        "uniqueness": True,
        "timeliness": True,
    }


@pytest.mark.parametrize(
    ("dimension", "breaking", "measured", "threshold"),
    [
        # 3 of 20 rows lack a value required for kind a: 17/20 present, below 0.9
        ("completeness", [(f"id-{i}", "a", None) for i in range(3)], 17 / 20, 0.9),
        # 2 of 20 rows have a negative amount: 18/20 accurate, below 0.95
        ("accuracy", [(f"id-{i}", "a", -1) for i in range(2)], 18 / 20, 0.95),
        # 2 rows repeat one id: 18/20 rows have a unique grain, below 1
        ("uniqueness", [("dup", "a", 5), ("dup", "b", 7)], 18 / 20, 1.0),
    ],
)
def test_data_breaking_a_dimension_fails_its_check_with_measured_and_threshold(
    dimension: str, breaking: list, measured: float, threshold: float
) -> None:
    results = _results(_frame(breaking + GOOD[len(breaking) :]))  # still 20 rows
    result = results[dimension]
    assert not result.passed
    assert result.metadata["measured"].value == pytest.approx(measured)
    assert result.metadata["threshold"].value == threshold
    assert result.metadata["rows_checked"].value == 20
    assert "BREACHED" in (result.description or "")
    assert all(r.passed for n, r in results.items() if n not in (dimension, "contract"))


def test_late_events_breach_timeliness_with_their_p95_lag() -> None:
    frame = _frame(GOOD, lag_minutes=12.5)  # every event became available 12.5 minutes after it happened
    result = _results(frame)["timeliness"]
    assert not result.passed
    assert result.metadata["measured"].value == 12.5
    assert result.metadata["threshold"].value == 5.0
    assert result.metadata["comparison"].value == "max"
    assert result.metadata["rows_late"].value == 20


def test_severity_follows_the_contract_a_blocking_breach_withholds_publication() -> None:
    specs = {s.name: s.blocking for s in dimension_check_specs(CONTRACT)}
    assert specs == {"completeness": False, "accuracy": False, "uniqueness": True, "timeliness": False}

    def publish(frame: pl.DataFrame) -> list:
        checks = list(_results(frame).values())
        out = [dg.Output(frame)]
        events = []
        try:
            events.extend(publish_if_passed(out, checks))
        except dg.Failure as failure:
            events.append(failure)
        return events

    incomplete = _frame([(f"id-{i}", "a", None) for i in range(3)] + GOOD[3:])  # a warning only
    events = publish(incomplete)
    assert any(isinstance(e, dg.Output) for e in events)
    assert not any(isinstance(e, dg.Failure) for e in events)

    repeated = _frame([("dup", "a", 5), ("dup", "b", 7), *GOOD[2:]])  # blocking
    events = publish(repeated)
    assert not any(isinstance(e, dg.Output) for e in events)
    assert "uniqueness" in events[-1].description


@pytest.mark.parametrize(
    ("quality", "message"),
    [
        ({"blocking": ["beauty"]}, "not dimensions"),
        ({"timeliness": {"event_time": "nope", "available_at": "seen_at"}}, "'nope', which is not a column"),
        ({"consistency": [{"name": "x", "sql": "SELECT 1, 1"}]}, "reads lists the tables"),
        (
            {"consistency": [{"name": "x", "sql": "SELECT 1, 1", "reads": ["a.b"], "severity": "fatal"}]},
            "severity is error",
        ),
    ],
)
def test_a_bad_quality_section_is_refused_with_the_fix(quality: dict, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        parse_contract({**RAW, "quality": quality})
