"""Staging: a staged table is held to its contract in batches, uniqueness over the whole table."""

import polars as pl

from platform_resources.contracts.parsing import parse_contract
from platform_resources.storage.staging import (
    ROW_INDEX,
    frames,
    hold_staged_to_contract,
    scratch_duckdb,
    stage_frame,
)

CONTRACT = parse_contract(
    {
        "domain": "d",
        "layer": "silver",
        "name": "things",
        "version": "1.0.0",
        "owner": "team:d",
        "quality": {"max_failing_ratio": 0.5},
        "columns": [
            {"name": "id", "type": "string", "required": True, "unique": True},
            {"name": "n", "type": "int64", "minimum": 0},
        ],
    }
)


def test_a_duplicate_in_another_batch_and_a_bad_value_are_found_by_row_index(home) -> None:
    rows = pl.DataFrame(
        {ROW_INDEX: [10, 11, 12, 13, 14], "id": ["a", "b", "c", "a", "d"], "n": [1, 2, -3, 4, 5]}
    )
    with scratch_duckdb("test") as con:
        stage_frame(con, "things", rows)
        outcome = hold_staged_to_contract(con, "things", CONTRACT, rows=2)  # "a" sits in two batches
        assert [f.height for f in frames(con, "SELECT * FROM things", rows=2)] == [2, 2, 1]
    cases = {(r["check"], r["index"]) for r in outcome.failure_cases.iter_rows(named=True)}
    assert cases == {("field_uniqueness", 10), ("field_uniqueness", 13), ("greater_than_or_equal_to(0)", 12)}
    assert outcome.rows_checked == 5 and outcome.failing_rows == 3 and not outcome.passed


def test_the_scratch_folder_is_removed_afterwards(home) -> None:
    with scratch_duckdb("test") as con:
        con.execute("SET memory_limit = '64MB'")
        con.execute("CREATE TABLE big AS SELECT range AS i, repeat('x', 200) AS s FROM range(2000000)")
        assert con.execute("SELECT count(*) FROM big").fetchone()[0] == 2_000_000
    assert not any((home / "scratch" / "stage").iterdir())
