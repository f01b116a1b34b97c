"""`dagster dev` on the whole workspace: landed files flow to growth's outputs with no click.

Driven through the GraphQL API of a real webserver and daemon, as `make run` starts them:
the landing sensors ingest each domain's files, the automation sensors refresh growth,
and a late file for an old day updates that day downstream, in growth too.
"""

import datetime as dt
import hashlib
import hmac

import polars as pl
import pytest
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.core.settings import DEV_TOKEN_KEY
from platform_resources.mesh.workspace import WORKSPACE
from platform_resources.storage.iceberg_io import read_table
from tests.conftest import envelope, order_created, write_landing
from tests.integration.dagster_dev import dagster_dev, failure_reasons, graphql, loaded_locations, wait_for

pytestmark = pytest.mark.integration
RUNS = "{ runsOrError { ... on Runs { results { runId status jobName tags { key value } } } } }"
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
TIMEOUT_S = 480
# yesterday: automation refreshes growth's days from it to today, so the cascade stays short
D1 = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def _token(user: str) -> str:  # computed here, not by the platform under test
    return "tok_" + hmac.new(DEV_TOKEN_KEY.encode(), user.encode(), hashlib.sha256).hexdigest()[:32]


def _customer_day(user: str, hour: int) -> dict[str, list[dict]]:
    ts = f"{D1}T{hour:02d}:00:00Z"
    registered = envelope(
        "user.registered",
        {"userId": user, "email": f"{user}@example.com", "registrationSource": "web", "country": "DE"},
        ts=ts,
    )
    paid = envelope(
        "payment.captured",
        {"paymentId": f"p-{user}", "orderId": f"o-{user}", "userId": user, "amount": 30.0, "currency": "EUR"},
        ts=ts,
        metadata={"paymentMethod": "card"},
    )
    return {
        "customers": [registered],
        "orders": [order_created(f"o-{user}", ts=ts, user_id=user)],
        "payments": [paid],
    }


def _runs(port: int) -> list[dict]:
    runs = graphql(port, RUNS)["runsOrError"]["results"]
    return [{**r, "tags": {t["key"]: t["value"] for t in r["tags"]}} for r in runs]


def _settled_with(port: int, users: list[str]) -> list[dict] | None:
    """The runs, once none is queued or running and growth shows exactly ``users`` on D1."""
    runs = _runs(port)
    if not runs or any(r["status"] not in DONE for r in runs):
        return None
    try:
        dau = read_table("growth.gold_daily_active_users").filter(pl.col("activity_date") == D1).collect()
        c360 = read_table("growth.gold_customer_360").filter(pl.col("as_of_date") == D1).collect()
    except NoSuchTableError:  # before growth's first run
        return None
    if dau["active_users"].to_list() != [len(users)] or set(c360["user_token"]) != {_token(u) for u in users}:
        return None
    return runs


def test_landed_files_flow_to_growth_and_a_late_file_updates_its_day_downstream(home, tmp_path) -> None:
    for domain, lines in _customer_day("user-e2e-1", 9).items():
        write_landing(home, D1, "part-1.jsonl", lines, domain=domain)

    with dagster_dev(WORKSPACE, home, tmp_path) as port:
        locations = wait_for(lambda: loaded_locations(port), timeout_s=180, what="every location to load")
        assert {name: entry["__typename"] for name, entry in locations.items()} == {
            name: "RepositoryLocation"
            for name in ("orders", "customers", "payments", "inventory", "growth", "platform")
        }
        runs = wait_for(lambda: _settled_with(port, ["user-e2e-1"]), timeout_s=TIMEOUT_S, what="growth on D1")
        assert all(r["status"] == "SUCCESS" for r in runs), failure_reasons(port, runs) or runs
        landing = sorted(  # (platform's health probe may land its own file meanwhile)
            (r["jobName"], r["tags"]["dagster/partition"])
            for r in runs
            if "meshhouse/trigger" in r["tags"] and r["jobName"] != "platform_daily"
        )
        assert landing == [(f"{d}_daily", D1.isoformat()) for d in ("customers", "orders", "payments")]
        assert any(r["tags"].get("dagster/sensor_name") == "growth_automation" for r in runs)
        scores = read_table("growth.gold_churn_scores").filter(pl.col("as_of_date") == D1).collect()
        assert scores["user_token"].to_list() == [_token("user-e2e-1")]

        late = _customer_day("user-e2e-2", 20)["orders"]
        write_landing(home, D1, "late-1.jsonl", late, domain="orders")
        runs = wait_for(
            lambda: _settled_with(port, ["user-e2e-1", "user-e2e-2"]),
            timeout_s=TIMEOUT_S,
            what="the late day",
        )
        assert all(r["status"] == "SUCCESS" for r in runs), failure_reasons(port, runs) or runs
        reruns = [r for r in runs if r["jobName"] == "orders_daily"]
        assert len(reruns) == 2 and all(r["tags"]["dagster/partition"] == D1.isoformat() for r in reruns)
        second = read_table("growth.gold_customer_360").filter(pl.col("user_token") == _token("user-e2e-2"))
        assert second.select("orders_30d").collect()["orders_30d"].to_list()[0] == 1
