"""`make run` on a fresh home: landed files flow to growth's outputs and the live services' events
stream into today's partitions, with no click and no failed check.

`make serve` (make run after its install step) simulates the demo where a landing zone is empty,
starts the embedded PostgreSQL and NATS, the live services and `dagster dev` on the whole
workspace; the test drives it through the webserver's GraphQL API. Files landed by hand for
yesterday (customers, orders, payments; inventory's day is the demo's) are ingested by the
landing sensors and carried to growth by automation, a late file for that day updates it
downstream, and meanwhile the services' outbox and CDC events reach each source domain's
stream Bronze and Silver of today through the stream sensors' micro-batch runs.
"""

import datetime as dt
import hashlib
import hmac

import polars as pl
import pytest
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.core.settings import DEV_TOKEN_KEY
from platform_resources.mesh.dev_server import graphql, loaded_locations, wait_for
from platform_resources.operational.services import SERVICE_DOMAINS
from platform_resources.storage.iceberg_io import read_table
from platform_resources.stream.stream_bronze import stream_tables
from tests.conftest import envelope, order_created, write_landing
from tests.integration.dagster_dev import check_evaluations, failure_reasons, make_serve

pytestmark = pytest.mark.integration
RUNS = "{ runsOrError { ... on Runs { results { runId status jobName creationTime tags { key value } } } } }"
MATERIALIZATION = """query($path: [String!]!, $day: String!) { assetOrError(assetKey: {path: $path}) {
  ... on Asset { assetMaterializations(partitions: [$day], limit: 1) { metadataEntries { label } } } } }"""
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
TIMEOUT_S = 600
TODAY = dt.datetime.now(dt.UTC).date()
# yesterday: automation refreshes growth's days from it to today, so the cascade stays short;
# it is also the one day the demo simulates (inventory's, whose landing zone is left empty)
D1 = TODAY - dt.timedelta(days=1)
DEMO = {"DEMO_DAYS": "1", "DEMO_EVENTS_PER_DAY": "200"}


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


def _growth_shows(port: int, users: list[str]) -> list[dict] | None:
    """The runs, once D1's landing runs are done and growth shows exactly ``users`` on D1.

    (D1's automation runs go on while the live services run: orders' order states and customers'
    profiles of a day read the days after it, today's stream included.)"""
    runs = _runs(port)
    landing = [
        r for r in runs if r["jobName"].endswith("_daily") and r["tags"].get("dagster/partition") == str(D1)
    ]
    if not landing or any(r["status"] not in DONE for r in landing):
        return None
    try:
        dau = read_table("growth.gold_daily_active_users").filter(pl.col("activity_date") == D1).collect()
        c360 = read_table("growth.gold_customer_360").filter(pl.col("as_of_date") == D1).collect()
        scores = read_table("growth.gold_churn_scores").filter(pl.col("as_of_date") == D1).collect()
    except NoSuchTableError:  # before growth's first run (its tables are created one by one)
        return None
    tokens = {_token(u) for u in users}
    if dau["active_users"].to_list() != [len(users)] or set(c360["user_token"]) != tokens:
        return None
    return runs if set(scores["user_token"]) == tokens else None


def _created_on(run: dict) -> str:
    """The UTC day a run was created (the stream sensor requests the partition of that day)."""
    return dt.datetime.fromtimestamp(run["creationTime"], dt.UTC).date().isoformat()


def _streamed(port: int) -> tuple[list[dict], str] | None:
    """The runs and the live day (the latest successful stream run's: today, or tomorrow if the test
    ran past midnight UTC), once every source domain has a successful stream run of that day and
    stream Bronze rows of it, and orders' Silver of that day holds the live orders."""
    runs = _runs(port)
    streamed = [r for r in runs if r["status"] == "SUCCESS" and r["jobName"].endswith("_stream")]
    if not streamed:
        return None
    day = max(r["tags"]["dagster/partition"] for r in streamed)
    of_day = {r["jobName"] for r in streamed if r["tags"]["dagster/partition"] == day}
    if of_day < {f"{d}_stream" for d in SERVICE_DOMAINS}:
        return None
    live = dt.date.fromisoformat(day)
    for domain in SERVICE_DOMAINS:
        events = read_table(stream_tables(domain)[0]).filter(pl.col("landing_date") == live)
        if events.collect().is_empty():
            return None
    silver = read_table("orders.silver_order_events").filter(pl.col("event_date") == live).collect()
    return (runs, day) if silver.height > 0 else None


