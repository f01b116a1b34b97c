"""Tokenization key rotation, as docs/architecture.md describes it, on the customers domain.

Silver is written under key A; the key is rotated to B with A kept as a previous key.
Until Silver is re-materialized, erasure and export still find the rows tokenized under
A; re-materializing every partition from Bronze re-tokenizes them under B, and then no
token made with A is left.
"""

import datetime as dt
import hashlib
import hmac

import dagster as dg
import polars as pl
import pytest

from domains.customers.definitions import defs
from platform_resources.gdpr.erasure import erase_subject
from platform_resources.gdpr.export import export_subject
from platform_resources.storage.iceberg_io import read_table
from tests.conftest import envelope, write_landing

D = dt.date(2026, 11, 20)
KEY_A, KEY_B = "key-a-2025", "key-b-2026"


def _token(value: str, key: str) -> str:  # computed here, not by the platform under test
    return "tok_" + hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _registered(user: str, minute: int) -> dict:
    payload = {"userId": user, "email": f"{user}@example.com", "registrationSource": "web", "country": "FR"}
    return envelope("user.registered", payload, ts=f"{D}T10:{minute:02d}:00Z", metadata={"referrer": "ads"})


def _materialize(instance: dg.DagsterInstance) -> None:
    job = defs.resolve_job_def("customers_daily")
    assert job.execute_in_process(partition_key=str(D), instance=instance).success


def _user_tokens() -> set[str]:
    return set(read_table("customers.silver_customers").collect()["user_token"])


def test_rotation_keeps_old_tokens_findable_until_silver_is_rematerialized(
    home, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [f"user-r{i}" for i in range(30)]
    lines = [_registered(user, minute) for minute, user in enumerate(users)]
    write_landing(home, D, "part-1.jsonl", lines, domain="customers")
    monkeypatch.setenv("MESHHOUSE_TOKEN_KEY", KEY_A)
    _materialize(instance)
    assert _user_tokens() == {_token(u, KEY_A) for u in users}

    # rotate: B signs new tokens, A is still known
    monkeypatch.setenv("MESHHOUSE_TOKEN_KEY", KEY_B)
    monkeypatch.setenv("MESHHOUSE_TOKEN_PREVIOUS_KEYS", KEY_A)
    export = export_subject("user-r1", detokenize=True)
    (customer,) = export["products"]["customers.silver_customers"]
    assert (customer["user_token"], customer["email_token"]) == ("user-r1", "user-r1@example.com")
    report = erase_subject("user-r0")
    assert report.verified and report.table_rows_removed["customers.silver_customers"] == 1
    assert _token("user-r0", KEY_A) not in _user_tokens()

    # without the previous key, a token made with A is no longer the subject's
    monkeypatch.delenv("MESHHOUSE_TOKEN_PREVIOUS_KEYS")
    assert export_subject("user-r2", detokenize=True)["products"] == {}

    # re-materializing Silver from Bronze re-tokenizes every row under B
    _materialize(instance)
    assert _user_tokens() == {_token(u, KEY_B) for u in users[1:]}
    events = read_table("customers.silver_customer_events").collect()
    assert not set(events["user_token"]) & {_token(u, KEY_A) for u in users}
    emails = events.filter(pl.col("email_token").is_not_null())["email_token"]
    assert set(emails) == {_token(f"{u}@example.com", KEY_B) for u in users[1:]}
