"""Seed-002 envelope validation: every bad line gets its reason, every good line its columns."""

import datetime as dt
import json

import pytest

from platform_resources.ingest.envelope import TIMESTAMP_REASON, classify_lines
from platform_resources.ingest.landing import count_lines, iter_line_batches
from tests.conftest import envelope

NOW = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
GOOD = envelope("order.paid", {"orderId": "o-1"}, event_id="6f1c1a2e-1111-4222-8333-944444444444")


def _one(line: bytes) -> tuple:
    return classify_lines(7, [line], "f.jsonl", dt.date(2026, 11, 20), NOW)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"\xff\xfe{not utf8}", "undecodable bytes: not valid UTF-8"),
        (b"", "empty line"),
        (b"   ", "empty line"),
        (b'{"eventId": "x", ', "not valid JSON"),
        (b"[1, 2]", "not a JSON object: got array"),
        (b'"just a string"', "not a JSON object: got varchar"),
        (json.dumps({**GOOD, "eventId": None}).encode(), "missing eventId"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "eventId"}).encode(), "missing eventId"),
        (json.dumps({**GOOD, "eventId": 42}).encode(), "eventId is not a string: got ubigint"),
        (json.dumps({**GOOD, "eventId": "not-a-uuid"}).encode(), "eventId is not a UUID"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "eventType"}).encode(), "missing eventType"),
        (json.dumps({**GOOD, "eventType": ["a"]}).encode(), "eventType is not a string: got array"),
        (json.dumps({**GOOD, "eventType": " "}).encode(), "eventType is empty"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "timestamp"}).encode(), "missing timestamp"),
        (json.dumps({**GOOD, "timestamp": 1732100000}).encode(), "timestamp is not a string: got ubigint"),
        *(
            (json.dumps({**GOOD, "timestamp": ts}).encode(), TIMESTAMP_REASON)
            for ts in (
                "yesterday",
                "infinity",
                "-infinity",
                "epoch",
                "2026-11-20",
                "2026-11-20 10:00:00Z",
                "2026-11-20T10:00:00",
                "2026-13-01T10:00:00Z",
                "2026-11-20T25:00:00Z",
            )
        ),
        (json.dumps({k: v for k, v in GOOD.items() if k != "data"}).encode(), "missing data"),
        (json.dumps({**GOOD, "data": "payload"}).encode(), "data is not an object: got varchar"),
        (json.dumps({**GOOD, "userId": 7}).encode(), "userId is not a string: got ubigint"),
    ],
)
def test_each_malformed_line_is_quarantined_with_its_reason(line: bytes, reason: str) -> None:
    valid, quarantined = _one(line)
    assert valid.height == 0
    assert quarantined.select("line_number", "reason", "raw", "source_file").to_dicts() == [
        {"line_number": 7, "reason": reason, "raw": line, "source_file": "f.jsonl"}
    ]


def test_valid_envelope_keeps_raw_text_and_parses_envelope_columns() -> None:
    line = json.dumps(GOOD).encode()
    valid, quarantined = _one(line)
    assert quarantined.height == 0
    row = valid.to_dicts()[0]
    assert row["raw"] == line.decode()
    assert row["event_id"] == GOOD["eventId"]
    assert row["event_type"] == "order.paid"
    assert row["event_ts"] == dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
    assert row["user_id"] == GOOD["userId"]
    assert row["line_number"] == 7
    assert row["landing_date"] == dt.date(2026, 11, 20)
    assert len(row["checksum"]) == 64


def test_offsets_other_than_utc_are_accepted_and_converted() -> None:
    valid, _ = _one(json.dumps({**GOOD, "timestamp": "2026-11-20T12:30:00+02:00"}).encode())
    assert valid["event_ts"].to_list() == [dt.datetime(2026, 11, 20, 10, 30, tzinfo=dt.UTC)]


def test_an_empty_batch_gives_empty_frames_with_their_columns() -> None:
    valid, quarantined = classify_lines(1, [], "f", dt.date(2026, 11, 20), NOW)
    assert valid.height == quarantined.height == 0
    assert {"event_id", "raw", "landing_date"} <= set(valid.columns)
    assert {"reason", "raw", "landing_date"} <= set(quarantined.columns)


def test_a_batch_mixing_good_and_bad_lines_accounts_for_every_line() -> None:
    lines = [json.dumps(GOOD).encode(), b"garbage", b"\xc3\x28", json.dumps(GOOD).encode()]
    valid, quarantined = classify_lines(1, lines, "f", dt.date(2026, 11, 20), NOW)
    assert valid["line_number"].to_list() == [1, 4]
    assert sorted(quarantined["line_number"].to_list()) == [2, 3]


def test_line_batches_and_line_count_agree_on_files_with_and_without_final_newline(tmp_path) -> None:
    for content, expected in [(b"a\nb\n", 2), (b"a\nb", 2), (b"a\n\nb\n", 3), (b"", 0), (b"a\r\nb\r\n", 2)]:
        path = tmp_path / "f.jsonl"
        path.write_bytes(content)
        lines = [line for _, batch in iter_line_batches(path, batch_lines=2) for line in batch]
        assert len(lines) == count_lines(path) == expected
        assert all(not line.endswith((b"\n", b"\r")) for line in lines)
