"""The SLO report over a real Dagster instance: attainment, error budget, breaches and adoption.

Check evaluations and materializations are real events recorded in the instance (a late
partition is produced and measured as the freshness check does, at chosen instants); the
expected attainment, budget and reads are computed here from the events the test recorded.
"""

import csv
import datetime as dt
import json
from collections.abc import Mapping

import dagster as dg
import pytest

from domains.orders.contracts import CONTRACTS as ORDERS
from domains.platform.slo_report import SLO_REPORT_KEY, slo_report_asset, slo_report_schedule
from platform_resources.contracts.model import Contract
from platform_resources.mesh.workspace import prepare_dagster_home, workspace_contracts, workspace_definitions
from platform_resources.quality.partition_freshness import evaluation, measure
from platform_resources.slo.report import ProductSlo, SloAttainment, SloReport, slo_report
from platform_resources.slo.report_files import CHARTS
from tests.integration.conftest import run_command

pytestmark = pytest.mark.integration
REVENUE = ORDERS["daily_revenue"]  # freshness SLO: 30 minutes
SILVER = ORDERS["orders"].asset_key  # what daily revenue reads
PORT = ORDERS["customer_daily_orders"]  # data://orders/customer_daily_orders/v1, read by growth
CUSTOMER_360 = dg.AssetKey(["growth", "gold", "customer_360"])
D = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def workspace() -> tuple[dict[str, Contract], dict[str, dg.Definitions]]:
    """Every contract and code location, loaded once for the module."""
    return workspace_contracts(), workspace_definitions()


def _report(instance: dg.DagsterInstance, workspace: tuple, **kwargs) -> SloReport:
    contracts, defs = workspace
    return slo_report(instance, contracts, defs, **kwargs)


def _product(report: SloReport, uri: str) -> ProductSlo:
    return next(p for p in report.products if p.uri == uri)


def _slo(product: ProductSlo, name: str) -> SloAttainment:
    return next(s for s in product.slos if s.slo == name)


def _materialized(instance: dg.DagsterInstance, key: dg.AssetKey, day: dt.date) -> float:
    instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=day.isoformat()))
    return instance.get_latest_materialization_event(key).timestamp


def _at(timestamp: float, minutes: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC) + dt.timedelta(minutes=minutes)


def _record(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    check: str,
    outcomes: list[bool],
    measured: Mapping[bool, float] | None = None,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> None:
    """Runless evaluations of ``check`` on ``key``, oldest first; failures say what they measured."""
    for i, passed in enumerate(outcomes):
        value = (measured or {}).get(passed, round(0.9 - i / 100, 4))
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=key,
                check_name=check,
                passed=passed,
                severity=severity,
                metadata={"measured": value, "threshold": 0.999, "comparison": "min"},
                description=None if passed else f"{check}: {value} below 0.999 (evaluation {i})",
            )
        )


def _late_partition_breach(instance: dg.DagsterInstance, passing_instants: tuple[float, ...]) -> None:
    """Revenue's input changes for day D after revenue's D; freshness measured within, then 45 min after."""
    deps = [dg.AssetDep(SILVER)]
    _materialized(instance, REVENUE.asset_key, D)
    late_input = _materialized(instance, SILVER, D)
    for minutes in passing_instants:
        within = evaluation(REVENUE, measure(instance, REVENUE.asset_key, deps, _at(late_input, minutes)))
        assert within.passed
        instance.report_runless_asset_event(within)
    late = evaluation(REVENUE, measure(instance, REVENUE.asset_key, deps, _at(late_input, 45)))
    assert not late.passed and late.metadata["worst_lag_minutes"].value == 45.0
    instance.report_runless_asset_event(late)


