"""Quality checks on real runs: orders' landing files made to break a dimension or a reconciliation,
and tables whose newest day breaks the trailing volume and null-rate pattern."""

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from domains.orders.contracts import CONTRACTS
from domains.orders.simulate import simulate as simulate_orders
from domains.payments.contracts import CONTRACTS as CONTRACTS_OF_PAYMENTS
from domains.payments.simulate import simulate as simulate_payments
from platform_resources.mesh.workspace import domain_module, products_by_table
from platform_resources.quality.table_checks import (
    consistency_evaluation,
    day_stats,
    null_rate_evaluation,
    volume_evaluation,
)
from platform_resources.simulate.landing_faults import FaultRates
from platform_resources.storage.iceberg_io import read_table
from tests.conftest import order_created, write_landing
from tests.integration.conftest import check, publish_day, rows, run_orders

pytestmark = pytest.mark.integration
D = dt.date(2026, 11, 20)


def _orders(n: int, prefix: str = "o") -> list[dict]:
    return [order_created(f"{prefix}-{i}", ts=f"{D}T{i % 24:02d}:00:00Z") for i in range(n)]


def test_orders_made_to_break_completeness_and_consistency_fail_those_checks_a_late_file_is_not_timed(
    home, instance
) -> None:
    """One run (a run costs ~30 s): each breach is a warning in orders' contracts."""
    incomplete = order_created("no-method", ts=f"{D}T12:00:00Z")
    del incomplete["data"]["metadata"]["paymentMethod"]  # required for order.created
    wrong = order_created("wrong-total", total=99.0, ts=f"{D}T13:00:00Z")  # its items sum to 30.00
    write_landing(home, D, "a.jsonl", [*_orders(48), incomplete, wrong])

    result = run_orders(instance, D)
    assert result.success  # warnings only: nothing is withheld

    completeness = check(result, "orders/silver/order_events", "completeness")
    assert not completeness.passed
    assert completeness.metadata["measured"].value == pytest.approx(49 / 50)
    assert completeness.metadata["threshold"].value == 0.99  # the contract's SLO
    accuracy = check(result, "orders/silver/order_events", "accuracy")
    assert accuracy.passed and accuracy.metadata["measured"].value == 1.0
    # the 49 complete events are published, the incomplete one is kept with its reason
    assert check(result, "orders/silver/order_events", "contract").passed
    assert rows("orders.silver_order_events") == 49
    assert rows("orders.silver_rejected") == 1

    # a file of D landed days later is a batch delivery: timeliness is the live path's measure
    timeliness = check(result, "orders/silver/order_events", "timeliness")
    assert timeliness.passed and timeliness.metadata["rows_checked"].value == 0
    assert timeliness.description and "not measured" in timeliness.description

    consistency = check(result, "orders/silver/orders", "consistency_totals_match_items")
    assert not consistency.passed
    assert consistency.metadata["measured"].value == pytest.approx(48 / 49)
    assert consistency.metadata["threshold"].value == 0.98
    assert consistency.metadata["inconsistent"].value == 1
    assert rows("orders.silver_orders") == 49


def _silver_orders(day: dt.date, n: int, null_country: float) -> pl.DataFrame:
    contract = CONTRACTS["orders"]
    at = dt.datetime.combine(day, dt.time(10), dt.UTC)
    nulls = round(n * null_country)
    return pl.DataFrame(
        {
            "order_id": [f"{day}-{i}" for i in range(n)],
            "user_token": ["tok_" + "a" * 32] * n,
            "order_date": [day] * n,
            "created_at": [at] * n,
            "total_amount": ["10.00"] * n,
            "currency": ["EUR"] * n,
            "payment_method": ["card"] * n,
            "item_count": [1] * n,
            "ship_country": [None] * nulls + ["GB"] * (n - nulls),
            "shipping_address_token": ["tok_" + "b" * 32] * n,
            "status": ["paid"] * n,
            "status_updated_at": [at] * n,
            "refunded_amount": [None] * n,
        }
    ).cast(dict(contract.polars_schema()))


