"""Contracts: parsing errors say what to fix; validation splits rows and reports them in check metadata."""

import datetime as dt

import polars as pl
import pytest

from platform_resources.contracts.enforcement import hold_to_contract, split_by_contract
from platform_resources.contracts.model import ContractError
from platform_resources.contracts.parsing import parse_contract

RAW = {
    "domain": "orders",
    "layer": "silver",
    "name": "things",
    "version": "1.0.0",
    "owner": "team:orders",
    "quality": {"max_failing_ratio": 0.25},
    "columns": [
        {"name": "id", "type": "string", "required": True, "unique": True},
        {"name": "kind", "type": "string", "required": True, "allowed": ["a", "b"]},
        {"name": "amount", "type": "decimal(18,2)", "minimum": 0, "required_when": {"kind": ["a"]}},
        {"name": "email", "type": "string", "classification": "restricted", "pii": True},
    ],
}


def _frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"id": pl.String, "kind": pl.String, "amount": pl.Decimal(18, 2), "email": pl.String},
        orient="row",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner": None}, "missing required key 'owner'"),
        ({"columns": [{"name": "x", "type": "varchar"}]}, "unknown column type 'varchar'"),
        (
            {"columns": [{"name": "x", "type": "string", "classification": "secret"}]},
            "classification 'secret'",
        ),
        ({"partition_column": "nope"}, "partition_column 'nope' is not a column"),
        (
            {"columns": [{"name": "x", "type": "string", "required_when": ["a"]}]},
            "required_when takes one column",
        ),
        (
            {"columns": [{"name": "x", "type": "string", "required_when": {"y": ["a"]}}]},
            "'y', which is not a column",
        ),
        (
            {"columns": [{"name": "x", "type": "string", "requried": True}]},
            r"unknown key\(s\) \['requried'\]",
        ),
        ({"columns": [{"name": "x", "type": "string", "allowed": "USD"}]}, "allowed takes a list"),
        ({"owners": "x"}, r"unknown key\(s\) \['owners'\]"),
        ({"layer": "platinum"}, "layer 'platinum' not in"),
        ({"retention": "forever"}, "retention 'forever' not in"),
        ({"slo": {"freshness_minutes": 15, "completeness": 0.99}}, r"slo lacks \['accuracy'\]"),
        ({"slo": {"freshness_minutes": 15, "completeness": 1.5, "accuracy": 0.9}}, "completeness is a share"),
        ({"ports": [{"type": "ftp"}]}, "ports\\[0\\] must be a mapping with a type in"),
        ({"grain": ["id", "nope"]}, r"grain names \['nope'\]"),
        ({"sample_queries": [{"title": "t"}]}, "missing required key 'sql'"),
        ({"deprecation": {"date": "soon"}}, "deprecation date must be a date"),
        ({"deprecation": {"date": dt.date(2027, 1, 1), "successor": "orders/v2"}}, "is not data://"),
        ({"version": "2"}, "is not MAJOR.MINOR.PATCH"),
        (
            {"columns": [{"name": "x", "type": "string", "pii": True, "protection": "encrypted"}]},
            "protection 'encrypted' not in",
        ),
    ],
)
def test_invalid_contracts_are_refused_with_the_fix(change: dict, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        parse_contract({**RAW, **change})


def test_an_empty_contract_file_is_refused() -> None:
    with pytest.raises(ContractError, match="a contract is a YAML mapping"):
        parse_contract(None)


def test_rows_breaking_the_contract_are_split_out_with_every_reason() -> None:
    contract = parse_contract(RAW)
    frame = _frame(
        [
            ("1", "a", 5, None),
            ("2", "c", 5, None),
            ("3", "a", None, None),
            ("4", "b", -1, "x@y.z"),
            ("5", "b", None, None),
        ]
    )
    outcome = hold_to_contract(frame, contract)
    valid, rejected = split_by_contract(frame, outcome)
    assert valid["id"].to_list() == ["1", "5"]
    reasons = dict(rejected.select("id", "reason").iter_rows())
    assert set(reasons) == {"2", "3", "4"}
    assert "kind: isin" in reasons["2"] and "(got c)" in reasons["2"]
    assert "amount required when kind in ['a']" in reasons["3"]
    assert "amount: greater_than_or_equal_to(0)" in reasons["4"]
    assert outcome.failing_rows == 3 and outcome.rows_checked == 5


def test_check_fails_above_the_allowed_ratio_with_counts_and_sample() -> None:
    contract = parse_contract(RAW)
    failing = hold_to_contract(_frame([("1", "a", 1, None), ("2", "zz", 1, None)]), contract)
    result = failing.check_result(contract.asset_key)
    assert not result.passed
    assert result.metadata["failing_rows"].value == 1
    assert result.metadata["failing_ratio"].value == 0.5
    assert result.metadata["max_failing_ratio"].value == 0.25
    assert result.metadata["failure_counts"].value == {"kind: isin(['a', 'b'])": 1}
    assert "zz" in result.metadata["failure_sample"].value
    passing = hold_to_contract(
        _frame([(str(i), "b", None, None) for i in range(4)] + [("9", "zz", None, None)]), contract
    )
    assert passing.failing_ratio == 0.2 and passing.check_result(contract.asset_key).passed


def test_duplicate_keys_break_uniqueness() -> None:
    outcome = hold_to_contract(_frame([("1", "b", None, None), ("1", "b", None, None)]), parse_contract(RAW))
    assert outcome.failing_rows == 2


def test_a_frame_with_other_columns_than_the_contract_is_an_error() -> None:
    with pytest.raises(ContractError, match="does not have the contract's columns"):
        hold_to_contract(_frame([]).drop("email"), parse_contract(RAW))


def test_contract_column_schema_carries_classification_for_the_ui() -> None:
    columns = {c.name: c for c in parse_contract(RAW).table_schema().columns}
    assert columns["email"].tags == {"classification": "restricted", "pii": "true"}
    assert columns["id"].constraints.unique and not columns["id"].constraints.nullable
