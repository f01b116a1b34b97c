"""The landing zone: ``landing/<domain>/dt=YYYY-MM-DD/`` JSONL files, listed and read in bounded batches."""

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


def _day_folders(domain: str) -> Iterator[tuple[Path, dt.date | None]]:
    root = get_paths().landing_dir(domain)
    for folder in sorted(root.glob("dt=*")):
        match = DAY_DIR.fullmatch(folder.name)
        try:
            yield folder, dt.date.fromisoformat(match[1]) if match else None
        except ValueError:  # dt=2026-02-30
            yield folder, None


def landing_files(domain: str, day: dt.date | None = None) -> list[LandingFile]:
    """Every file in a domain's day folders (of one day, if given), in a stable order.

    All files count, whatever their name, except hidden ones (``.name``): producers write
    there first and rename when the file is complete.
    """
    found = []
    for folder, folder_day in _day_folders(domain):
        if folder_day is None or (day is not None and folder_day != day):
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                found.append(LandingFile(path, folder_day, stat.st_size, stat.st_mtime_ns))
    return found


def unreadable_folders(domain: str) -> list[Path]:
    """``dt=`` folders whose name is not a real date: nothing in them is ingested."""
    return [folder for folder, day in _day_folders(domain) if day is None]


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
