"""Building blocks for event simulators: vectorized UUIDs, seed-002 envelopes, faults, landing files.

A domain simulator produces a frame of events (``event_ts`` plus the envelope's fields);
``write_landing`` injects the requested faults and writes JSONL files under
``landing/<domain>/dt=<event day>/``. Faults are extra lines, so every intended event is
still delivered once: redelivered copies reuse the eventId, late events go to a separate
``late-*.jsonl`` file of their own day, and malformed lines are corrupted copies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from platform_resources.core.settings import get_paths

MALFORMED_KINDS = (
    "truncated",
    "not_json",
    "array",
    "missing_event_id",
    "numeric_event_id",
    "bad_timestamp",
    "data_not_object",
    "invalid_utf8",
)


@dataclass(frozen=True)
class FaultRates:
    redelivery: float = 0.0
    late: float = 0.0
    malformed: float = 0.0


def uuid4s(rng: np.random.Generator, n: int) -> pl.Series:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = raw.tobytes().hex()
    return pl.Series(
        [
            f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
            for h in (hexed[i * 32 : i * 32 + 32] for i in range(n))
        ],
        dtype=pl.String,
    )


def _corrupt(line: str, kind: str) -> bytes:
    body = line[1:]  # without the opening brace
    return {
        "truncated": line[: max(1, len(line) // 2)].encode(),
        "not_json": b"<html>502 Bad Gateway</html>",
        "array": f"[{line}]".encode(),
        "missing_event_id": ("{" + body.split(",", 1)[1]).encode(),
        "numeric_event_id": ('{"eventId":42,' + body.split(",", 1)[1]).encode(),
        "bad_timestamp": line.replace('"timestamp":"', '"timestamp":"not-a-time ').encode(),
        "data_not_object": line.replace('"data":{', '"data":"oops","_data":{').encode(),
        "invalid_utf8": line.encode()[:40] + b"\xff\xfe\xfa" + line.encode()[40:],
    }[kind]


def write_landing(
    domain: str, events: pl.DataFrame, *, tag: str, rates: FaultRates, rng: np.random.Generator
) -> dict[str, int]:
    """Write ``events`` (columns ``event_ts``, ``line``) with faults; returns line counts by kind."""
    root = get_paths().landing_dir(domain)
    n = events.height
    late = rng.random(n) < rates.late
    events = events.with_columns(pl.Series("late", late), pl.col("event_ts").dt.date().alias("day"))
    redelivered = events.filter(pl.Series(rng.random(n) < rates.redelivery))
    counts = {"events": n, "redelivered": redelivered.height, "late": int(late.sum()), "malformed": 0}
    all_lines = pl.concat([events, redelivered]).sort("event_ts")
    for (day, is_late), group in all_lines.group_by("day", "late", maintain_order=True):
        folder = root / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [s.encode() for s in group.get_column("line").to_list()]
        if not is_late and rates.malformed > 0:
            picked = np.flatnonzero(rng.random(len(lines)) < rates.malformed)
            kinds = rng.integers(len(MALFORMED_KINDS), size=len(picked))
            corrupted = [
                _corrupt(lines[i].decode(), MALFORMED_KINDS[k]) for i, k in zip(picked, kinds, strict=True)
            ]
            lines = _interleave(lines, corrupted, rng)
            counts["malformed"] += len(corrupted)
        name = f"late-{tag}.jsonl" if is_late else f"{tag}.jsonl"
        _append_lines(folder / name, lines)
    return counts


def land_days(
    domain: str,
    days_lines: Iterable[tuple[dt.date, pl.DataFrame]],
    *,
    rates: FaultRates,
    rng: np.random.Generator,
) -> dict[str, int]:
    """``write_landing`` for each day's lines (``<domain>-<day>.jsonl``); line counts summed by kind."""
    totals: dict[str, int] = {}
    for day, lines in days_lines:
        for kind, count in write_landing(domain, lines, tag=f"{domain}-{day}", rates=rates, rng=rng).items():
            totals[kind] = totals.get(kind, 0) + count
    return totals


def _interleave(lines: list[bytes], extra: list[bytes], rng: np.random.Generator) -> list[bytes]:
    """``lines`` with ``extra`` inserted at random positions, in one pass."""
    if not extra:
        return lines
    positions = np.sort(rng.integers(0, len(lines) + 1, size=len(extra)))
    out: list[bytes] = []
    start = 0
    for pos, line in zip(positions, extra, strict=True):
        out.extend(lines[start:pos])
        out.append(line)
        start = pos
    out.extend(lines[start:])
    return out


def _append_lines(path: Path, lines: list[bytes]) -> None:
    with open(path, "ab") as f:
        f.write(b"\n".join(lines) + b"\n")


def day_range(days: int, end: dt.date | None = None) -> list[dt.date]:
    """``days`` consecutive days ending with ``end`` (default: yesterday, UTC)."""
    last = end or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
    return [last - dt.timedelta(days=i) for i in reversed(range(days))]
