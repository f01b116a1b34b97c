"""Governance lint: the workspace passes, and each rule catches its violating fixture."""

import dataclasses

import dagster as dg
import pytest

from platform_resources.contracts.model import ColumnSpec, Contract
from platform_resources.contracts.specs import product_spec
from platform_resources.governance.rules import RULES, Violation, lint
from platform_resources.mesh.workspace import workspace_contracts, workspace_definitions
from platform_resources.products.input_ports import CONSUMES

ORDERS = workspace_contracts()["data://orders/customer_daily_orders/v1"]
SILVER = workspace_contracts()["data://orders/orders/v1"]


def _lint(contract: Contract, *, spec: dg.AssetSpec | None = None, domain: str = "orders") -> list[Violation]:
    return lint({domain: dg.Definitions(assets=[spec or product_spec(contract)])}, [contract])


def _rules(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}


def _column(contract: Contract, column: str, /, **changes) -> Contract:
    columns = tuple(dataclasses.replace(c, **changes) if c.name == column else c for c in contract.columns)
    return dataclasses.replace(contract, columns=columns)


def test_every_published_asset_in_every_location_passes() -> None:
    defs = workspace_definitions()
    assert set(defs) == {"orders", "customers", "payments", "inventory", "growth", "platform"}
    assert lint(defs, workspace_contracts().values()) == []


def test_a_clean_fixture_passes() -> None:
    assert _lint(ORDERS) == []


def test_owner_rule() -> None:
    (violation,) = _lint(ORDERS, spec=product_spec(ORDERS).replace_attributes(owners=[]))
    assert (violation.rule, violation.message) == ("owner", "no owner")
    assert _rules(_lint(dataclasses.replace(ORDERS, owner="orders-people@example.com"))) == {"owner"}


def test_contract_rule() -> None:
    spec = dg.AssetSpec(["orders", "gold", "shadow_table"], owners=["team:orders"])
    (violation,) = _lint(ORDERS, spec=spec)
    assert violation.rule == "contract" and violation.asset == "orders/gold/shadow_table"


def test_classification_rule() -> None:
    (violation,) = _lint(_column(ORDERS, "orders", classification=None))
    assert (violation.rule, violation.message) == ("classification", "column 'orders' has no classification")


def test_slo_rule() -> None:
    messages = {v.message for v in _lint(dataclasses.replace(ORDERS, slo=None, retention=None))}
    assert messages == {"no SLOs (freshness, completeness, accuracy)", "no retention tier"}


@pytest.mark.parametrize(
    "contract",
    [
        dataclasses.replace(ORDERS, name="CustomerDailyOrders"),
        _column(ORDERS, "orders", name="Orders"),
        dataclasses.replace(ORDERS, domain="payments"),  # kept in orders' location
    ],
    ids=["product", "column", "domain"],
)
def test_naming_rule(contract: Contract) -> None:
    assert "naming" in _rules(_lint(contract, spec=product_spec(contract)))


def test_naming_rule_holds_the_asset_key_and_table_to_the_contract() -> None:
    moved = dg.AssetSpec(
        ["orders", "gold", "customer_daily_orders"],
        owners=["team:orders"],
        metadata={"dagster/table_name": "orders.gold_other"},
    )
    assert "naming" in _rules(_lint(ORDERS, spec=moved))


def test_pii_rule_unprotected_pii_in_silver_or_a_port() -> None:
    for contract in (ORDERS, SILVER):
        (violation,) = _lint(_column(contract, "user_token", protection=None))
        assert violation.rule == "pii" and "'user_token' reaches" in violation.message


def test_pii_rule_confidential_or_restricted_in_the_clear() -> None:
    for classification in ("confidential", "restricted"):
        clear = _column(SILVER, "ship_country", classification=classification)
        (violation,) = _lint(clear)
        assert violation.rule == "pii"
        assert f"{classification} column 'ship_country' reaches silver neither" in violation.message
    assert _lint(_column(SILVER, "ship_country", classification="confidential", protection="masked")) == []


def test_pii_rule_a_personal_column_not_flagged() -> None:
    leaky = dataclasses.replace(
        SILVER, columns=(*SILVER.columns, ColumnSpec("customer_email", "string", classification="internal"))
    )
    (violation,) = _lint(leaky)
    assert violation.rule == "pii" and "'customer_email' looks like personal data" in violation.message


def test_cross_domain_read_rule() -> None:
    own = product_spec(ORDERS)
    reads_silver = dg.AssetSpec(["growth", "gold", "x"], owners=["team:growth"], deps=[SILVER.asset_key])
    reads_unpinned = dg.AssetSpec(["growth", "gold", "y"], owners=["team:growth"], deps=[ORDERS.asset_key])
    pinned = dg.AssetSpec(
        ["growth", "gold", "z"],
        owners=["team:growth"],
        deps=[ORDERS.asset_key],
        metadata={CONSUMES: {ORDERS.uri: ["orders"]}},
    )
    defs = {
        "orders": dg.Definitions(assets=[own]),
        "growth": dg.Definitions(assets=[reads_silver, reads_unpinned, pinned]),
    }
    found = [(v.rule, v.asset, v.message) for v in lint(defs, [ORDERS, SILVER]) if v.domain == "growth"]
    # growth's fixture assets have no contracts: only the read rule is asserted here
    reads = [f for f in found if f[0] == "cross_domain_read"]
    assert reads == [
        ("cross_domain_read", "growth/gold/x", "reads orders/silver/orders, which orders does not publish"),
        ("cross_domain_read", "growth/gold/y", f"reads {ORDERS.uri} without pinning it"),
    ]


def test_every_rule_has_a_test() -> None:
    tested = {name.removeprefix("test_").split("_rule")[0] for name in globals() if "_rule" in name}
    assert set(RULES) <= tested