def test_a_late_partition_fails_freshness_and_spends_that_products_error_budget(instance, workspace) -> None:
    _late_partition_breach(instance, passing_instants=(1, 5, 10, 20))
    passed, failed = 4, 1  # what was recorded above
    n = passed + failed

    report = _report(instance, workspace)

    revenue = _product(report, REVENUE.uri)
    freshness = _slo(revenue, "freshness")
    objective = REVENUE.slo.objective
    assert (freshness.evaluations, freshness.passed, freshness.failed) == (n, passed, failed)
    assert freshness.attainment == pytest.approx(passed / n)
    assert freshness.allowed_failures == pytest.approx((1 - objective) * n)
    assert freshness.budget_left == pytest.approx(1 - failed / ((1 - objective) * n))
    assert freshness.status == "exhausted"  # one failure in five is more than 1% allows
    [breach] = revenue.breaches
    assert (breach.check, breach.slo, breach.severity) == ("partition_freshness", "freshness", "error")
    assert breach.end is None and breach.evaluations == 1  # ongoing: nothing passed since
    assert (breach.measured, breach.threshold, breach.comparison) == (45.0, 30.0, "max")
    assert f"{D} by 45.0 min" in breach.cause
    assert breach.late_partitions == {D.isoformat(): 45.0}

    for name in ("completeness", "accuracy"):  # never evaluated: not measured, no guessed value
        s = _slo(revenue, name)
        assert (s.evaluations, s.attainment, s.budget_left, s.status) == (0, None, None, "not measured")
    untouched = _product(report, ORDERS["product_sales"].uri)
    assert all(s.attainment is None and s.status == "not measured" for s in untouched.slos)
    assert untouched.breaches == []

    orders = next(d for d in report.domains if d.domain == "orders")
    assert (orders.breaches, orders.ongoing_breaches, orders.slos_measured, orders.slos_met) == (1, 1, 1, 0)
    assert orders.worst_budget_left == freshness.budget_left
    assert orders.attainment == pytest.approx(passed / n)


def test_consecutive_failures_are_one_breach_and_a_pass_between_makes_two(instance, workspace) -> None:
    key = ORDERS["orders_by_status"].asset_key
    outcomes = [True, False, False, False, True, False]  # breach of 3 (ended by the pass), then 1
    _record(instance, key, "accuracy", outcomes, measured={True: 0.9995})
    _record(instance, key, "uniqueness", [False, False])  # another quality check: listed, no budget
    _record(instance, key, "volume_anomaly", [False], severity=dg.AssetCheckSeverity.WARN)

    product = _product(_report(instance, workspace), ORDERS["orders_by_status"].uri)

    accuracy = [b for b in product.breaches if b.check == "accuracy"]
    assert [(b.evaluations, b.end is None) for b in accuracy] == [(3, False), (1, True)]
    first = accuracy[0]
    assert first.slo == "accuracy" and first.start <= first.end
    assert (first.measured, first.threshold, first.comparison) == (0.87, 0.999, "min")  # the lowest of 3
    assert first.cause == "accuracy: 0.87 below 0.999 (evaluation 3)"
    attained = _slo(product, "accuracy")
    assert (attained.evaluations, attained.passed) == (6, 2)
    assert attained.attainment == pytest.approx(2 / 6)

    [uniqueness] = [b for b in product.breaches if b.check == "uniqueness"]
    assert uniqueness.slo is None and uniqueness.evaluations == 2 and uniqueness.severity == "error"
    [anomaly] = [b for b in product.breaches if b.check == "volume_anomaly"]
    assert anomaly.slo is None and anomaly.severity == "warning"
    assert _slo(product, "completeness").attainment is None  # quality breaches spend no SLO


def test_adoption_counts_each_consumers_reads_in_the_window(instance, workspace) -> None:
    reads = 3
    for day in range(reads):  # growth's 360 ran three times, each reading orders' port
        _materialized(instance, CUSTOMER_360, D - dt.timedelta(days=day))
    last = instance.get_latest_materialization_event(CUSTOMER_360).timestamp

    report = _report(instance, workspace)

    consumers = {c.asset: c for c in _product(report, PORT.uri).consumers}
    assert set(consumers) == {"growth/gold/customer_360", "growth/gold/daily_active_users"}
    the_360 = consumers["growth/gold/customer_360"]
    assert (the_360.domain, the_360.reads) == ("growth", reads)
    assert the_360.last_read == dt.datetime.fromtimestamp(last, dt.UTC).isoformat(timespec="seconds")
    assert {"user_token", "orders"} <= set(the_360.columns)  # the columns growth pins
    unread = consumers["growth/gold/daily_active_users"]  # declared, never materialized here
    assert (unread.reads, unread.last_read) == (0, None)
    assert _product(report, REVENUE.uri).consumers == []  # no other domain reads daily revenue

    later = _report(instance, workspace, window_days=7, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=8))
    assert {c.asset: c.reads for c in _product(later, PORT.uri).consumers}["growth/gold/customer_360"] == 0


