"""The landing zone: ``landing/<domain>/dt=YYYY-MM-DD/*.jsonl`` files, listed and read in bounded batches."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from platform_resources.settings import get_paths

DAY_DIR = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")
LINE_BATCH = 100_000


@dataclass(frozen=True)
class LandingFile:
    path: Path
    day: dt.date
    size: int
    mtime_ns: int

    @property
    def fingerprint(self) -> str:
        """Identity of this version of the file: a rewritten file is a new file."""
        return f"{self.path}:{self.size}:{self.mtime_ns}"


def landing_files(domain: str, day: dt.date | None = None) -> list[LandingFile]:
    """Landing files of a domain (of one day, if given), in a stable order."""
    root = get_paths().landing_dir(domain)
    pattern = f"dt={day.isoformat()}/*.jsonl" if day else "dt=*/*.jsonl"
    found = []
    for path in sorted(root.glob(pattern)):
        match = DAY_DIR.fullmatch(path.parent.name)
        if not match:
            continue
        stat = path.stat()
        found.append(LandingFile(path, dt.date.fromisoformat(match[1]), stat.st_size, stat.st_mtime_ns))
    return found


def count_lines(path: Path) -> int:
    """Lines in a file as a reader sees them: a last line without a newline still counts."""
    count = 0
    last = b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def iter_line_batches(path: Path, batch_lines: int = LINE_BATCH) -> Iterator[tuple[int, list[bytes]]]:
    """(first line number, raw lines without their line ending) in batches; numbering starts at 1."""
    first = 1
    batch: list[bytes] = []
    with open(path, "rb") as f:
        for line in f:
            batch.append(line.rstrip(b"\r\n") if line.endswith(b"\n") else line)
            if len(batch) == batch_lines:
                yield first, batch
                first += len(batch)
                batch = []
    if batch:
        yield first, batch
