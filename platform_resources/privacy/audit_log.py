"""Append-only audit logs: one JSON object per line under ``$MESHHOUSE_HOME/audit``.

Privileged reads, GDPR erasures and exports each keep their own log. Entries name
subjects by a keyed reference, never by their id.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from platform_resources.core.settings import get_paths


def audit_path(log: str) -> Path:
    return get_paths().home / "audit" / f"{log}.jsonl"


def append_audit(log: str, entry: dict[str, Any]) -> Path:
    """Append ``entry`` to the log (created readable by its owner only) and flush it to disk."""
    path = audit_path(log)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a") as out:
        out.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return path


def read_audit(log: str) -> list[dict[str, Any]]:
    path = audit_path(log)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
