"""The Iceberg IO layer: a partition write replaces exactly its window, atomically; reruns never duplicate."""

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import read_table, table_identifier, write_frames

D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)


def _rows(day: dt.date, n: int, tag: str = "a") -> pl.DataFrame:
    return pl.DataFrame({"id": [f"{tag}{i}" for i in range(n)], "day": [day] * n})


def _write(frame, window=None, identifier="t.silver_things"):
    return write_frames(load_catalog(), identifier, frame, partition_column="day", window=window)


def _counts() -> dict:
    return dict(read_table("t.silver_things").group_by("day").len().collect().iter_rows())


def test_table_identifier_follows_domain_layer_name() -> None:
    assert table_identifier(dg.AssetKey(["orders", "silver", "orders"])) == "orders.silver_orders"
    with pytest.raises(dg.DagsterInvariantViolationError, match="must be"):
        table_identifier(dg.AssetKey(["orders", "orders"]))


def test_rewriting_a_partition_replaces_only_that_partition(home) -> None:
    _write(_rows(D1, 3), (D1, D2))
    _write(_rows(D2, 4), (D2, D3))
    table, rows = _write(_rows(D1, 2, "b"), (D1, D2))
    assert rows == 2
    assert _counts() == {D1: 2, D2: 4}
    assert sorted(read_table("t.silver_things", partition_column="day", window=(D1, D2)).collect()["id"]) == [
        "b0",
        "b1",
    ]
    assert table.spec().fields[0].name == "day"


def test_rerunning_the_same_partition_does_not_duplicate(home) -> None:
    for _ in range(3):
        _write(_rows(D1, 5), (D1, D2))
    assert _counts() == {D1: 5}


def test_rows_outside_the_window_are_refused_and_nothing_is_committed(home) -> None:
    _write(_rows(D1, 3), (D1, D2))
    before = load_catalog().load_table("t.silver_things").metadata.current_snapshot_id
    with pytest.raises(dg.DagsterInvariantViolationError, match="outside the partition window"):
        _write(pl.concat([_rows(D1, 1, "x"), _rows(D2, 1, "y")]), (D1, D2))
    assert load_catalog().load_table("t.silver_things").metadata.current_snapshot_id == before
    assert _counts() == {D1: 3}


def _commits() -> int:
    return len(load_catalog().load_table("t.silver_things").metadata.metadata_log)


def test_a_range_write_in_batches_is_one_commit(home) -> None:
    _write(_rows(D3, 1), (D3, D3 + dt.timedelta(days=1)))
    commits = _commits()
    _, rows = _write(iter([_rows(D1, 2), _rows(D2, 3)]), (D1, D3))
    assert rows == 5 and _counts() == {D1: 2, D2: 3, D3: 1}
    assert _commits() == commits + 1
    assert (
        read_table("t.silver_things", partition_column="day", window=(D2, D3 + dt.timedelta(days=1)))
        .collect()
        .height
        == 4
    )


def test_many_batches_into_one_partition_keep_every_row_in_one_snapshot(home) -> None:
    table, rows = _write(iter([_rows(D1, 2, "a"), _rows(D1, 3, "b"), _rows(D1, 4, "c")]), (D1, D2))
    assert rows == 9
    ids = read_table("t.silver_things").collect()["id"].to_list()
    assert sorted(ids) == sorted(
        [f"a{i}" for i in range(2)] + [f"b{i}" for i in range(3)] + [f"c{i}" for i in range(4)]
    )
    appends = [s for s in table.metadata.snapshots if s.summary.operation.value == "append"]
    assert len(appends) == 1 and appends[0].summary["added-data-files"] == "3"


def test_a_lazy_frame_is_written_in_bounded_batches(home, monkeypatch) -> None:
    monkeypatch.setattr("platform_resources.storage.iceberg_io.WRITE_BATCH_ROWS", 300)
    _, rows = _write(_rows(D1, 1000).lazy(), (D1, D2))
    assert rows == 1000 and _counts() == {D1: 1000}
    assert read_table("t.silver_things").collect()["id"].n_unique() == 1000


def test_a_new_column_evolves_the_schema_in_the_same_commit(home) -> None:
    _write(_rows(D1, 1), (D1, D2))
    commits = _commits()
    _write(_rows(D2, 1).with_columns(extra=pl.lit(7)), (D2, D3))
    frame = read_table("t.silver_things").sort("day").collect()
    assert frame["extra"].to_list() == [None, 7]
    assert _commits() == commits + 1


def test_a_refused_first_write_leaves_no_schema_change(home) -> None:
    _write(_rows(D1, 1), (D1, D2))
    with pytest.raises(dg.DagsterInvariantViolationError):
        _write(_rows(D2, 1).with_columns(extra=pl.lit(7)), (D1, D2))
    assert "extra" not in read_table("t.silver_things").collect_schema()


def test_the_table_is_created_partitioned_in_one_commit(home) -> None:
    nested = pl.DataFrame({"s": [{"a": 1, "b": [1, 2]}], "id": ["x"], "day": [D1]})
    table, _ = _write(nested, (D1, D2))
    assert [f.name for f in table.spec().fields] == ["day"]
    assert len(table.metadata.metadata_log) == 1  # created, then the write


def test_writing_no_frames_empties_the_window(home) -> None:
    _write(_rows(D1, 2), (D1, D2))
    _write(_rows(D2, 2), (D2, D3))
    _, rows = _write(iter([]), (D1, D2))
    assert rows == 0 and _counts() == {D2: 2}


def test_a_table_window_streams_its_rows_file_by_file_with_only_the_columns_asked(home) -> None:
    from platform_resources.storage.iceberg_io import TableWindow

    _write(iter([_rows(D1, 2, "a"), _rows(D1, 3, "b")]), (D1, D2))
    _write(_rows(D2, 4, "c"), (D2, D3))
    window = TableWindow("t.silver_things", "day", (D1, D2))
    batches = list(window.stream(["id"]))
    assert len(batches) == 2 and all(b.schema.names == ["id"] for b in batches)
    assert sorted(v for b in batches for v in b.column("id").to_pylist()) == ["a0", "a1", "b0", "b1", "b2"]
    assert window.count() == 5 == window.lazy().collect().height
    empty = TableWindow("t.silver_things", "day", (D3, D3 + dt.timedelta(days=1))).stream(["id", "day"])
    assert empty.schema.names == ["id", "day"] and empty.read_all().num_rows == 0
