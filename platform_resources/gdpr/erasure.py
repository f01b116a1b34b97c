"""GDPR erasure: one subject out of every layer, domain and file, with an audit record.

In order, so that nothing erased can come back from upstream:

1. the landing zone: lines that mention the subject (by id or email, valid or not) are
   cut from their files (rewritten whole; the landing sensor then re-ingests the day);
2. every Iceberg table of every domain, Bronze to Gold: a row goes if any of its text
   columns holds the subject's id, an email or a token (raw envelopes, quarantined bytes,
   rejected rows and tokenized columns alike), or if it is keyed by a row that goes (an
   order's items: a same-domain product whose grain is one column, ``order_id``, gives
   its erased keys to the domain's other tables). Each day holding such rows is replaced
   by its other rows in one commit on the snapshot it was read from (a concurrent writer
   makes the commit fail and the day is read again);
3. file ports are rewritten without the rows; stream ports' messages of the erased rows
   are purged from JetStream;
4. every snapshot but the current one of each changed table is expired and the files
   only they referenced are deleted, so no old snapshot still holds the subject;
5. verification (``verify_erased``): no row of any table, landing line or port row
   mentions the subject, no unreferenced old file is left under a changed table, and, on
   the embedded default's local folders, no file's decoded content does (Parquet values,
   Avro blocks, raw bytes); then the audit record: counts per table and file, what was
   deleted and the verification's findings, under a keyed reference to the subject,
   never the id.

Aggregates that hold no row of the subject (daily revenue, counts) keep the subject's
contribution: they are not personal data.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue, BooleanExpression, EqualTo, IsNull
from pyiceberg.table import Table

from platform_resources.contracts.model import Contract
from platform_resources.core.settings import Environment, get_environment, get_export_root, get_paths
from platform_resources.gdpr.requests import exports_folder
from platform_resources.gdpr.subject import (
    Subject,
    drop_state,
    keep_state,
    kind_of,
    landing_mentions,
    resolve_subject,
)
from platform_resources.ingest.landing import open_landing, write_landing_file
from platform_resources.mesh.workspace import products_by_table
from platform_resources.privacy.audit_log import append_audit
from platform_resources.privacy.pii_scan import Finding, files_under, polars_pattern, scan_content
from platform_resources.storage.catalog import load_catalog, table_identifiers
from platform_resources.storage.erasure_fence import erasure_running
from platform_resources.storage.iceberg_io import ERASURE_SUMMARY, partition_column
from platform_resources.upkeep.table_maintenance import expire_snapshots, list_files, referenced_files

COMMIT_ATTEMPTS = 5
Matcher = Callable[[pa.Schema], pl.Expr]  # a table's Arrow schema -> the rows about the subject


@dataclass
class ErasureReport:
    request_id: str
    subject_reference: str
    requested_by: str
    started_at: str
    emails_found: int = 0
    landing_lines_removed: dict[str, int] = field(default_factory=dict)
    table_rows_removed: dict[str, int] = field(default_factory=dict)
    port_rows_removed: dict[str, int] = field(default_factory=dict)
    stream_messages_purged: int = 0
    snapshots_expired: int = 0
    files_deleted: int = 0
    exports_deleted: int = 0
    findings: list[str] = field(default_factory=list)  # where, and what (id, email, token): no value
    error: str = ""
    finished_at: str = ""

    @property
    def verified(self) -> bool:
        return not self.findings and not self.error and bool(self.finished_at)


def text_match(subject: Subject, schema: pa.Schema) -> pl.Expr:
    """True for a row whose text columns mention the subject (id, email or token)."""
    regex = polars_pattern((*subject.identifiers, *subject.tokens))
    pattern = subject.pattern()
    terms = [pl.lit(False)]
    for f in schema:
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            terms.append(pl.col(f.name).str.contains(regex).fill_null(False))
        elif pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type):
            terms.append(
                pl.col(f.name)
                .map_elements(lambda b: bool(pattern.search(b)), return_dtype=pl.Boolean)
                .fill_null(False)
            )
    return pl.any_horizontal(terms)


def _keys_match(schema: pa.Schema, keys: dict[str, set[str]]) -> pl.Expr:
    terms = [pl.lit(False)] + [
        pl.col(column).is_in(sorted(values)).fill_null(False)
        for column, values in keys.items()
        if column in schema.names and values
    ]
    return pl.any_horizontal(terms)


def _mask(rows: pa.Table, match: Matcher) -> pa.Array:
    return pa.array(pl.from_arrow(rows).select(match(rows.schema)).to_series().to_list(), pa.bool_())


def _partition_filter(column: str | None, value: object) -> BooleanExpression:
    if column is None:
        return AlwaysTrue()
    if value is None:
        return IsNull(column)
    return EqualTo(column, value.isoformat() if isinstance(value, dt.date) else value)


def erase_rows(table: Table, match: Matcher, catalog: Catalog) -> int:
    """Remove the rows ``match`` selects; each partition with such rows is replaced by its
    other rows in one commit based on the snapshot it was read from (a concurrent commit
    fails it and the partition is read again). Returns the rows removed."""
    identifier = ".".join(table.name())
    column = partition_column(table)
    matching = pl.scan_iceberg(table).filter(match(table.schema().as_arrow()))
    if column is None:
        partitions = [None] if matching.select(pl.len()).collect().item() else []
    else:
        partitions = matching.select(column).unique().collect().to_series().to_list()
    removed = 0
    for value in partitions:
        for attempt in range(COMMIT_ATTEMPTS):
            table = catalog.load_table(identifier)
            row_filter = _partition_filter(column, value)
            rows = table.scan(row_filter=row_filter).to_arrow()
            drop = _mask(rows, match)
            try:
                with table.transaction() as tx:
                    tx.delete(row_filter, snapshot_properties=ERASURE_SUMMARY)
                    kept = rows.filter(pc.invert(drop))
                    if kept.num_rows:
                        tx.append(kept, snapshot_properties=ERASURE_SUMMARY)
            except (CommitFailedException, ValidationException):
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise
                continue
            removed += pc.sum(drop).as_py() or 0
            break
    return removed


def lakehouse_tables() -> list[Table]:
    catalog = load_catalog()
    return [catalog.load_table(identifier) for identifier in table_identifiers(catalog)]


def _erase_landing(subject: Subject, report: ErasureReport) -> None:
    """Rewrite each landing file that mentions the subject without those lines."""
    pattern = subject.pattern()
    touched = {str(file.path): (domain, file) for domain, file, _ in landing_mentions(pattern)}
    for path, (domain, file) in touched.items():
        with open_landing(file.path) as stream:
            lines = stream.readlines()
        kept = [line for line in lines if not pattern.search(line)]
        write_landing_file(domain, file.day, path.rsplit("/", 1)[-1], b"".join(kept))
        report.landing_lines_removed[path] = len(lines) - len(kept)


def _subject_keys(tables: list[Table], contracts: dict[str, Contract], subject: Subject) -> dict:
    """Per domain, the one-column grain keys of the subject's rows (an order's id, ...)."""
    keys: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for table in tables:
        contract = contracts.get(".".join(table.name()))
        if contract is None or len(contract.grain) != 1:
            continue
        key = contract.grain[0]
        column = contract.column(key)
        if column is None or column.type != "string" or key == contract.partition_column:
            continue  # an entity id is a string; a one-column grain of dates is not one
        values = (
            pl.scan_iceberg(table)
            .filter(text_match(subject, table.schema().as_arrow()))
            .select(pl.col(key).cast(pl.String))
            .collect()
            .to_series()
        )
        keys[contract.domain][key].update(values.drop_nulls().to_list())
    return keys


def subject_matchers(
    subject: Subject, tables: list[Table], contracts: dict[str, Contract]
) -> dict[str, Matcher]:
    """Per table, what selects the subject's rows: their id, emails or tokens in a text column,
    or a key of one of their rows in the domain (an order's items by its ``order_id``)."""
    keys = _subject_keys(tables, contracts, subject)
    matchers = {}
    for table in tables:
        identifier = ".".join(table.name())
        domain_keys = keys.get(identifier.split(".")[0], {})

        def match(schema: pa.Schema, domain_keys: dict[str, set[str]] = domain_keys) -> pl.Expr:
            return text_match(subject, schema) | _keys_match(schema, domain_keys)

        matchers[identifier] = match
    return matchers


def _port_files_of(
    contracts: dict[str, Contract], subject: Subject
) -> Iterator[tuple[pafs.FileSystem, str, pa.Table, pa.Array]]:
    """(filesystem, path, rows, which rows are the subject's) of each file port's Parquet file
    holding any row of the subject."""
    fs, root = pafs.FileSystem.from_uri(get_export_root())
    for contract in contracts.values():
        if not any(p.type == "file" for p in contract.ports):
            continue
        folder = f"{root.rstrip('/')}/{contract.domain}/{contract.name}"
        for info in fs.get_file_info(pafs.FileSelector(folder, recursive=True, allow_not_found=True)):
            if info.type == pafs.FileType.File and info.path.endswith(".parquet"):
                rows = pq.read_table(info.path, filesystem=fs)
                mine = _mask(rows, lambda schema: text_match(subject, schema))
                if pc.any(mine).as_py():
                    yield fs, info.path, rows, mine


def _erase_file_ports(contracts: dict[str, Contract], subject: Subject, report: ErasureReport) -> None:
    """Rewrite each file port's Parquet files that hold the subject's rows without them."""
    for fs, path, rows, mine in _port_files_of(contracts, subject):
        temporary = f"{path}.{uuid.uuid4().hex}.tmp"
        pq.write_table(rows.filter(pc.invert(mine)), temporary, filesystem=fs)
        fs.move(temporary, path)  # readers see the old file or the new one
        report.port_rows_removed[path] = pc.sum(mine).as_py()


def _stream_subjects(contracts: dict[str, Contract], subject: Subject) -> list[str]:
    """JetStream subjects of the erased rows of products with a stream port (computed before
    the rows are erased)."""
    from platform_resources.products.output_ports import row_subject

    catalog = load_catalog()
    found = []
    for contract in contracts.values():
        if not any(p.type == "stream" for p in contract.ports):
            continue
        if not catalog.table_exists(contract.product_id):
            continue
        table = catalog.load_table(contract.product_id)
        rows = pl.scan_iceberg(table).filter(text_match(subject, table.schema().as_arrow())).collect()
        found += [
            row_subject(contract, row[contract.partition_column], row) for row in rows.iter_rows(named=True)
        ]
    return found


async def _purge(subjects: list[str]) -> int:
    import nats

    from platform_resources.core.settings import get_nats_url

    client = await nats.connect(get_nats_url(), connect_timeout=5, max_reconnect_attempts=2)
    try:
        js = client.jetstream()
        purged = 0
        for name in subjects:
            stream = await js.find_stream_name_by_subject(name)
            purged += bool(await js.purge_stream(stream, subject=name))
        return purged
    finally:
        await client.close()


def preview_erasure(user_id: str) -> dict[str, int]:
    """What an erasure would remove, deleting nothing: rows per table and landing lines."""
    subject = resolve_subject(user_id)
    contracts = products_by_table()
    tables = lakehouse_tables()
    matchers = subject_matchers(subject, tables, contracts)
    counts = {}
    for table in tables:
        identifier = ".".join(table.name())
        rows = pl.scan_iceberg(table).filter(matchers[identifier](table.schema().as_arrow()))
        counts[identifier] = rows.select(pl.len()).collect().item()
    counts["landing lines"] = sum(1 for _ in landing_mentions(subject.pattern()))
    return {name: n for name, n in counts.items() if n}


def _erase_exports(subject: Subject, report: ErasureReport) -> None:
    """Delete the GDPR exports written for the subject: copies of their data."""
    pattern = subject.pattern()
    for path in files_under(exports_folder()):
        if pattern.search(path.read_bytes()):
            path.unlink()
            report.exports_deleted += 1


def erase_subject(user_id: str, requested_by: str = "cli", request_id: str | None = None) -> ErasureReport:
    """Erase one subject everywhere (see the module's docstring) and append the audit record,
    whatever happens: a failure half-way is recorded with its error, and what was resolved
    is kept (owner-only) so the retry still knows the emails whose events are gone."""
    subject = resolve_subject(user_id)
    keep_state(subject)
    started = dt.datetime.now(dt.UTC)
    report = ErasureReport(
        request_id=request_id or uuid.uuid4().hex,
        subject_reference=subject.reference,
        requested_by=requested_by,
        started_at=started.isoformat(),
        emails_found=len(subject.emails),
    )
    try:
        contracts = products_by_table()
        stream_subjects = _stream_subjects(contracts, subject)
        catalog = load_catalog()
        with erasure_running(catalog):  # no step computing meanwhile commits what it removes
            _erase_landing(subject, report)
            tables = lakehouse_tables()
            matchers = subject_matchers(subject, tables, contracts)
            for table in tables:
                identifier = ".".join(table.name())
                if removed := erase_rows(table, matchers[identifier], catalog):
                    report.table_rows_removed[identifier] = removed
                    expired = expire_snapshots(
                        catalog.load_table(identifier), older_than=dt.datetime.now(dt.UTC), retain_last=1
                    )
                    report.snapshots_expired += expired.snapshots_expired
                    report.files_deleted += expired.files_deleted
        _erase_file_ports(contracts, subject, report)
        _erase_exports(subject, report)
        if stream_subjects:
            report.stream_messages_purged = asyncio.run(_purge(stream_subjects))
        report.findings = verify_erased(subject, list(report.table_rows_removed), started)
        if not report.findings:  # done: what was resolved for a retry goes too
            drop_state(subject)
    except Exception as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        report.finished_at = dt.datetime.now(dt.UTC).isoformat()
        write_audit(report)
    return report


def _unreferenced_mentions(subject: Subject, identifier: str, since: dt.datetime) -> Iterator[str]:
    """Files under the table's location that no snapshot references, from before the erasure,
    whose content mentions the subject (an old version expiry did not delete)."""
    table = load_catalog().load_table(identifier)
    referenced = referenced_files(table)
    for path, info in list_files(table).items():
        if path in referenced or info.mtime is None or info.mtime >= since:
            continue
        uri = f"{table.location().split('://', 1)[0]}://{path}"
        with table.io.new_input(uri).open() as stream:
            found = scan_content(uri, stream.read(), subject.pattern())
        yield from (f"{uri}: {kind} in {kind_where}" for kind, kind_where in _kinds(subject, found))


def _kinds(subject: Subject, findings: Iterable[Finding]) -> set[tuple[str, str]]:
    """(what it is: id, email or token; where) of each finding, never the value itself."""
    return {(kind_of(subject, f.value), f.where) for f in findings}


def verify_erased(subject: Subject, changed: list[str], since: dt.datetime) -> list[str]:
    """What still mentions the subject, wherever the data is stored (findings name the file or
    table and what was found, id, email or token, never the value):

    - a row of any table their id, emails or tokens are found in (current snapshots);
    - a file under a changed table's location that no snapshot references, from before the
      erasure, whose content mentions them (an old version expiry did not delete);
    - a landing line or a file port row that mentions them (read as the pipeline reads them);
    - with the embedded default's local folders, any file under the landing zone, warehouse,
      exports, GDPR exports and scratch whose decoded content mentions them (Parquet values,
      Avro blocks, raw bytes): the strongest check, for what S3 would make a full read.
    """
    pattern = subject.pattern()
    findings = []
    for table in lakehouse_tables():
        rows = pl.scan_iceberg(table).filter(text_match(subject, table.schema().as_arrow()))
        if left := rows.select(pl.len()).collect().item():
            findings.append(f"{'.'.join(table.name())}: {left} row(s) still mention the subject")
    for identifier in changed:
        findings += _unreferenced_mentions(subject, identifier, since)
    findings += [f"{f.path}: a landing line mentions the subject" for _, f, _ in landing_mentions(pattern)]
    findings += [
        f"{path}: {pc.sum(mine).as_py()} port row(s) mention the subject"
        for _, path, _, mine in _port_files_of(products_by_table(), subject)
    ]
    if get_environment() is Environment.EMBEDDED:
        paths = get_paths()
        roots = (paths.landing, paths.warehouse, paths.home / "exports", exports_folder(), paths.scratch)
        for file in files_under(*roots):
            found = scan_content(str(file), file.read_bytes(), pattern)
            findings += [f"{file}: {kind} in {where}" for kind, where in _kinds(subject, found)]
    return sorted(set(findings))


ERASURE_LOG = "gdpr_erasures"


def write_audit(report: ErasureReport) -> None:
    append_audit(ERASURE_LOG, {**asdict(report), "verified": report.verified})
