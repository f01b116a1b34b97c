"""A domain whose code fails to load leaves the other domains loading and running.

`dagster dev` serves a workspace of payments and a broken domain (its module raises on
import). Over GraphQL: the broken location reports the error, payments loads with its
sensors, and its running landing sensor ingests a file dropped into the landing zone,
here an S3 bucket on a real S3 server.
"""

import pytest

from platform_resources.iceberg_io import read_table
from tests.conftest import DAY, envelope
from tests.integration.conftest import S3Landing, rows
from tests.integration.dagster_dev import dagster_dev, graphql, loaded_locations, wait_for

pytestmark = pytest.mark.integration
RUNS = "{ runsOrError { ... on Runs { results { status jobName } } } }"


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
    )
    payment = envelope(
        "payment.captured",
        {"paymentId": "p-1", "orderId": "o-1", "userId": "user-1", "amount": 12.5, "currency": "EUR"},
        metadata={"paymentMethod": "card"},
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
        assert sensors == {"payments_landing_sensor": "RUNNING", "payments_automation": "RUNNING"}

        def finished() -> list[dict] | None:
            runs = graphql(port, RUNS)["runsOrError"]["results"]
            return runs if runs and all(r["status"] in ("SUCCESS", "FAILURE") for r in runs) else None

        runs = wait_for(finished, timeout_s=300, what="the payments landing run")
        assert runs == [{"status": "SUCCESS", "jobName": "payments_daily"}]
        assert rows("payments.bronze_events") == 1 and rows("payments.silver_payment_events") == 1
        assert read_table("payments.bronze_events").collect()["source_file"].to_list() == [source]
