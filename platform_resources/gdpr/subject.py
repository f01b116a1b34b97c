"""A data subject and everything that identifies them in the lakehouse.

A GDPR request names a customer by ``userId``. Their data is found by: the id itself
(raw envelopes, Bronze, quarantined lines), every email address their events ever
carried (registration and profile changes, read from the raw events), and the tokens
Silver made of both, under the current tokenization key and every previous one still
configured (``MESHHOUSE_TOKEN_PREVIOUS_KEYS``), so a rotation does not hide old rows.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from platform_resources.core.settings import get_paths, get_previous_token_keys, get_token_key
from platform_resources.ingest.landing import LandingFile, landing_files, open_landing
from platform_resources.mesh.workspace import domain_names
from platform_resources.privacy.pii_scan import value_pattern
from platform_resources.privacy.tokenize import token
from platform_resources.storage.catalog import load_catalog, table_identifiers

AUDIT_REFERENCE_PREFIX = "gdpr-subject:"


@dataclass(frozen=True)
class Subject:
    user_id: str
    emails: tuple[str, ...]
    keys: tuple[bytes, ...]

    @property
    def identifiers(self) -> tuple[str, ...]:
        """The raw values that identify the subject: the id and every email."""
        return (self.user_id, *self.emails)

    @property
    def tokens(self) -> tuple[str, ...]:
        """Their tokens under every configured key (ids as they are, emails lower-cased)."""
        values = (self.user_id, *(email.lower() for email in self.emails))
        return tuple(dict.fromkeys(token(v, key) for key in self.keys for v in values))

    @property
    def reference(self) -> str:
        """A keyed pseudonym for audit records: names the request, not the person, and
        equals no token in the data."""
        return token(AUDIT_REFERENCE_PREFIX + self.user_id, self.keys[0])

    def pattern(self) -> re.Pattern[bytes]:
        """Anything that identifies the subject: raw id, emails and tokens."""
        return value_pattern((*self.identifiers, *self.tokens))


def token_keys() -> tuple[bytes, ...]:
    return (get_token_key(), *get_previous_token_keys())


def landing_mentions(pattern: re.Pattern[bytes]) -> Iterator[tuple[str, LandingFile, bytes]]:
    """(domain, file, line) of every landing line, of every domain, that ``pattern`` finds."""
    for domain in domain_names():
        for file in landing_files(domain):
            with open_landing(file.path) as stream:
                yield from ((domain, file, line) for line in stream if pattern.search(line))


def raw_events_of(user_id: str) -> Iterator[str]:
    """The raw envelopes Bronze holds whose ``userId`` is the subject, every domain."""
    catalog = load_catalog()
    for identifier in table_identifiers(catalog):
        if identifier.endswith(".bronze_events"):
            bronze = pl.scan_iceberg(catalog.load_table(identifier))
            yield from bronze.filter(pl.col("user_id") == user_id).select("raw").collect()["raw"]


class UnknownSubject(ValueError):
    """No raw event names this id as its user: nothing is erased or exported for it."""


def _own_event(line: bytes, user_id: str) -> dict | None:
    """The event if it is one of the subject's own (its ``userId`` is theirs), else None."""
    try:
        event = json.loads(line)
        payload = event["data"]["payload"]
    except (ValueError, KeyError, TypeError):
        return None  # not an event (a quarantined line): erased by the id, no email to read
    if isinstance(event, dict) and user_id in (event.get("userId"), payload.get("userId")):
        return event
    return None


def _state_path(user_id: str, key: bytes) -> Path:
    """Where a request in progress keeps what it resolved (the file names the reference only)."""
    return get_paths().home / "gdpr" / "subjects" / f"{token(AUDIT_REFERENCE_PREFIX + user_id, key)}.json"


def resolve_subject(user_id: str) -> Subject:
    """The subject with every email their raw events carried (landing zone and Bronze), and
    those an interrupted erasure of theirs had already found (kept until it completes).

    Refuses an id that no raw event names as its user: a mistyped id or a word such as
    ``paid`` would otherwise match rows of other people.
    """
    if not user_id.strip():
        raise ValueError("a subject id is required")
    by_id = value_pattern([user_id])
    lines = [
        *(line for _, _, line in landing_mentions(by_id)),
        *(line.encode() for line in raw_events_of(user_id)),
    ]
    own = [event for line in lines if (event := _own_event(line, user_id)) is not None]
    emails = [
        e["data"]["payload"]["email"] for e in own if isinstance(e["data"]["payload"].get("email"), str)
    ]
    keys = token_keys()
    state = _state_path(user_id, keys[0])
    if state.exists():  # an erasure that stopped half-way already removed what named them
        emails += json.loads(state.read_text())["emails"]
    elif not own:
        raise UnknownSubject(f"no event names {user_id!r} as its user: nothing to erase or export")
    return Subject(user_id, tuple(dict.fromkeys(emails)), keys)


def keep_state(subject: Subject) -> Path:
    """Write the subject's resolved values (owner-only) before anything of theirs is deleted,
    so a retry after a failure still knows the emails whose events are already gone."""
    path = _state_path(subject.user_id, subject.keys[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump({"emails": list(subject.emails)}, out)
    return path


def drop_state(subject: Subject) -> None:
    _state_path(subject.user_id, subject.keys[0]).unlink(missing_ok=True)


def kind_of(subject: Subject, value: str) -> str:
    """What a found value is to the subject: their id, an email or a token (never the value)."""
    if value.lower() == subject.user_id.lower():
        return "id"
    return "email" if "@" in value else "token"
