"""The inventory domain on its own landing data: stock movements and the daily stock levels."""

import datetime as dt

import pytest

from platform_resources.storage.iceberg_io import read_table
from tests.conftest import envelope, write_landing
from tests.integration.conftest import check, materialized

pytestmark = pytest.mark.integration
D = dt.date(2026, 11, 20)


def _move(
    kind: str, product: str, quantity: int, on_hand: int, minute: int, warehouse: str = "WH-LYON"
) -> dict:
    payload = {
        "movementId": f"m-{product}-{minute}",
        "productId": product,
        "warehouseId": warehouse,
        "quantity": quantity,
        "onHand": on_hand,
        "reorderPoint": 25,
    }
    return envelope(f"inventory.{kind}", payload, ts=f"{D}T10:{minute:02d}:00Z")


def test_the_closing_balance_is_the_last_movement_and_low_stock_is_flagged(home, instance) -> None:
    lines = [
        _move("shipped", "SKU-00001", -5, 30, 1),
        _move("shipped", "SKU-00001", -8, 22, 2),  # at or below 25: low stock at the close
        _move("received", "SKU-00002", 100, 140, 1),
        _move("shipped", "SKU-00002", -3, 137, 5),
        _move("returned", "SKU-00002", 1, 138, 9),
        *(_move("shipped", f"SKU-{i:05d}", -1, 99, i, "WH-LEEDS") for i in range(10, 40)),
        _move("shipped", "SKU-BAD", -1, 10, 50),  # not a product id: rejected
    ]
    write_landing(home, D, "part-1.jsonl", lines, domain="inventory")
    from domains.inventory.definitions import defs

    result = defs.resolve_job_def("inventory_daily").execute_in_process(
        partition_key=str(D), instance=instance
    )
    assert result.success and "inventory/gold/daily_stock_levels" in materialized(result)
    assert check(result, "inventory/silver/stock_movements", "contract").metadata["failing_rows"].value == 1
    levels = {
        (r["product_id"], r["warehouse_id"]): r
        for r in read_table("inventory.gold_daily_stock_levels").collect().to_dicts()
    }
    one, two = levels["SKU-00001", "WH-LYON"], levels["SKU-00002", "WH-LYON"]
    assert (one["shipped"], one["net_change"], one["closing_on_hand"], one["low_stock"]) == (
        13,
        -13,
        22,
        True,
    )
    assert (two["received"], two["shipped"], two["net_change"], two["closing_on_hand"], two["low_stock"]) == (
        100,
        3,
        98,
        138,
        False,
    )
    assert len(levels) == 2 + 30 and ("SKU-BAD", "WH-LYON") not in levels
