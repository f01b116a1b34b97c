"""The customers domain on its own landing data: events, the customer dimension and daily signups."""

import datetime as dt
import hashlib
import hmac
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from platform_resources.core.settings import DEV_TOKEN_KEY
from platform_resources.mesh.workspace import prepare_dagster_home
from platform_resources.storage.iceberg_io import read_table
from tests.conftest import envelope, write_landing
from tests.integration.conftest import check, materialized

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
D1, D2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20)


def _token(value: str) -> str:  # computed here, not by the platform under test
    return "tok_" + hmac.new(DEV_TOKEN_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _registered(user: str, ts: str, *, source: str = "web", country: str = "US", event_id=None) -> dict:
    payload = {
        "userId": user,
        "email": f"{user}@Example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "registrationSource": source,
        "country": country,
    }
    return envelope("user.registered", payload, ts=ts, metadata={"referrer": "friend"}, event_id=event_id)


def _updated(user: str, ts: str, **changes) -> dict:
    return envelope("user.profile_updated", {"userId": user, **changes}, ts=ts)


def test_a_customer_keeps_the_latest_profile_and_bad_events_are_rejected_or_quarantined(
    home, instance, monkeypatch
) -> None:
    monkeypatch.delenv("MESHHOUSE_TOKEN_KEY", raising=False)
    twice = _registered("user-1", f"{D1}T08:00:00Z", event_id="11111111-1111-4111-8111-111111111111")
    others = [_registered(f"user-x{i}", f"{D1}T11:{i:02d}:00Z", source="ios") for i in range(25)]
    write_landing(
        home,
        D1,
        "part-1.jsonl",
        [
            twice,
            twice,  # redelivered: kept once
            _registered("user-2", f"{D1}T09:00:00Z", country="GB"),
            _registered("user-3", f"{D1}T10:00:00Z", source="tv"),  # not an allowed source: rejected
            *others,
            b'{"eventId": 42}',  # not an envelope: quarantined
        ],
        domain="customers",
    )
    write_landing(
        home,
        D2,
        "part-1.jsonl",
        [
            _updated("user-1", f"{D2}T08:00:00Z", country="FR"),
            _updated("user-1", f"{D2}T09:00:00Z", marketingOptIn=True),
            _updated("user-2", f"{D2}T09:30:00Z", email="new@mail.test"),
        ],
        domain="customers",
    )
    from domains.customers.definitions import defs

    result = defs.resolve_job_def("customers_daily").execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": str(D1), "dagster/asset_partition_range_end": str(D2)},
    )
    assert result.success
    assert "customers/gold/daily_signups" in materialized(result)
    events_check = check(result, "customers/silver/customer_events", "contract")
    assert events_check.passed and events_check.metadata["failing_rows"].value == 1

    events = read_table("customers.silver_customer_events").collect()
    assert events.height == 2 + 25 + 3 and events["event_id"].n_unique() == events.height
    rejected = read_table("customers.silver_rejected").collect()
    assert rejected.height == 1 and rejected["reason"][0].startswith("registration_source: isin(")
    assert rejected["reason"][0].endswith("(got tv)")
    bronze_line = ["landing_date", "source_file", "line_number"]
    raw = rejected.join(read_table("customers.bronze_events").collect(), on=bronze_line)["raw"]
    assert b'"registrationSource": "tv"' in raw[0].encode()
    quarantine = read_table("customers.bronze_quarantine").collect()
    assert quarantine.height == 1

    customers = read_table("customers.silver_customers").collect()
    assert customers.height == 2 + 25
    one = customers.filter(pl.col("user_token") == _token("user-1")).to_dicts()[0]
    assert (one["country"], one["marketing_opt_in"], one["profile_updates"]) == ("FR", True, 2)
    assert one["email_token"] == _token("user-1@example.com") and one["email_domain"] == "example.com"
    two = customers.filter(pl.col("user_token") == _token("user-2")).to_dicts()[0]
    assert two["email_token"] == _token("new@mail.test") and two["country"] == "GB"
    assert "user-1" not in str(customers.to_dicts())

    signups = read_table("customers.gold_daily_signups").collect().sort("registration_source", "country")
    assert signups.select("registration_source", "country", "signups", "opted_in").rows() == [
        ("ios", "US", 25, 0),
        ("web", "FR", 1, 1),
        ("web", "GB", 1, 0),
    ]


def test_dagster_asset_materialize_builds_customers_from_simulated_landing_data(home, tmp_path) -> None:
    env = {
        **os.environ,
        "MESHHOUSE_HOME": str(home),
        "DAGSTER_HOME": str(prepare_dagster_home(tmp_path / "dh")),
    }
    bin_dir = Path(sys.executable).parent
    for args in (
        [
            str(bin_dir / "meshhouse"),
            "simulate",
            "--domain",
            "customers",
            "--days",
            "1",
            "--end-date",
            str(D1),
            "--events-per-day",
            "2000",
        ],
        [
            str(bin_dir / "dagster"),
            "asset",
            "materialize",
            "-m",
            "domains.customers.definitions",
            "--select",
            "*",
            "--partition",
            str(D1),
        ],
    ):
        done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS]
    registrations = read_table("customers.silver_customer_events").filter(
        pl.col("event_type") == "user.registered"
    )
    customers = read_table("customers.silver_customers").collect()
    assert customers.height == registrations.select(pl.col("user_token").n_unique()).collect().item() > 0
    signups = read_table("customers.gold_daily_signups").collect()
    assert signups["signups"].sum() == customers.height
