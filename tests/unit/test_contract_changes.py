"""Breaking-change detection: each change classified; failures name product, column and consumer."""

import dataclasses

import pytest

from platform_resources.contracts.model import ColumnSpec, Contract
from platform_resources.governance.contract_changes import (
    CONSUMERS,
    PRODUCERS,
    Consumer,
    compare,
    compare_all,
    consumers_by_uri,
    violations,
)
from platform_resources.mesh.workspace import workspace_contracts, workspace_definitions

URI = "data://orders/customer_daily_orders/v1"
BASE = workspace_contracts()[URI]
GROWTH = (Consumer("growth", "growth/gold/customer_360", ("order_date", "user_token", "orders")),)


def _columns(**changes: dict) -> Contract:
    """BASE with the named columns replaced (a dict of field changes) or removed (None)."""
    columns = []
    for column in BASE.columns:
        change = changes.get(column.name, {})
        if change is not None:
            columns.append(dataclasses.replace(column, **change))
    return dataclasses.replace(BASE, columns=tuple(columns))


def _added(column: ColumnSpec) -> Contract:
    return dataclasses.replace(BASE, columns=(*BASE.columns, column))


@pytest.mark.parametrize(
    ("head", "column", "description", "breaks"),
    [
        (_columns(orders=None), "orders", "column removed", CONSUMERS),
        (
            _columns(cancelled={"name": "cancelled_orders"}),
            "cancelled",
            "renamed to cancelled_orders?",
            CONSUMERS,
        ),
        (_columns(orders={"type": "int32"}), "orders", "type narrowed int64 -> int32", CONSUMERS),
        (_columns(orders={"type": "string"}), "orders", "type changed int64 -> string", CONSUMERS),
        (_columns(orders={"required": False}), "orders", "made nullable", CONSUMERS),
        (_columns(orders={"minimum": 2}), "orders", "minimum raised 1 -> 2", PRODUCERS),
        (_columns(user_token={"pattern": "^t_"}), "user_token", "pattern changed", PRODUCERS),
        (
            _added(ColumnSpec("channel", "string", required=True, classification="internal")),
            "channel",
            "required column added",
            PRODUCERS,
        ),
        (dataclasses.replace(BASE, ports=()), None, "output port 'iceberg' dropped", CONSUMERS),
        (dataclasses.replace(BASE, grain=("user_token",)), None, "grain", CONSUMERS),
        (dataclasses.replace(BASE, partition_column="last_order_at"), None, "partition column", CONSUMERS),
    ],
)
def test_breaking_changes_are_classified_with_who_they_break(head, column, description, breaks) -> None:
    (change,) = [c for c in compare(BASE, head) if c.breaking and c.column == column]
    assert change.breaks == breaks
    assert description in change.description


def test_an_enumeration_tightened_breaks_producers_and_widened_is_compatible() -> None:
    base = _added(ColumnSpec("channel", "string", allowed=("web", "app"), classification="internal"))
    tightened = dataclasses.replace(
        base, columns=(*BASE.columns, dataclasses.replace(base.columns[-1], allowed=("web",)))
    )
    widened = dataclasses.replace(
        base, columns=(*BASE.columns, dataclasses.replace(base.columns[-1], allowed=("web", "app", "pos")))
    )
    (change,) = compare(base, tightened)
    assert change.breaks == PRODUCERS and "no longer allows ['app']" in change.description
    (change,) = compare(base, widened)
    assert not change.breaking and change.description == "enumeration widened"


def test_a_new_nullable_column_and_an_unchanged_contract_break_nothing() -> None:
    nullable = _added(ColumnSpec("channel", "string", classification="internal"))
    assert [(c.column, c.description, c.breaking) for c in compare(BASE, nullable)] == [
        ("channel", "nullable column added", False)
    ]
    assert compare(BASE, BASE) == []


def test_widened_types_are_compatible() -> None:
    base = _added(ColumnSpec("n", "int32", classification="internal"))
    for wider in ("int64", "float64"):
        head = dataclasses.replace(
            base, columns=(*BASE.columns, ColumnSpec("n", wider, classification="internal"))
        )
        assert not [c for c in compare(base, head) if c.breaking]
    money = _added(ColumnSpec("m", "decimal(10,2)", classification="internal"))
    wider = dataclasses.replace(
        money, columns=(*BASE.columns, ColumnSpec("m", "decimal(18,2)", classification="internal"))
    )
    assert not [c for c in compare(money, wider) if c.breaking]
    assert [c.description for c in compare(wider, money)] == ["type narrowed decimal(18,2) -> decimal(10,2)"]


def test_a_removed_version_is_breaking_and_a_new_one_compatible() -> None:
    v2 = workspace_contracts()["data://orders/customer_daily_orders/v2"]
    changes = compare_all({URI: BASE}, {v2.uri: v2})
    assert [(c.uri, c.description, c.breaking) for c in changes] == [
        (URI, "product version removed", True),
        (v2.uri, "new product version", False),
    ]


def test_a_breaking_change_fails_naming_the_product_column_and_consuming_domain_and_asset() -> None:
    changes = compare(BASE, _columns(orders=None))
    (violation,) = violations(changes, {URI: GROWTH})
    message = violation.message()
    assert "column 'orders' of data://orders/customer_daily_orders/v1: column removed" in message
    assert "consumed by growth (growth/gold/customer_360)" in message and "new major version" in message


def test_a_change_to_a_column_no_consumer_reads_or_to_an_unconsumed_product_does_not_fail() -> None:
    changes = compare(BASE, _columns(last_order_at=None))  # growth does not read it
    assert changes and not violations(changes, {URI: GROWTH})
    assert not violations(compare(BASE, _columns(orders=None)), {})
    own = (Consumer("orders", "orders/gold/x", ("orders",)),)  # a domain reading its own product
    assert not violations(compare(BASE, _columns(orders=None)), {URI: own})


def test_consumers_come_from_the_workspace_assets_consumes_metadata() -> None:
    consumers = consumers_by_uri(workspace_definitions())
    readers = {c.asset for c in consumers[URI]}
    assert readers == {"growth/gold/customer_360", "growth/gold/daily_active_users"}
    assert all("orders" in c.columns and c.domain == "growth" for c in consumers[URI])
