"""The landing zone: ``<domain>/dt=YYYY-MM-DD/`` JSONL files, listed and read in bounded batches.

The zone is the local folder ``$MESHHOUSE_HOME/landing`` or, when ``MESHHOUSE_LANDING_URI``
names one, an S3 prefix (``s3://bucket/prefix``) reached through dagster-aws's S3 client
(endpoint and credentials from the standard ``AWS_*`` variables). Both list the same
layout, fingerprint each file's version and stream its lines the same way, so Bronze,
its line accounting and the landing sensors do not care which one it is.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from platform_resources.core.settings import get_landing_uri, get_paths
from platform_resources.storage.encryption import encrypt_buckets
from platform_resources.storage.s3 import s3_client, split_s3_uri

DAY_DIR = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")
LINE_BATCH = 100_000
READ_BUFFER = 1 << 20
SPLIT_CHUNK = 8 << 20
#: The UTF-8 byte-order mark, left out where it opens a file.
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LandingFile:
    path: Path | str  # a local path, or an s3:// URI
    day: dt.date
    size: int
    version: str  # the local mtime in ns, or the S3 ETag

    @property
    def fingerprint(self) -> str:
        """Identity of this version of the file: a rewritten file is a new file."""
        return f"{self.path}:{self.size}:{self.version}"


def _folder_day(name: str) -> tuple[bool, dt.date | None]:
    """(is a ``dt=`` folder, its day if the name is a real date)."""
    if not name.startswith("dt="):
        return False, None
    match = DAY_DIR.fullmatch(name)
    try:
        return True, dt.date.fromisoformat(match[1]) if match else None
    except ValueError:  # dt=2026-02-30
        return True, None


def _visible(name: str) -> bool:
    # producers write to a hidden ``.name`` first and rename it when the file is complete
    return not name.startswith(".")


def _s3_objects(domain: str) -> Iterator[tuple[str, str, dict]]:
    """(day folder name, file name, object) for the objects under ``<landing>/<domain>/``."""
    from dagster_aws.s3.sensor import get_objects

    bucket, prefix = split_s3_uri(get_landing_uri() or "")
    root = f"{prefix.strip('/')}/{domain}/".lstrip("/")
    for obj in sorted(get_objects(bucket, prefix=root, client=s3_client()), key=lambda o: o["Key"]):
        folder, _, name = obj["Key"].removeprefix(root).partition("/")
        if name and "/" not in name:
            yield folder, name, obj


def landing_files(domain: str, day: dt.date | None = None) -> list[LandingFile]:
    """Every visible file in a domain's day folders (of one day, if given), in a stable order."""
    found = []
    uri = get_landing_uri()
    if uri:
        bucket, _ = split_s3_uri(uri)
        for folder, name, obj in _s3_objects(domain):
            is_day, folder_day = _folder_day(folder)
            if is_day and folder_day is not None and (day is None or folder_day == day) and _visible(name):
                path = f"s3://{bucket}/{obj['Key']}"
                found.append(LandingFile(path, folder_day, obj["Size"], obj["ETag"].strip('"')))
        return found
    for folder in sorted(get_paths().landing_dir(domain).glob("dt=*")):
        _, folder_day = _folder_day(folder.name)
        if folder_day is None or (day is not None and folder_day != day):
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and _visible(path.name):
                stat = path.stat()
                found.append(LandingFile(path, folder_day, stat.st_size, str(stat.st_mtime_ns)))
    return found


def unreadable_folders(domain: str) -> list[str]:
    """``dt=`` folders whose name is not a real date: nothing in them is ingested."""
    if get_landing_uri():
        folders = {folder for folder, _, _ in _s3_objects(domain)}
    else:
        folders = {p.name for p in get_paths().landing_dir(domain).glob("dt=*") if p.is_dir()}
    return sorted(f for f in folders if _folder_day(f) == (True, None))


