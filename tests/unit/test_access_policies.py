"""Access policies: the shipped file loads, each role decides tables as documented, bad files are refused."""

import copy
import dataclasses
import re
from typing import Any

import pytest

from platform_resources.contracts.model import ColumnSpec
from platform_resources.mesh.workspace import domain_names, products_by_table
from platform_resources.privacy.access_policies import (
    AccessDenied,
    AccessPolicyError,
    Policy,
    load_policy,
    parse_policy,
)

CONTRACTS = products_by_table()
PAYMENTS = CONTRACTS["payments.silver_payment_events"]
ORDERS = CONTRACTS["orders.silver_orders"]
CUSTOMERS = CONTRACTS["customers.silver_customers"]

BASE: dict[str, Any] = {
    "row_filters": {
        "region": {"column": "region", "attribute": "regions", "unfiltered": ["customers.silver_customers"]}
    },
    "roles": {
        "analyst": {
            "description": "EU analysts",
            "clearance": "internal",
            "layers": ["silver", "gold"],
            "attributes": {"regions": ["eu-west-1"]},
            "row_filters": ["region"],
        },
        "officer": {
            "description": "privacy officer",
            "clearance": "restricted",
            "layers": ["bronze", "silver", "gold"],
            "raw_tables": True,
            "audit": True,
        },
    },
}


def _parse(raw: Any) -> Policy:
    return parse_policy(raw, list(CONTRACTS.values()), domain_names())


def _columns(contract) -> list[str]:
    return [c.name for c in contract.columns]


def test_the_shipped_policy_loads_and_variants_inherit() -> None:
    policy = load_policy()
    assert {"analyst", "analyst_us", "data_engineer", "orders_owner", "privacy_officer"} <= set(policy.roles)
    analyst, analyst_us = policy.role("analyst"), policy.role("analyst_us")
    assert analyst_us.attributes == {"regions": ("us-east-1",)}
    assert (analyst_us.clearance, analyst_us.layers, analyst_us.row_filters) == (
        analyst.clearance,
        analyst.layers,
        analyst.row_filters,
    )
    assert analyst_us.description != analyst.description
    with pytest.raises(AccessPolicyError, match=r"unknown role 'intern'; the policy defines \['analyst'"):
        policy.role("intern")


def test_columns_are_masked_by_their_classification() -> None:
    policy = load_policy()
    analyst, engineer, officer = (policy.role(r) for r in ("analyst", "data_engineer", "privacy_officer"))
    masks = analyst.access("customers.silver_customers", _columns(CUSTOMERS), CUSTOMERS).masks
    assert masks == {"user_token": "redact", "email_token": "redact"}  # confidential, restricted
    # a new confidential column is masked without a word in the policy
    new = ColumnSpec(name="iban", type="string", classification="confidential")
    assert analyst.column_mask(new) == "redact"
    assert analyst.column_mask(None) == "redact"  # a column no contract classifies counts as restricted
    # keep_token: a tokenized confidential column keeps its token, any other is nulled
    assert engineer.column_mask(CUSTOMERS.column("user_token")) is None
    assert engineer.column_mask(new) == "nullify"
    assert engineer.column_mask(CUSTOMERS.column("email_token")) == "nullify"  # restricted: nullify
    assert officer.access("customers.silver_customers", _columns(CUSTOMERS), CUSTOMERS).masks == {}


def test_rows_are_filtered_by_the_roles_attributes() -> None:
    policy = load_policy()
    analyst, officer = policy.role("analyst"), policy.role("privacy_officer")
    access = analyst.access(PAYMENTS.product_id, _columns(PAYMENTS), PAYMENTS)
    assert access.row_filters == {"region": ("eu-west-1", "eu-west-2")}
    assert policy.role("analyst_us").access(
        PAYMENTS.product_id, _columns(PAYMENTS), PAYMENTS
    ).row_filters == {"region": ("us-east-1",)}
    assert (
        analyst.access(CUSTOMERS.product_id, _columns(CUSTOMERS), CUSTOMERS).row_filters == {}
    )  # unfiltered
    assert officer.access(PAYMENTS.product_id, _columns(PAYMENTS), PAYMENTS).row_filters == {}


