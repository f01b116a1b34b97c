"""Pinned reads of published ports: what a consumer may pin, and the dependency it declares."""

import dagster as dg
import pytest

from domains.growth.definitions import defs as growth_defs
from domains.orders.contracts import CONTRACTS as ORDERS
from platform_resources.products.input_ports import pin


def test_a_pin_resolves_to_the_published_contract_and_its_lookback_window() -> None:
    read = pin(ORDERS, "data://orders/customer_daily_orders/v1", ["user_token", "orders"], lookback_days=29)
    assert read.contract is ORDERS["customer_daily_orders"]
    assert read.selected == ["user_token", "orders"]
    mapping = read.dep.partition_mapping
    assert isinstance(mapping, dg.TimeWindowPartitionMapping)
    assert (mapping.start_offset, mapping.end_offset) == (-29, 0)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("data://orders/orders/v1", "not published by orders"),  # Silver: no output port
        ("data://orders/no_such_product/v1", "not published by orders"),
        ("data://orders/customer_daily_orders/v9", "publishes .*data://orders/customer_daily_orders/v1"),
        ("orders.gold_customer_daily_orders", "is not a product URI"),
    ],
)
def test_pins_that_are_not_on_offer_fail_naming_what_is(uri: str, message: str) -> None:
    with pytest.raises(dg.DagsterInvalidDefinitionError, match=message):
        pin(ORDERS, uri, ["user_token"])


def test_a_pin_names_the_columns_it_reads_and_each_must_exist() -> None:
    with pytest.raises(dg.DagsterInvalidDefinitionError, match=r"lacks \['user_id'\]"):
        pin(ORDERS, "data://orders/customer_daily_orders/v1", ["user_token", "user_id"])
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="name the columns read"):
        pin(ORDERS, "data://orders/customer_daily_orders/v1", [])


def test_growth_declares_the_columns_it_consumes_in_its_asset_metadata() -> None:
    spec = growth_defs.get_assets_def(dg.AssetKey(["growth", "gold", "customer_360"])).specs_by_key
    consumes = next(iter(spec.values())).metadata["consumes"].value
    assert consumes["data://orders/customer_daily_orders/v1"] == [
        "order_date",
        "user_token",
        "orders",
        "cancelled",
        "refunded",
    ]
    assert set(consumes) == {
        "data://orders/customer_daily_orders/v1",
        "data://payments/customer_daily_payments/v1",
        "data://customers/customer_profiles/v1",
    }


def test_growth_depends_only_on_published_ports_of_other_domains() -> None:
    graph = growth_defs.get_repository_def().asset_graph
    foreign = {
        dep
        for key in graph.get_all_asset_keys()
        if key.path[0] == "growth"
        for dep in graph.get(key).parent_keys
        if dep.path[0] != "growth"
    }
    assert foreign == {
        dg.AssetKey(["orders", "gold", "customer_daily_orders"]),
        dg.AssetKey(["payments", "gold", "customer_daily_payments"]),
        dg.AssetKey(["customers", "gold", "customer_profiles"]),
    }
