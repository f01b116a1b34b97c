"""A domain whose code fails to load leaves the other domains loading and running.

`dagster dev` serves a workspace of payments, growth and a broken domain (its module
raises on import). Over GraphQL: the broken location reports the error, payments loads
with its sensors, its running landing sensor ingests a file dropped into the landing
zone, here an S3 bucket on a real S3 server, and growth's automation sensor carries the
payment on to growth's outputs, with no click.
"""

import datetime as dt

import polars as pl
import pytest
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.mesh.dev_server import graphql, loaded_locations, wait_for
from platform_resources.storage.iceberg_io import read_table
from tests.conftest import envelope
from tests.integration.conftest import S3Landing, rows
from tests.integration.dagster_dev import dagster_dev

pytestmark = pytest.mark.integration
RUNS = "{ runsOrError { ... on Runs { results { status jobName } } } }"
DAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)  # growth's automation covers DAY..today


def test_a_broken_domain_does_not_stop_the_others(home, tmp_path, s3_landing: S3Landing) -> None:
    broken = tmp_path / "broken_domain.py"
    broken.write_text(
        '"""A domain whose code fails to load."""\n\nimport domains.does_not_exist  # noqa: F401\n'
    )
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n"
        f"  - python_file: {{relative_path: {broken}, location_name: broken}}\n"
        "  - python_module: {module_name: domains.payments.definitions, location_name: payments}\n"
        "  - python_module: {module_name: domains.growth.definitions, location_name: growth}\n"
    )
    payment = envelope(
        "payment.captured",
        {"paymentId": "p-1", "orderId": "o-1", "userId": "user-1", "amount": 12.5, "currency": "EUR"},
        metadata={"paymentMethod": "card"},
        ts=f"{DAY}T10:00:00Z",
    )
    source = s3_landing.put("payments", DAY, "part-1.jsonl", [payment])

    with dagster_dev(workspace, home, tmp_path) as port:
        locations = wait_for(lambda: loaded_locations(port), timeout_s=180, what="both locations to load")
        assert locations["broken"]["__typename"] == "PythonError"
        assert "domains.does_not_exist" in locations["broken"]["message"]
        assert locations["payments"]["__typename"] == "RepositoryLocation"
        sensors = {
            s["name"]: s["sensorState"]["status"] for s in locations["payments"]["repositories"][0]["sensors"]
        }
        assert sensors == dict.fromkeys(
            [
                "payments_landing_sensor",
                "payments_stream_sensor",
                "payments_automation",
                "payments_partition_freshness",
            ],
            "RUNNING",
        )

        def paying_users_on_day() -> list[dict] | None:
            runs = graphql(port, RUNS)["runsOrError"]["results"]
            if not runs or any(r["status"] not in ("SUCCESS", "FAILURE") for r in runs):
                return None
            try:
                dau = read_table("growth.gold_daily_active_users").filter(pl.col("activity_date") == DAY)
            except NoSuchTableError:
                return None
            return runs if dau.collect()["paying_users"].to_list() == [1] else None

        runs = wait_for(paying_users_on_day, timeout_s=420, what="the payment in growth's daily active users")
        assert all(r["status"] == "SUCCESS" for r in runs), runs
        assert [r["jobName"] for r in runs].count("payments_daily") == 1
        assert rows("payments.bronze_events") == 1 and rows("payments.silver_payment_events") == 1
        assert read_table("payments.bronze_events").collect()["source_file"].to_list() == [source]