def test_tables_a_role_may_not_read_are_denied_with_the_reason() -> None:
    policy = load_policy()
    analyst = policy.role("analyst")
    with pytest.raises(AccessDenied, match="has no region column for row filter 'region'"):
        analyst.access(ORDERS.product_id, _columns(ORDERS), ORDERS)
    with pytest.raises(AccessDenied, match=r"has no contract .* may not read raw tables"):
        analyst.access("orders.bronze_events", ["raw", "region"], None)
    with pytest.raises(AccessDenied, match=r"reads only the products of \['orders'\]"):
        policy.role("orders_owner").access(CUSTOMERS.product_id, _columns(CUSTOMERS), CUSTOMERS)
    bronze_contract = dataclasses.replace(PAYMENTS, layer="bronze")
    with pytest.raises(AccessDenied, match="may not read bronze products"):
        policy.role("data_engineer").access(PAYMENTS.product_id, _columns(PAYMENTS), bronze_contract)
    raw = policy.role("privacy_officer").access("orders.bronze_events", ["raw", "region"], None)
    assert (raw.masks, raw.row_filters) == ({}, {})


def _changed(path: str, value: Any) -> dict[str, Any]:
    """BASE with the value at ``a/b/c`` replaced (``...`` deletes it)."""
    raw = copy.deepcopy(BASE)
    *parents, last = path.split("/")
    node = raw
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "roles/analyst/clearance",
            "secret",
            "clearance 'secret' is not a classification",
        ),  # pragma: allowlist secret
        (
            "roles/analyst/masks",
            {"secret": "redact"},  # pragma: allowlist secret
            r"masks names unknown classification\(s\) \['secret'\]",
        ),
        ("roles/analyst/masks", {"restricted": "shuffle"}, r"unknown mask\(s\) \['restricted: shuffle'\]"),
        ("roles/analyst/layers", ["platinum"], r"unknown layers \['platinum'\]"),
        ("roles/analyst/layers", ..., "layers takes a non-empty list"),
        ("roles/analyst/domains", ["marketing"], r"unknown domains \['marketing'\]"),
        ("roles/analyst/row_filters", ["country"], "unknown row filter 'country'"),
        ("roles/analyst/attributes", {}, "row filter 'region' needs the attribute 'regions'"),
        ("roles/analyst/attributes", {"regions": "eu-west-1"}, "takes a non-empty list of strings"),
        ("roles/analyst/clearence", "internal", r"unknown key\(s\) \['clearence'\]"),
        ("roles/analyst/description", ..., "missing description"),
        ("roles/analyst/extends", "manager", "extends unknown role 'manager'"),
        ("roles/officer/audit", False, "needs audit: true"),
        ("roles/officer/clearance", "confidential", "raw_tables needs clearance restricted"),
        ("row_filters/region/column", "regoin", "no product's contract has a column 'regoin'"),
        ("row_filters/region/column", "region; DROP TABLE x", "column must name a column"),
        ("row_filters/region/unfiltered", ["orders.silver_ordres"], "unknown products"),
        ("row_filters/region/unfiltered", ["payments.silver_payment_events"], "have a region column"),
        ("roles", {}, "define at least one role"),
    ],
)
def test_a_malformed_policy_is_refused_with_what_to_fix(path: str, value: Any, message: str) -> None:
    with pytest.raises(AccessPolicyError, match=message):
        _parse(_changed(path, value))


def test_extends_cycles_are_refused() -> None:
    raw = _changed("roles/analyst/extends", "officer")
    raw["roles"]["officer"]["extends"] = "analyst"
    with pytest.raises(AccessPolicyError, match="extends forms a cycle analyst -> officer -> analyst"):
        _parse(raw)


def test_an_unreadable_policy_file_names_the_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text("roles: [analyst\n")
    monkeypatch.setenv("MESHHOUSE_ACCESS_POLICIES", str(path))
    with pytest.raises(AccessPolicyError, match=re.escape(f"{path}: cannot read the access policy")):
        load_policy()
    path.write_text("roles: {analyst: {description: x, clearance: top, layers: [gold]}}\n")
    with pytest.raises(AccessPolicyError, match=re.escape(f"{path}: role 'analyst': clearance 'top'")):
        load_policy()