def test_the_cli_writes_html_json_csv_and_png_charts_from_the_dagster_home_instance(home, tmp_path) -> None:
    dagster_home = prepare_dagster_home(tmp_path / "dagster_home")
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        _late_partition_breach(instance, passing_instants=(5,))
        _materialized(instance, CUSTOMER_360, D)
    out = tmp_path / "slo"

    done = run_command(["meshhouse", "slo", "report", "--out", str(out), "--days", "7"], home, dagster_home)

    assert str(out / "index.html") in done.stdout
    assert "orders/daily_revenue/v1" in done.stdout and "50.00%" in done.stdout
    for chart in CHARTS.values():
        data = (out / chart).read_bytes()
        assert data[:8] == PNG and len(data) > 10_000, chart
    report = json.loads((out / "slo_report.json").read_text())
    assert report["window_days"] == 7
    contracts = {uri: c for uri, c in workspace_contracts().items() if c.slo is not None}
    assert {p["uri"] for p in report["products"]} == set(contracts)
    with (out / "slo_report.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * len(contracts)  # one row per product and SLO
    [row] = [r for r in rows if r["product"] == REVENUE.uri and r["slo"] == "freshness"]
    assert (row["evaluations"], row["passed"], row["attainment"], row["breaches"]) == ("2", "1", "0.5", "1")
    assert float(row["budget_left"]) == pytest.approx(1 - 1 / ((1 - REVENUE.slo.objective) * 2))
    html = (out / "index.html").read_text()
    assert "http://" not in html and "https://" not in html  # self-contained
    for uri, contract in contracts.items():
        assert uri in html and f"<td>{contract.domain}</td>" in html
    assert "no other domain reads this product" in html and f"{D} by 45.0 min" in html


def test_without_dagster_home_the_cli_reads_the_instance_under_meshhouse_home(home, tmp_path) -> None:
    with dg.DagsterInstance.from_config(str(prepare_dagster_home(home / "dagster"))) as instance:
        _late_partition_breach(instance, passing_instants=(5,))
    out = tmp_path / "slo"

    done = run_command(
        ["meshhouse", "slo", "report", "--out", str(out), "--days", "7"], home, without_dagster_home=True
    )

    assert "orders/daily_revenue/v1" in done.stdout and "50.00%" in done.stdout  # the breach it holds
    assert (out / "index.html").exists() and (out / "slo_report.json").exists()


def test_the_platform_asset_writes_the_report_and_reports_its_metadata(home, instance, workspace) -> None:
    _late_partition_breach(instance, passing_instants=(2, 4, 6))

    result = dg.materialize([slo_report_asset], instance=instance)

    metadata = result.asset_materializations_for_node(slo_report_asset.node_def.name)[0].metadata
    assert metadata["dagster/uri"].value == str(home / "slo" / "index.html")
    assert (home / "slo" / "index.html").exists() and (home / "slo" / CHARTS["timeline"]).exists()
    assert metadata["breaches"].value == 1 and metadata["ongoing_breaches"].value == 1
    assert metadata["attainment_orders"].value == pytest.approx(3 / 4)
    assert metadata["budget_left_orders"].value == pytest.approx(1 - 1 / ((1 - REVENUE.slo.objective) * 4))
    assert "attainment_customers" not in metadata  # nothing measured there: no number plotted
    assert "| orders | orders/daily_revenue/v1 | 75.00% |" in metadata["products_table"].value

    platform = workspace[1]["platform"]
    assert platform.get_assets_def(SLO_REPORT_KEY).group_names_by_key[SLO_REPORT_KEY] == "slo"
    assert slo_report_schedule in platform.schedules and slo_report_schedule.cron_schedule == "*/30 * * * *"
    assert slo_report_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert slo_report_schedule.job_name == "platform_slo_report"