def test_make_run_flows_landed_files_and_live_events_with_no_failed_check(home, tmp_path) -> None:
    for domain, lines in _customer_day("user-e2e-1", 9).items():
        write_landing(home, D1, "part-1.jsonl", lines, domain=domain)

    with make_serve(home, tmp_path, **DEMO) as port:
        locations = wait_for(lambda: loaded_locations(port), timeout_s=180, what="every location to load")
        assert {name: entry["__typename"] for name, entry in locations.items()} == {
            name: "RepositoryLocation"
            for name in ("orders", "customers", "payments", "inventory", "growth", "platform")
        }
        for domain in SERVICE_DOMAINS:
            sensors = {
                s["name"]: s["sensorState"]["status"] for s in locations[domain]["repositories"][0]["sensors"]
            }
            assert sensors[f"{domain}_stream_sensor"] == sensors[f"{domain}_landing_sensor"] == "RUNNING"

        runs = wait_for(lambda: _growth_shows(port, ["user-e2e-1"]), timeout_s=TIMEOUT_S, what="growth on D1")
        landing = sorted(  # (platform's health probe may land its own file meanwhile)
            (r["jobName"], r["tags"]["dagster/partition"])
            for r in runs
            if "meshhouse/trigger" in r["tags"]
            and r["jobName"].endswith("_daily")
            and r["jobName"] != "platform_daily"
        )
        assert landing == [
            (f"{d}_daily", D1.isoformat()) for d in ("customers", "inventory", "orders", "payments")
        ]
        assert any(r["tags"].get("dagster/sensor_name") == "growth_automation" for r in runs)
        scores = read_table("growth.gold_churn_scores").filter(pl.col("as_of_date") == D1).collect()
        assert scores["user_token"].to_list() == [_token("user-e2e-1")]

        late = _customer_day("user-e2e-2", 20)["orders"]
        write_landing(home, D1, "late-1.jsonl", late, domain="orders")
        wait_for(
            lambda: _growth_shows(port, ["user-e2e-1", "user-e2e-2"]),
            timeout_s=TIMEOUT_S,
            what="the late day",
        )
        runs, live_day = wait_for(lambda: _streamed(port), timeout_s=TIMEOUT_S, what="today's stream runs")
        reruns = [r for r in runs if r["jobName"] == "orders_daily"]
        assert len(reruns) == 2 and all(r["tags"]["dagster/partition"] == D1.isoformat() for r in reruns)
        second = read_table("growth.gold_customer_360").filter(pl.col("user_token") == _token("user-e2e-2"))
        assert second.select("orders_30d").collect()["orders_30d"].to_list()[0] == 1

        today = [r for r in runs if r["jobName"].endswith("_stream")]
        assert all(r["tags"]["dagster/partition"] == _created_on(r) for r in today)  # each on its day
        for domain in SERVICE_DOMAINS:  # the lag, on today's stream Bronze materialization in the UI
            entries = graphql(
                port, MATERIALIZATION, {"path": [domain, "bronze", "stream_events"], "day": live_day}
            )
            labels = {
                e["label"] for e in entries["assetOrError"]["assetMaterializations"][0]["metadataEntries"]
            }
            assert "consumer_lag" in labels, labels

        finished = [r for r in runs if r["status"] in DONE]
        assert all(r["status"] == "SUCCESS" for r in finished), failure_reasons(port, finished)
        evaluated, failed = check_evaluations(port, finished)
        assert evaluated > 0 and not failed, failed
