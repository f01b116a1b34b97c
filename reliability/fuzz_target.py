"""The coverage-guided fuzzer's target (atheris): any bytes, as a landed file's lines, through the
envelope validation; every line must come out valid or quarantined once, with its raw bytes
and a reason, and nothing may raise. Run by ``reliability.fuzz`` as
``python -m reliability.fuzz_target [libFuzzer flags] CORPUS...``."""

import datetime as dt
import sys

import atheris
import duckdb  # noqa: F401  (imported first: only the platform's own code is instrumented)
import polars  # noqa: F401
import pyarrow  # noqa: F401

with atheris.instrument_imports(include=["platform_resources"]):
    from platform_resources.ingest.envelope import classify_lines

NOW = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)


def one_input(data: bytes) -> None:
    lines = data.split(b"\n")
    valid, quarantined = classify_lines(1, lines, "fuzz.jsonl", DAY, NOW)
    numbers = sorted([*valid["line_number"], *quarantined["line_number"]])
    if numbers != list(range(1, len(lines) + 1)):
        raise AssertionError(f"lines {len(lines)}, accounted {numbers}")
    for raw, number, reason in quarantined.select("raw", "line_number", "reason").iter_rows():
        if raw != lines[number - 1] or not reason:
            raise AssertionError(f"line {number} quarantined as {raw!r} ({reason!r})")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
