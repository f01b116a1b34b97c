"""The commands users script against: `dagster asset materialize` and `make demo`, as subprocesses."""

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from platform_resources.mesh.workspace import domain_module, domain_names, prepare_dagster_home
from platform_resources.quality.partition_freshness import evaluation, measure
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import read_table
from tests.conftest import order_created, write_landing
from tests.integration.conftest import REPO, rows, run_command

pytestmark = pytest.mark.integration
D1, D2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20)


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    return prepare_dagster_home(tmp_path / "dagster_home")


def test_dagster_job_execute_runs_a_range_as_one_run_and_a_rerun_changes_nothing(home, dagster_home) -> None:
    for day in (D1, D2):
        events = [order_created(f"{day}-{i}", ts=f"{day}T{i:02d}:00:00Z") for i in range(12)]
        write_landing(home, day, "part-1.jsonl", [*events, b"{broken"])
    materialize = [
        "dagster",
        "asset",
        "materialize",
        "-m",
        "domains.orders.definitions",
        "--select",
        "*",
    ]

    # a range as one run: the daily job with the range tags (the UI and the daemon chunk ranges by 31 days)
    tags = {"dagster/asset_partition_range_start": str(D1), "dagster/asset_partition_range_end": str(D2)}
    execute = [
        "dagster",
        "job",
        "execute",
        "-m",
        "domains.orders.definitions",
        "-j",
        "orders_daily",
    ]
    run_command([*execute, "--tags", json.dumps(tags)], home, dagster_home)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert len(instance.get_runs()) == 1
    tables = {name for _, name in load_catalog().list_tables("orders")}
    assert {
        "bronze_events",
        "bronze_quarantine",
        "silver_orders",
        "silver_order_events",
        "silver_order_items",
        "gold_daily_revenue",
        "gold_orders_by_status",
        "gold_product_sales",
    } <= tables
    counts = {t: rows(f"orders.{t}") for t in tables}
    assert (
        counts["bronze_events"] == 24 and counts["bronze_quarantine"] == 2 and counts["silver_orders"] == 24
    )
    assert all(counts[t] > 0 for t in tables if t.startswith("gold_"))

    run_command([*materialize, "--partition", D1.isoformat()], home, dagster_home)
    assert {t: rows(f"orders.{t}") for t in tables} == counts
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert len(instance.get_runs()) == 2


def test_make_demo_exits_zero_with_a_summary_all_under_meshhouse_home(home) -> None:
    repo_state = REPO / ".meshhouse"
    before = sorted(repo_state.rglob("*")) if repo_state.exists() else []
    env = {**os.environ, "MESHHOUSE_HOME": str(home), "DEMO_DAYS": "2", "DEMO_EVENTS_PER_DAY": "400"}
    env.pop("DAGSTER_HOME", None)  # the Makefile puts it inside MESHHOUSE_HOME
    # `-o env`: the environment is the one this suite runs in (re-preparing the dbt projects
    # would rewrite files the other tests' dbt runs read)
    make = ["make", "-o", "env", "demo"]
    done = subprocess.run(make, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    first = yesterday - dt.timedelta(days=1)
    # everything the demo wrote is under MESHHOUSE_HOME, the Dagster instance included
    assert (home / "catalog.db").exists() and (home / "landing" / "orders" / f"dt={yesterday}").is_dir()
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert len(instance.get_runs()) == 6  # one per domain
    assert (sorted(repo_state.rglob("*")) if repo_state.exists() else []) == before
    out = done.stdout
    for domain in ("orders", "customers", "payments", "inventory", "growth", "platform"):  # workspace.yaml
        assert f"{domain}: materializing {first}..{yesterday} (2 days) as one run" in out
    # the demo is green: no check fails on its own data, in any run ...
    counts = re.findall(r"checks: (\d+) passed, (\d+) failed", out)
    assert len(counts) == 6 and all(failed == "0" for _, failed in counts), out[-3000:]
    # ... nor partition freshness, as each location's sensor measures it (the days the demo
    # never landed are not "behind" the later days orders' and customers' horizons read)
    now = dt.datetime.now(dt.UTC)
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        for domain in domain_names():
            contracts = {c.asset_key: c for c in domain_module(domain, "contracts").CONTRACTS.values()}
            for spec in domain_module(domain, "definitions").defs.resolve_all_asset_specs():
                contract = contracts.get(spec.key)
                if contract is None or contract.slo is None:
                    continue
                freshness = evaluation(contract, measure(instance, spec.key, list(spec.deps), now))
                assert freshness.passed, (spec.key.to_user_string(), freshness.description)
    for table in ("bronze_events", "bronze_quarantine", "silver_orders", "gold_daily_revenue"):
        assert table in out
    for gold in (
        "orders.gold_daily_revenue",
        "customers.gold_daily_signups",
        "payments.gold_daily_settlement",
        "inventory.gold_daily_stock_levels",
        "growth.gold_customer_360",
        "growth.gold_churn_scores",
        "growth.gold_model_inference_events",
        "growth.gold_daily_active_users",
        "platform.gold_daily_service_health",
        "platform.gold_daily_webhooks",
    ):
        assert rows(gold) > 0, gold

    # then `meshhouse slo report` with no DAGSTER_HOME reads the demo's instance (the default)
    run_command(["meshhouse", "slo", "report", "--out", str(home / "slo")], home, without_dagster_home=True)
    written = json.loads((home / "slo" / "slo_report.json").read_text())
    completeness = [s for p in written["products"] for s in p["slos"] if s["slo"] == "completeness"]
    assert any(s["evaluations"] > 0 for s in completeness)  # the demo's runs measured them


@pytest.mark.parametrize(
    ("domain", "silver", "gold"),
    [
        ("payments", "payment_events", "daily_settlement"),
        ("inventory", "stock_movements", "daily_stock_levels"),
        ("platform", "operations_events", "daily_webhooks"),
    ],
)
def test_each_domain_materializes_its_own_simulated_landing_data_from_the_cli(
    home, dagster_home, domain, silver, gold
) -> None:
    run_command(
        [
            "meshhouse",
            "simulate",
            "--domain",
            domain,
            "--days",
            "1",
            "--end-date",
            str(D1),
            "--events-per-day",
            "1500",
            "--redelivery-rate",
            "0.02",
            "--malformed-rate",
            "0.01",
        ],
        home,
        dagster_home,
    )
    run_command(
        [
            "dagster",
            "asset",
            "materialize",
            "-m",
            f"domains.{domain}.definitions",
            "--select",
            "*",
            "--partition",
            str(D1),
        ],
        home,
        dagster_home,
    )
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS]
    landed = sum(len(p.read_bytes().splitlines()) for p in (home / "landing" / domain).rglob("*.jsonl"))
    assert rows(f"{domain}.bronze_events") + rows(f"{domain}.bronze_quarantine") == landed
    distinct = read_table(f"{domain}.bronze_events").select(pl.col("event_id").n_unique()).collect().item()
    assert rows(f"{domain}.silver_{silver}") + rows(f"{domain}.silver_rejected") == distinct
    assert rows(f"{domain}.gold_{gold}") > 0
