"""GDPR portability: one subject's data across every domain's products, as JSON.

Rows of every contracted product (Silver and Gold, every domain) that mention the
subject, found as erasure finds them. For a requester entitled to raw values (a role
cleared for restricted data by ``access_policies.yaml``), the subject's tokens are
replaced by the values they stand for (their id and emails: tokens are keyed hashes, so
only values the subject's own raw events hold can be restored) and the raw events they
sent are included; anyone else gets each product as their role reads it (its masks, row
filters, domains and layers; the products it may not read are listed as withheld), with
tokens and no raw events.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import polars as pl

from platform_resources.contracts.model import CLASSIFICATIONS
from platform_resources.gdpr.erasure import lakehouse_tables, subject_matchers
from platform_resources.gdpr.subject import Subject, raw_events_of, resolve_subject
from platform_resources.mesh.workspace import products_by_table
from platform_resources.privacy.access_policies import REDACTED, AccessDenied, Role, TableAccess, load_policy
from platform_resources.privacy.audit_log import append_audit
from platform_resources.privacy.tokenize import token


def detokenizer(subject: Subject) -> dict[str, str]:
    """token -> the value it stands for, for the subject's id and emails under every key."""
    values = {subject.user_id: subject.user_id} | {email.lower(): email for email in subject.emails}
    return {token(value, key): original for key in subject.keys for value, original in values.items()}


def _jsonable(row: dict[str, Any], detokenized: dict[str, str]) -> dict[str, Any]:
    out = {}
    for name, value in row.items():
        if isinstance(value, str) and value in detokenized:
            value = detokenized[value]
        elif isinstance(value, dt.date | dt.datetime):
            value = value.isoformat()
        elif isinstance(value, bytes):
            value = value.decode(errors="replace")
        out[name] = value
    return out


def _as_seen_by(rows: pl.DataFrame, access: TableAccess) -> pl.DataFrame:
    """The rows as the role reads the product: its row filters, its masks, current columns only."""
    for column, values in access.row_filters.items():
        rows = rows.filter(pl.col(column).is_in(list(values)))
    masked = [
        (pl.lit(REDACTED) if mask == "redact" and rows.schema[column] == pl.String else pl.lit(None))
        .cast(rows.schema[column])
        .alias(column)
        for column, mask in access.masks.items()
        if column in rows.columns
    ]
    return rows.select([c for c in rows.columns if c in access.columns]).with_columns(masked)


def export_subject(user_id: str, *, detokenize: bool, role: Role | None = None) -> dict[str, Any]:
    """The subject's rows per product (and raw events when ``detokenize``), JSON-ready; with
    ``role``, each product as that role may read it (others are listed as withheld)."""
    subject = resolve_subject(user_id)
    detokenized = detokenizer(subject) if detokenize else {}
    contracts = products_by_table()
    tables = [t for t in lakehouse_tables() if ".".join(t.name()) in contracts]
    matchers = subject_matchers(subject, tables, contracts)
    products: dict[str, list[dict[str, Any]]] = {}
    withheld: dict[str, str] = {}
    for table in sorted(tables, key=lambda t: t.name()):
        identifier = ".".join(table.name())
        rows = pl.scan_iceberg(table).filter(matchers[identifier](table.schema().as_arrow())).collect()
        if rows.height and role is not None:
            try:
                rows = _as_seen_by(rows, role.access(identifier, rows.columns, contracts[identifier]))
            except AccessDenied as denied:
                withheld[identifier] = str(denied)
                continue
        if rows.height:
            products[identifier] = [_jsonable(r, detokenized) for r in rows.iter_rows(named=True)]
    export: dict[str, Any] = {
        "subject": subject.user_id if detokenize else subject.reference,
        "subject_reference": subject.reference,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(),
        "detokenized": detokenize,
        "products": products,
        "withheld": withheld,
    }
    if detokenize:
        export["raw_events"] = _raw_events(subject)
    return export


def _raw_events(subject: Subject) -> list[dict[str, Any]]:
    """The subject's own envelopes as Bronze holds them, oldest first."""
    events = [json.loads(line) for line in raw_events_of(subject.user_id)]
    return sorted(events, key=lambda e: (e.get("timestamp", ""), e.get("eventId", "")))


EXPORT_LOG = "gdpr_exports"


def entitled_to_raw(role: Role) -> bool:
    """A role cleared for restricted values and raw tables in every domain (the privacy officer)."""
    return role.clearance == CLASSIFICATIONS[-1] and role.raw_tables and role.domains is None


def export_for_role(user_id: str, role_name: str, requested_by: str) -> dict[str, Any]:
    """The subject's export as ``role_name`` may have it, with an audit record of who asked."""
    role = load_policy().role(role_name)
    export = export_subject(user_id, detokenize=entitled_to_raw(role), role=role)
    append_audit(
        EXPORT_LOG,
        {
            "at": export["generated_at"],
            "subject_reference": export["subject_reference"],
            "role": role.name,
            "requested_by": requested_by,
            "detokenized": export["detokenized"],
            "rows": {product: len(rows) for product, rows in export["products"].items()},
        },
    )
    return export


def write_export(export: dict[str, Any], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the owner's only
    with os.fdopen(descriptor, "w") as file:
        file.write(json.dumps(export, indent=2, sort_keys=True, default=str) + "\n")
    return out
