"""Pinned reads of published ports: what a consumer may pin, and the dependency it declares."""

import dagster as dg
import pytest

from domains.growth.definitions import defs as growth_defs
from domains.orders.contracts import CONTRACTS as ORDERS
from platform_resources.ports import pin


def test_a_pin_resolves_to_the_published_contract_and_its_lookback_window() -> None:
    read = pin(ORDERS, "data://orders/customer_daily_orders/v1", lookback_days=29)
    assert read.contract is ORDERS["customer_daily_orders"]
    mapping = read.dep.partition_mapping
    assert isinstance(mapping, dg.TimeWindowPartitionMapping)
    assert (mapping.start_offset, mapping.end_offset) == (-29, 0)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("data://orders/orders/v1", "not a published product of orders"),  # Silver: not a port
        ("data://orders/no_such_product/v1", "not a published product of orders"),
        ("data://orders/customer_daily_orders/v2", "publishes data://orders/customer_daily_orders/v1"),
        ("orders.gold_customer_daily_orders", "is not a product URI"),
    ],
)
def test_pins_that_are_not_on_offer_fail_naming_what_is(uri: str, message: str) -> None:
    with pytest.raises(dg.DagsterInvalidDefinitionError, match=message):
        pin(ORDERS, uri)


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
