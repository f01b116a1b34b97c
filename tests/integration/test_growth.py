"""growth, the consumer domain, on its producers' published ports only.

The producers run on simulated landing data; then their Bronze and Silver tables are
dropped, so anything growth read from them would fail. growth is materialized through
the `dagster` CLI, and its tables are recounted from the ports with DuckDB.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from platform_resources.mesh.workspace import prepare_dagster_home
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import read_table
from tests.integration.conftest import PRODUCERS, publish_producer_ports, run_command

pytestmark = pytest.mark.integration
DAYS = [dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
D = DAYS[-1]


def _materialize_growth(home: Path, dagster_home: Path) -> None:
    select = ["--select", "*", "--partition", D.isoformat()]
    run_command(
        ["dagster", "asset", "materialize", "-m", "domains.growth.definitions", *select], home, dagster_home
    )


def test_growth_materializes_from_published_ports_only_and_a_rerun_changes_nothing(
    home, instance, tmp_path
) -> None:
    publish_producer_ports(instance, DAYS)
    catalog = load_catalog()
    for domain in PRODUCERS:
        for namespace, table in catalog.list_tables(domain):
            if not table.startswith("gold_"):
                catalog.drop_table(f"{namespace}.{table}")
    dagster_home = prepare_dagster_home(tmp_path / "dagster_home")

    _materialize_growth(home, dagster_home)

    con = duckdb.connect()
    for identifier in (
        "orders.gold_customer_daily_orders",
        "payments.gold_customer_daily_payments",
        "customers.gold_customer_profiles",
    ):
        con.register(identifier.split(".")[1], read_table(identifier).collect().to_arrow())
    active_on_d = con.sql(
        f"""SELECT count(DISTINCT user_token) FROM (
            SELECT user_token FROM gold_customer_daily_orders WHERE order_date = '{D}'
            UNION ALL SELECT user_token FROM gold_customer_daily_payments WHERE payment_date = '{D}'
            UNION ALL SELECT user_token FROM gold_customer_profiles WHERE registered_date = '{D}')"""
    ).fetchone()[0]
    active_in_window = con.sql(
        """SELECT count(DISTINCT user_token) FROM (
            SELECT user_token FROM gold_customer_daily_orders
            UNION ALL SELECT user_token FROM gold_customer_daily_payments
            UNION ALL SELECT user_token FROM gold_customer_profiles)"""
    ).fetchone()[0]
    assert active_on_d > 0 and active_in_window > active_on_d

    dau = read_table("growth.gold_daily_active_users").collect()
    assert dau["activity_date"].to_list() == [D] and dau["active_users"].item() == active_on_d
    c360 = read_table("growth.gold_customer_360").collect()
    assert c360.height == c360["user_token"].n_unique() == active_in_window  # every day of the window counts
    scores = read_table("growth.gold_churn_scores").collect()
    events = read_table("growth.gold_model_inference_events").collect()
    assert scores.height == events.height == c360.height
    features = read_table("growth.gold_churn_features").collect()
    assert features.height == 7 * c360.height

    counts = {t: read_table(f"growth.{t}").collect().height for _, t in catalog.list_tables("growth")}
    _materialize_growth(home, dagster_home)
    assert {t: read_table(f"growth.{t}").collect().height for _, t in catalog.list_tables("growth")} == counts
    with dg.DagsterInstance.from_config(str(dagster_home)) as growth_instance:
        assert [r.status for r in growth_instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS] * 2
