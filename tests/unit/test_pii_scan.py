"""The PII scan: short values in compressed bytes are chance, in decoded content they are findings."""

from __future__ import annotations

import io
import random

import pyarrow as pa
import pyarrow.parquet as pq

from platform_resources.privacy.pii_scan import decoded_parts, scan_content, value_pattern

NAME = "Ada"
PATTERN = value_pattern([NAME])


def _parquet(values: list[str]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"token": values}), buffer, compression="zstd")
    return buffer.getvalue()


def _tokens_whose_compressed_bytes_spell_the_name() -> bytes:
    """A Parquet file of random hex tokens whose raw bytes hold ``NAME`` by chance."""
    for seed in range(100_000):
        rng = random.Random(seed)
        data = _parquet(["".join(rng.choice("0123456789abcdef") for _ in range(32)) for _ in range(200)])
        parts = dict(decoded_parts(data))
        if PATTERN.search(parts["bytes"]) and not PATTERN.search(parts["column token"]):
            return data
    raise AssertionError("no seed gave compressed bytes that spell the name")


def test_a_short_name_in_compressed_bytes_by_chance_is_not_a_finding() -> None:
    assert scan_content("tokens.parquet", _tokens_whose_compressed_bytes_spell_the_name(), PATTERN) == set()


def test_a_short_name_stored_in_a_parquet_column_is_found_in_its_decoded_values() -> None:
    findings = scan_content("names.parquet", _parquet(["Grace", NAME, "Linus"] * 50), PATTERN)
    assert {(f.value, f.where) for f in findings} == {(NAME, "column token")}


def test_a_short_name_in_a_plain_file_is_found_in_its_bytes() -> None:
    findings = scan_content("events.jsonl", b'{"firstName": "Ada"}\n', PATTERN)
    assert {(f.value, f.where) for f in findings} == {(NAME, "bytes")}