def write_landing_file(domain: str, day: dt.date, name: str, data: bytes) -> str:
    """Put a complete file into a domain's day folder; returns where it went.

    Locally it is written under a hidden name and renamed, so sensors never see it half
    written; an S3 put is atomic by itself.
    """
    uri = get_landing_uri()
    if uri:
        encrypt_buckets()  # production: the bucket is encrypted at rest before the first put
        bucket, prefix = split_s3_uri(uri)
        key = f"{prefix.strip('/')}/{domain}/dt={day.isoformat()}/{name}".lstrip("/")
        s3_client().put_object(Bucket=bucket, Key=key, Body=data)
        return f"s3://{bucket}/{key}"
    folder = get_paths().landing_dir(domain) / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / f".{name}"
    hidden.write_bytes(data)
    return str(hidden.rename(folder / name))


def delete_landing_file(file: LandingFile) -> None:
    """Remove a landing file (retention): a local file, or an S3 object."""
    path = str(file.path)
    if path.startswith("s3://"):
        bucket, key = split_s3_uri(path)
        s3_client().delete_object(Bucket=bucket, Key=key)
    else:
        Path(path).unlink(missing_ok=True)


class _S3Body(io.RawIOBase):
    """An S3 object body as a raw stream, so a buffered reader splits it into lines like a file."""

    def __init__(self, body: Any):
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def open_landing(path: Path | str) -> Iterator[BinaryIO]:
    """A landing file's bytes as a buffered stream: a local file, or an S3 object read as it streams."""
    if isinstance(path, str) and path.startswith("s3://"):
        bucket, key = split_s3_uri(path)
        body = s3_client().get_object(Bucket=bucket, Key=key)["Body"]
        try:
            yield io.BufferedReader(_S3Body(body), buffer_size=READ_BUFFER)
        finally:
            body.close()
    else:
        with open(path, "rb") as f:
            yield f


def count_lines(path: Path | str) -> int:
    """Lines in a file as a reader sees them: a last line without a newline still counts."""
    count = 0
    last = b"\n"
    with open_landing(path) as f:
        while chunk := f.read(1 << 24):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def iter_line_batches(path: Path | str, batch_lines: int = LINE_BATCH) -> Iterator[tuple[int, list[bytes]]]:
    """(first line number, raw lines without their line ending) in batches; numbering starts at 1.

    A UTF-8 byte-order mark opening the file (as Windows tools write) is an encoding marker, not
    part of the first line: it is left out. The file is read in chunks split at newlines in one
    call each (iterating a file line by line cost 1.4 s per million lines).
    """
    first = 1
    pending: list[bytes] = []
    tail: list[bytes] = []  # the unfinished line's pieces, joined once when it ends (never recopied)
    with open_landing(path) as f:
        head = f.read(max(SPLIT_CHUNK, len(UTF8_BOM)))
        chunk = head.removeprefix(UTF8_BOM)
        opened = len(chunk) < len(head)  # a BOM opened the first line: a line even if nothing follows
        while head:
            if b"\n" not in chunk:
                tail.append(chunk)
                head = chunk = f.read(SPLIT_CHUNK)
                continue
            data = b"".join([*tail, chunk])
            lines = data.split(b"\n")
            tail = [lines.pop()]  # the last, unfinished line waits for the next chunk
            opened = False
            if b"\r" in data:  # a line ended by CR LF (or CRs) loses them, as by rstrip(b"\r\n")
                lines = [line.rstrip(b"\r") for line in lines]
            pending += lines
            while len(pending) >= batch_lines:
                yield first, pending[:batch_lines]
                first += batch_lines
                pending = pending[batch_lines:]
            head = chunk = f.read(SPLIT_CHUNK)
    if (last := b"".join(tail)) or opened:  # a last line without a newline is kept as it is
        pending.append(last)
    for start in range(0, len(pending), batch_lines):
        yield first + start, pending[start : start + batch_lines]
