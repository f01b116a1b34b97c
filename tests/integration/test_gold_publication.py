"""Write-audit-publish for Gold: a model whose contract or dbt test fails is not published; the others are."""

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue

from domains.orders.contracts import CONTRACTS
from domains.orders.gold import DBT_PROJECT_DIR
from domains.orders.silver import orders_silver_events, orders_silver_orders
from platform_resources.location import domain_definitions
from platform_resources.products import dbt_gold
from platform_resources.products.dbt_gold import build_dbt_gold_assets
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import read_table
from tests.conftest import order_created, write_landing
from tests.integration.conftest import check, materialized, rows, run_orders

pytestmark = pytest.mark.integration
D = dt.date(2026, 11, 20)


def _defs(project_dir, contracts):
    gold = build_dbt_gold_assets("orders", project_dir, contracts)
    return domain_definitions(
        "orders",
        "team:orders",
        [orders_silver_events, orders_silver_orders, gold],
        contracts=contracts,
        dbt_project_dir=project_dir,
    )


def _assert_only_daily_revenue_withheld(result) -> None:
    assert not result.success
    done = materialized(result)
    assert "orders/gold/daily_revenue" not in done
    assert {"orders/gold/product_sales", "orders/gold/orders_by_status"} <= done
    with pytest.raises(NoSuchTableError):
        load_catalog().load_table("orders.gold_daily_revenue")
    assert rows("orders.gold_product_sales") > 0


def test_a_gold_model_breaking_its_contract_is_not_published(home, instance) -> None:
    revenue = CONTRACTS["daily_revenue"]
    columns = tuple(dataclasses.replace(c, maximum=1) if c.name == "orders" else c for c in revenue.columns)
    contracts = {**CONTRACTS, "daily_revenue": dataclasses.replace(revenue, columns=columns)}
    write_landing(home, D, "part-1.jsonl", [order_created(f"o-{i}") for i in range(5)])

    result = run_orders(instance, D, _defs(DBT_PROJECT_DIR, contracts))

    contract = check(result, "orders/gold/daily_revenue", "contract")
    assert not contract.passed and contract.metadata["failing_rows"].value == 1
    assert "orders: less_than_or_equal_to(1)" in str(contract.metadata["failure_counts"].value)
    _assert_only_daily_revenue_withheld(result)


def _project_copy(tmp_path: Path) -> Path:
    project = tmp_path / "dbt" / "orders"  # beside a copy of the shared macros, as in the repository
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(DBT_PROJECT_DIR.parent / "shared", project.parent / "shared")
    return project


def test_a_gold_model_failing_a_dbt_test_is_not_published(home, instance, tmp_path) -> None:
    project = _project_copy(tmp_path)
    model = project / "models" / "gold" / "daily_revenue.sql"
    model.write_text(f"{model.read_text()}\nunion all\n{model.read_text()}")  # every row twice
    write_landing(home, D, "part-1.jsonl", [order_created(f"o-{i}") for i in range(5)])

    result = run_orders(instance, D, _defs(project, CONTRACTS))

    failed = {
        (e.asset_key.to_user_string(), e.check_name)
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.asset_key.path[1] == "gold"  # (Silver's timeliness warns: D is past)
    }
    # the grain's dbt test (generated from the contract) fails, and so do the contract check
    # and the uniqueness dimension (every row is repeated)
    assert failed == {
        ("orders/gold/daily_revenue", "unique_combination_daily_revenue_order_date__currency"),
        ("orders/gold/daily_revenue", "contract"),
        ("orders/gold/daily_revenue", "uniqueness"),
    }
    _assert_only_daily_revenue_withheld(result)


def test_a_dbt_error_is_retried_and_reported_with_dbts_message(home, instance, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(dbt_gold, "RETRY", dg.RetryPolicy(max_retries=1))  # one retry, no delay
    project = _project_copy(tmp_path)
    model = project / "models" / "gold" / "daily_revenue.sql"
    model.write_text("select no_such_column from {{ source('orders_silver', 'orders') }}")
    write_landing(home, D, "part-1.jsonl", [order_created(f"o-{i}") for i in range(5)])

    result = run_orders(instance, D, _defs(project, CONTRACTS))

    gold_events = [e for e in result.all_events if e.step_key == "orders_gold_dbt"]
    assert [e.event_type_value for e in gold_events].count("STEP_UP_FOR_RETRY") == 1
    (failure,) = [e for e in gold_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("dbt build failed") and "no_such_column" in message
    # no test failed: the models dbt built are published, the one it could not build is not
    _assert_only_daily_revenue_withheld(result)


def test_a_model_refreshed_alone_reads_the_published_model_it_selects_from(home, instance) -> None:
    """Automation refreshes port v1 by itself when v2 changed: v1's step does not build v2, and
    finds v2's published window staged in its place."""
    orders = [order_created(f"o-{i}", user_id=f"user-{i % 2}") for i in range(5)]
    write_landing(home, D, "part-1.jsonl", orders)
    assert run_orders(instance, D).success
    before = read_table("orders.gold_customer_daily_orders").collect()
    load_catalog().load_table("orders.gold_customer_daily_orders").delete(AlwaysTrue())  # v1 lost meanwhile

    from domains.orders.definitions import defs

    v1 = dg.AssetKey.from_user_string("orders/gold/customer_daily_orders")
    result = dg.materialize(
        [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
        selection=[v1],
        partition_key=D.isoformat(),
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
    )

    assert result.success and materialized(result) == {"orders/gold/customer_daily_orders"}
    v2 = read_table("orders.gold_customer_daily_orders_v2").collect()
    after = read_table("orders.gold_customer_daily_orders").collect()
    assert after.sort("user_token").equals(before.sort("user_token")) and after.height == 2
    assert after["orders"].sum() == v2["orders_placed"].sum() == 5
