"""Finding personal values in files, whatever their format.

A byte grep misses what compression hides: Parquet pages and Avro manifest blocks are
compressed. So every file is searched as its raw bytes *and* as its decoded content:
Parquet through every string and binary value, Avro containers block by block after
decompression. Used by the erasure's verification (the subject's id, emails and tokens
anywhere under the home) and by the PII scan of Silver, Gold and port files.

Values match on word boundaries, case-insensitively: ``u42@example.com`` does not match
inside ``u142@example.com``, nor ``user-000042`` inside ``user-0000421``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# Characters that continue an id or an email: a match must not touch one on either side.
_WORD = r"A-Za-z0-9._%+@-"
_AVRO_MAGIC = b"Obj\x01"
_SYNC_BYTES = 16
#: A compressed file's raw bytes hold a short value by chance (a first name of three letters
#: turned up in a deflated Avro block): there only longer matches count. Short values are
#: still matched in the file's decoded content, which holds every value the file stores.
MIN_MATCH_IN_ENCODED_BYTES = 8


@dataclass(frozen=True)
class Finding:
    path: str
    value: str
    where: str  # "bytes", "column <name>" or "avro block"

    def __str__(self) -> str:
        return f"{self.path}: {self.value!r} in {self.where}"


def value_pattern(values: Iterable[str], shapes: Iterable[str] = ()) -> re.Pattern[bytes]:
    """One bytes pattern for the exact ``values`` and the regex ``shapes``, on word boundaries."""
    parts = [re.escape(v) for v in sorted({v for v in values if v}, key=len, reverse=True)]
    parts += list(shapes)
    if not parts:
        raise ValueError("nothing to look for: no values and no shapes")
    body = "|".join(parts)
    return re.compile(f"(?<![{_WORD}])(?:{body})(?![{_WORD}])".encode(), re.IGNORECASE)


def polars_pattern(values: Iterable[str]) -> str:
    """The same match for Polars' regex engine (no look-around): the neighbours are consumed."""
    body = "|".join(re.escape(v) for v in sorted({v for v in values if v}, key=len, reverse=True))
    return f"(?i)(?:^|[^{_WORD}])(?:{body})(?:$|[^{_WORD}])"


def _avro_blocks(data: bytes) -> Iterator[bytes]:
    """The decompressed data blocks of an Avro container file (null, deflate or zstd codec)."""
    sync = data[-_SYNC_BYTES:]
    header, *blocks = data.split(sync)
    codec = b"deflate" if b"deflate" in header else b"zstandard" if b"zstandard" in header else b"null"
    for block in blocks:
        if not block:
            continue
        position = 0
        for _ in range(2):  # the block's object count, then its size: zig-zag varints
            while block[position] & 0x80:
                position += 1
            position += 1
        payload = block[position:]
        if codec == b"deflate":
            yield zlib.decompress(payload, -15)
        elif codec == b"zstandard":
            import zstandard

            yield zstandard.ZstdDecompressor().decompressobj().decompress(payload)
        else:
            yield payload


def _parquet_values(data: bytes) -> Iterator[tuple[str, bytes]]:
    table = pq.read_table(pa.BufferReader(data))
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            yield f"column {name}", "\n".join(v for v in column.to_pylist() if v is not None).encode()
        elif pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            yield f"column {name}", b"\n".join(v for v in column.to_pylist() if v is not None)


def decoded_parts(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) of a file's content: the raw bytes, then what its format decodes to."""
    yield "bytes", data
    if data[:4] == b"PAR1":
        yield from _parquet_values(data)
    elif data[:4] == _AVRO_MAGIC:
        for block in _avro_blocks(data):
            yield "avro block", block


def scan_content(name: str, data: bytes, pattern: re.Pattern[bytes]) -> set[Finding]:
    """Every match of ``pattern`` in one file's content, one finding per (value, where).

    In the raw bytes of a Parquet or Avro file a match shorter than
    ``MIN_MATCH_IN_ENCODED_BYTES`` is chance, not a finding; its decoded parts are searched whole.
    """
    encoded = data[:4] in (b"PAR1", _AVRO_MAGIC)
    return {
        Finding(name, match.group().decode(errors="replace"), where)
        for where, part in decoded_parts(data)
        for match in pattern.finditer(part)
        if not (encoded and where == "bytes" and len(match.group()) < MIN_MATCH_IN_ENCODED_BYTES)
    }


def scan_files(paths: Iterable[Path], pattern: re.Pattern[bytes]) -> list[Finding]:
    """Every match of ``pattern`` in the files, one finding per (file, value, where)."""
    findings = {f for path in paths for f in scan_content(str(path), path.read_bytes(), pattern)}
    return sorted(findings, key=lambda f: (f.path, f.where, f.value))


def files_under(*roots: Path) -> list[Path]:
    """Every file under the roots (missing roots are skipped)."""
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())
