"""Arbitrary and hostile input: every line lands in Bronze or the quarantine, once, and nothing raises.

Property-based (hypothesis) over envelope validation, a landed file's line split and Silver
typing, then one named test per input a producer gets wrong in practice.
"""

import datetime as dt
import gzip
import json
import string
import tempfile
import uuid
from pathlib import Path
from unittest import mock

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.orders.silver import type_events
from platform_resources.ingest import landing
from platform_resources.ingest.envelope import MAX_EVENT_BYTES, TIMESTAMP_REASON, classify_lines
from platform_resources.ingest.landing import count_lines, iter_line_batches
from tests.conftest import envelope

NOW = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)
#: Typing runs a DuckDB per example: a quarter of the profile's examples.
TYPING = settings(max_examples=max(10, settings.default.max_examples // 4))

lines = st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# each envelope field: a good value, a wrong type, or absent
field_values = {
    "eventId": st.sampled_from([str(uuid.UUID(int=7)), "not-a-uuid", 42, None, ""]),
    "eventType": st.sampled_from(["order.created", " ", ["a"], None]),
    "timestamp": st.sampled_from(["2026-11-20T10:00:00Z", "2026-11-20T10:00:00+02:00", "yesterday", 1, None]),
    "data": st.sampled_from([{"payload": {}}, "payload", [], None]),
    "userId": st.sampled_from(["user-1", 7, None]),
}
ABSENT = object()


def _classify(batch: list[bytes], first: int = 1) -> tuple[pl.DataFrame, pl.DataFrame]:
    return classify_lines(first, batch, "f.jsonl", DAY, NOW)


@given(batch=lines, first=st.integers(min_value=0, max_value=10**9))
def test_any_lines_are_each_valid_or_quarantined_once_with_their_raw_bytes_and_a_reason(
    batch: list[bytes], first: int
) -> None:
    valid, quarantined = _classify(batch, first)
    numbers = sorted([*valid["line_number"], *quarantined["line_number"]])
    assert numbers == list(range(first, first + len(batch)))
    for row in quarantined.iter_rows(named=True):
        assert row["raw"] == batch[row["line_number"] - first]
        assert row["reason"]
    for row in valid.iter_rows(named=True):
        assert row["raw"].encode() == batch[row["line_number"] - first]


@given(data=st.binary(max_size=2000), batch_lines=st.integers(min_value=1, max_value=7))
def test_any_file_is_accounted_line_by_line(data: bytes, batch_lines: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "part.jsonl"
        path.write_bytes(data)
        accounted = 0
        for first, batch in iter_line_batches(path, batch_lines):
            valid, quarantined = _classify(batch, first)
            accounted += valid.height + quarantined.height
        assert accounted == count_lines(path)


@given(
    data=st.binary(max_size=2000)
    | st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\xef\xbb\xbf", b"{}"])).map(b"".join),
    chunk=st.integers(min_value=1, max_value=64),
    batch_lines=st.integers(min_value=1, max_value=7),
)
def test_lines_read_in_chunks_are_the_lines_a_reader_sees(data: bytes, chunk: int, batch_lines: int) -> None:
    """Any chunk size splits a file into the lines (and numbers) reading it line by line gives:
    a CR or LF at a chunk's edge, CR LF endings, a byte-order mark, no final newline."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "part.jsonl"
        path.write_bytes(data)
        with path.open("rb") as f:
            expected = [line.rstrip(b"\r\n") if line.endswith(b"\n") else line for line in f]
        if expected:
            expected[0] = expected[0].removeprefix(b"\xef\xbb\xbf")
        with mock.patch.object(landing, "SPLIT_CHUNK", chunk):
            batches = list(iter_line_batches(path, batch_lines))
    assert [line for _, batch in batches for line in batch] == expected
    assert [first for first, _ in batches] == list(range(1, len(expected) + 1, batch_lines))
    assert all(len(batch) == batch_lines for _, batch in batches[:-1])


@given(fields=st.fixed_dictionaries({k: st.one_of(st.just(ABSENT), v) for k, v in field_values.items()}))
def test_an_envelope_is_valid_exactly_when_every_field_is(fields: dict) -> None:
    record = {k: v for k, v in fields.items() if v is not ABSENT}
    valid, quarantined = _classify([json.dumps(record).encode()])
    good = (
        record.get("eventId") == str(uuid.UUID(int=7))
        and record.get("eventType") == "order.created"
        and record.get("timestamp") in ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00+02:00")
        and record.get("data") == {"payload": {}}
        and record.get("userId", "user-1") in ("user-1", None)
    )
    assert (valid.height, quarantined.height) == ((1, 0) if good else (0, 1))
    assert quarantined["reason"].null_count() == 0


@TYPING
@given(
    payloads=st.lists(
        st.dictionaries(
            st.sampled_from(["orderId", "items", "totalAmount", "currency", "status"]),
            json_values,
            max_size=5,
        ),
        min_size=1,
        max_size=8,
    ),
    event_type=st.sampled_from(["order.created", "order.paid", "order.refunded", "order.unknown"]),
)
def test_silver_typing_of_any_payload_raises_nothing_and_keeps_every_distinct_event(
    home, payloads: list[dict], event_type: str
) -> None:
    records = [envelope(event_type, payload) for payload in payloads]
    valid, quarantined = _classify([json.dumps(r).encode() for r in records])
    assert (valid.height, quarantined.height) == (len(records), 0)
    events, _items, duplicates = type_events(valid)
    assert (events.height, duplicates) == (len(records), 0)
    assert events["event_id"].to_list() == [r["eventId"] for r in records]


GOOD = json.dumps(envelope("order.created", {"orderId": "o-1"})).encode()


def _file_lines(tmp_path: Path, data: bytes) -> tuple[int, list[tuple[pl.DataFrame, pl.DataFrame]]]:
    path = tmp_path / "part.jsonl"
    path.write_bytes(data)
    return count_lines(path), [_classify(batch, first) for first, batch in iter_line_batches(path)]


def test_an_oversized_line_is_quarantined_with_its_size_and_its_neighbours_load() -> None:
    big = json.dumps(envelope("order.created", {"blob": "x" * MAX_EVENT_BYTES})).encode()
    valid, quarantined = _classify([GOOD, big, GOOD])
    assert valid["line_number"].to_list() == [1, 3]
    (row,) = quarantined.to_dicts()
    assert row["raw"] == big and row["line_number"] == 2
    assert (
        row["reason"] == f"oversized: {len(big):,} bytes, over the {MAX_EVENT_BYTES:,}-byte limit of an event"
    )


def test_nul_bytes_outside_strings_are_not_json_and_escaped_ones_are_kept() -> None:
    escaped = json.dumps(envelope("order.created", {"note": "a\u0000b"})).encode()
    valid, quarantined = _classify([b"\x00" + GOOD, GOOD.replace(b"{", b"{\x00", 1), escaped])
    assert quarantined["reason"].to_list() == ["not valid JSON", "not valid JSON"]
    assert valid["raw"].to_list() == [escaped.decode()]


def test_invalid_utf8_is_quarantined_with_its_bytes_and_the_batch_still_decodes() -> None:
    bad = GOOD.replace(b"o-1", b"o-\xc3\x28")
    valid, quarantined = _classify([GOOD, bad, "é".encode() + GOOD])
    assert quarantined.to_dicts()[0]["raw"] == bad
    assert quarantined["reason"].to_list() == ["undecodable bytes: not valid UTF-8", "not valid JSON"]
    assert valid.height == 1


def test_a_byte_order_mark_opening_a_file_is_left_out_and_elsewhere_is_not_json(tmp_path) -> None:
    total, [(valid, quarantined)] = _file_lines(
        tmp_path, b"\xef\xbb\xbf" + GOOD + b"\n\xef\xbb\xbf" + GOOD + b"\n"
    )
    assert total == 2 and valid["line_number"].to_list() == [1]
    assert valid["raw"].to_list() == [GOOD.decode()]
    assert quarantined.select("line_number", "reason").to_dicts() == [
        {"line_number": 2, "reason": "not valid JSON"}
    ]


def test_crlf_line_endings_are_line_endings(tmp_path) -> None:
    total, [(valid, quarantined)] = _file_lines(tmp_path, GOOD + b"\r\n" + GOOD + b"\r\n")
    assert (total, valid.height, quarantined.height) == (2, 2, 0)
    assert valid["raw"].to_list() == [GOOD.decode()] * 2


def test_deep_nesting_is_kept_in_a_payload_and_refused_as_an_envelope_field() -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    in_payload = GOOD[:-1] + b', "extra": ' + deep + b"}"
    as_id = b'{"eventId": ' + deep + b"}"
    valid, quarantined = _classify([in_payload, as_id])
    assert valid["line_number"].to_list() == [1]
    assert quarantined["reason"].to_list() == ["eventId is not a string: got array"]


def test_compressed_bytes_under_a_jsonl_name_are_quarantined_line_by_line(tmp_path) -> None:
    total, batches = _file_lines(tmp_path, gzip.compress((GOOD + b"\n") * 50))
    assert sum(v.height for v, _ in batches) == 0
    assert sum(q.height for _, q in batches) == total >= 1
    reasons = set(pl.concat([q for _, q in batches])["reason"])
    assert reasons <= {"undecodable bytes: not valid UTF-8", "not valid JSON", "empty line"}


def test_an_empty_file_has_no_lines(tmp_path) -> None:
    assert _file_lines(tmp_path, b"") == (0, [])


def test_a_missing_trailing_newline_loses_no_last_line(tmp_path) -> None:
    total, [(valid, _)] = _file_lines(tmp_path, GOOD + b"\n" + GOOD)
    assert total == 2 and valid["line_number"].to_list() == [1, 2]


def test_far_future_and_far_past_timestamps_are_kept_in_bronze_and_out_of_range_ones_quarantined() -> None:
    stamps = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "275760-01-01T00:00:00Z"]
    valid, quarantined = _classify(
        [json.dumps(envelope("order.created", {}, ts=ts)).encode() for ts in stamps]
    )
    assert [t.year for t in valid["event_ts"]] == [9999, 1]
    assert quarantined.select("line_number", "reason").to_dicts() == [
        {"line_number": 3, "reason": TIMESTAMP_REASON}
    ]


def test_a_ten_kilobyte_event_id_is_not_a_uuid() -> None:
    line = json.dumps(envelope("order.created", {}, event_id=string.hexdigits * 500)).encode()
    _, quarantined = _classify([line])
    assert quarantined["reason"].to_list() == ["eventId is not a UUID"]
    assert quarantined["raw"].to_list() == [line]


def test_one_event_id_with_two_payloads_is_typed_once_the_first_copy(home) -> None:
    event_id = str(uuid.uuid4())
    first = envelope("order.created", {"orderId": "o-first"}, event_id=event_id)
    second = envelope("order.created", {"orderId": "o-second"}, event_id=event_id)
    valid, _ = _classify([json.dumps(first).encode(), json.dumps(second).encode()])
    events, _, duplicates = type_events(valid)
    assert duplicates == 1 and events["order_id"].to_list() == ["o-first"]
