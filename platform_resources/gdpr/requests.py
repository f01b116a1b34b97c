"""GDPR requests as files: filed by ``meshhouse gdpr request``, served by the platform's job.

A request (erase or export, the subject's id, who asked and, for an export, the role it
is read as) is a JSON file readable by its owner only, under
``$MESHHOUSE_HOME/gdpr/requests``. Dagster sees request ids, never subjects: the id stays
out of run configs, tags and logs, which the erasure could not reach. A request file is
deleted once served; its audit record remains.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from platform_resources.core.settings import get_paths

KINDS = ("erase", "export")


@dataclass(frozen=True)
class Request:
    request_id: str
    kind: str
    subject: str
    requested_by: str
    requested_at: str
    role: str | None = None  # an export's reader (access_policies.yaml)


def requests_folder() -> Path:
    return get_paths().home / "gdpr" / "requests"


def exports_folder() -> Path:
    return get_paths().home / "gdpr" / "exports"


def file_request(kind: str, subject: str, requested_by: str, role: str | None = None) -> Request:
    if kind not in KINDS:
        raise ValueError(f"request kind {kind!r} not in {KINDS}")
    if not subject.strip():
        raise ValueError("a subject id is required")
    if kind == "export" and not role:
        raise ValueError("an export request names the role it is read as")
    request = Request(
        uuid.uuid4().hex, kind, subject, requested_by, dt.datetime.now(dt.UTC).isoformat(), role
    )
    folder = requests_folder()
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / f".{request.request_id}.json"
    descriptor = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(asdict(request), out)
    hidden.rename(folder / f"{request.request_id}.json")  # whole or not at all, for the sensor
    return request


def pending_requests() -> list[Request]:
    """Requests not yet served, oldest first."""
    folder = requests_folder()
    found = [Request(**json.loads(p.read_text())) for p in folder.glob("*.json")] if folder.exists() else []
    return sorted(found, key=lambda r: (r.requested_at, r.request_id))


def close_request(request: Request) -> None:
    (requests_folder() / f"{request.request_id}.json").unlink(missing_ok=True)