def test_a_day_off_its_trailing_pattern_is_an_anomaly_with_the_expected_range(home) -> None:
    contract = CONTRACTS["orders"]
    history = [D - dt.timedelta(days=n) for n in range(10, 0, -1)]
    for day in history:  # ten ordinary days: 100 orders, 5% without a shipping country
        publish_day(contract, _silver_orders(day, 100, 0.05), day)
    publish_day(contract, _silver_orders(D, 30, 1.0), D)  # then 30 orders, none with a shipping country
    stats = day_stats(contract)

    volume = volume_evaluation(contract, stats, [D])
    assert not volume.passed  # median 100, no spread: the floor of +/-20% gives 80-120
    assert volume.metadata["days"].value == {D.isoformat(): {"rows": 30, "low": 80, "high": 120}}
    assert "30 rows, expected 80-120 (median 100 of 10 days before)" in volume.description

    nulls = null_rate_evaluation(contract, stats, [D])
    assert not nulls.passed  # median 5% null, no spread: the floor of +/-5 points gives 0%-10%
    assert nulls.metadata["days"].value[D.isoformat()]["ship_country"] == {
        "null_share": 1.0,
        "low": 0.0,
        "high": 0.1,
    }
    assert "ship_country: 100.0% null, expected 0.0%-10.0%" in nulls.description

    ordinary = history[-1]  # the last ordinary day, against the 9 before it
    assert volume_evaluation(contract, stats, [ordinary]).passed
    assert null_rate_evaluation(contract, stats, [ordinary]).passed
    short = volume_evaluation(contract, stats, [history[2]])  # 2 days of history
    assert short.passed and "not enough history" in short.description


def test_orders_reconcile_with_the_payments_captured_for_them(home, instance) -> None:
    """The simulators share one world: payments captures what orders sells; then captures go missing."""
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)
    simulate_orders([day], 2_000, 7, FaultRates())
    simulate_payments([day], 2_000, 7, FaultRates())
    assert _run("payments", instance, day).success
    result = _run("orders", instance, day)

    reconciled = check(
        result, "orders/gold/orders_by_status", "consistency_paid_orders_match_captured_payments"
    )
    currencies = read_table("orders.gold_orders_by_status").collect()["currency"].n_unique()
    assert reconciled.passed
    assert reconciled.metadata["checked"].value == currencies == 3  # every currency of the day compared
    assert reconciled.metadata["measured"].value == 1.0

    # payments publishes a settlement that lost a third of the day's EUR captures
    settlement = CONTRACTS_OF_PAYMENTS["daily_settlement"]
    lost = read_table(settlement.product_id).collect()
    lost = lost.with_columns(
        pl.when(pl.col("currency") == "EUR")
        .then(pl.col("captured_amount") * 2 / 3)
        .otherwise(pl.col("captured_amount"))
        .cast(pl.Decimal(18, 2))
        .alias("captured_amount")
    )
    publish_day(settlement, lost, day)

    rule = CONTRACTS["orders_by_status"].quality.consistency[0]
    readable = products_by_table()
    broken = consistency_evaluation(
        CONTRACTS["orders_by_status"], rule, readable, (day, day + dt.timedelta(days=1))
    )
    assert not broken.passed
    assert broken.metadata["measured"].value == pytest.approx(2 / 3)  # EUR no longer matches
    assert broken.metadata["threshold"].value == 0.98
    assert "BREACHED" in (broken.description or "")


def _run(domain: str, instance: dg.DagsterInstance, day: dt.date) -> dg.ExecuteInProcessResult:
    job = domain_module(domain, "definitions").defs.resolve_job_def(f"{domain}_daily")
    return job.execute_in_process(partition_key=day.isoformat(), instance=instance, raise_on_error=False)
