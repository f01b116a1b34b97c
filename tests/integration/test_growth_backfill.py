"""A seven-day backfill of growth's assets, launched through the GraphQL API of a running webserver.

The producers' ports are published first (in process, on another instance); then
`dagster dev` serves growth alone and the backfill daemon runs the backfill in chunks
(growth's assets run in 31-day chunks: one run per asset layer here, not one per day).
The tables must hold exactly the seven days, each once, and a second backfill of the
same days must change nothing.
"""

import datetime as dt

import polars as pl
import pytest

from platform_resources.mesh.dev_server import graphql, wait_for
from platform_resources.storage.iceberg_io import read_table
from tests.integration.conftest import publish_producer_ports
from tests.integration.dagster_dev import dagster_dev

pytestmark = pytest.mark.integration
DAYS = [dt.date(2026, 11, 14) + dt.timedelta(days=i) for i in range(7)]
GROWTH = ["customer_360", "churn_features", "churn_scores", "model_inference_events", "daily_active_users"]
LAUNCH = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
  }
}"""
STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 100) { status tags { key value } } }
  }
}"""


def _backfill(port: int) -> tuple[str, list[dict]]:
    params = {
        "assetSelection": [{"path": ["growth", "gold", name]} for name in GROWTH],
        "partitionNames": [d.isoformat() for d in DAYS],
        "title": "growth, seven days",
    }
    launched = graphql(port, LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched

    def done() -> dict | None:
        backfill = graphql(port, STATUS, {"id": launched["backfillId"]})["partitionBackfillOrError"]
        return None if backfill["status"] in ("REQUESTED", "CANCELING", "FAILING") else backfill

    backfill = wait_for(done, timeout_s=420, what="the growth backfill")
    return backfill["status"], backfill["runs"]


def _tables() -> dict[str, pl.DataFrame]:
    return {name: read_table(f"growth.gold_{name}").collect() for name in GROWTH}


def test_a_graphql_backfill_of_seven_days_fills_exactly_those_days_once(home, instance, tmp_path) -> None:
    publish_producer_ports(instance, DAYS, events_per_day=200)
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: domains.growth.definitions\n"
        "      location_name: growth\n"
    )
    with dagster_dev(workspace, home, tmp_path) as port:
        status, runs = _backfill(port)
        assert status == "COMPLETED_SUCCESS", runs
        assert runs and all(r["status"] == "SUCCESS" for r in runs)
        ranges = {
            (tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end"))
            for tags in ({t["key"]: t["value"] for t in r["tags"]} for r in runs)
        }
        assert ranges == {(DAYS[0].isoformat(), DAYS[-1].isoformat())}  # each run covers all seven days
        assert len(runs) < len(DAYS)

        tables = _tables()
        dau = tables["daily_active_users"]
        assert dau["activity_date"].to_list() == DAYS
        for name, date_column, key in (
            ("customer_360", "as_of_date", ["as_of_date", "user_token"]),
            ("churn_scores", "as_of_date", ["as_of_date", "user_token"]),
            ("churn_features", "as_of_date", ["as_of_date", "entity_id", "feature_name"]),
            ("model_inference_events", "event_date", ["event_id"]),
        ):
            frame = tables[name]
            assert sorted(frame[date_column].unique()) == DAYS, name
            assert not frame.select(key).is_duplicated().any(), name

        status, _ = _backfill(port)  # the same seven days again: replaced, not appended
        assert status == "COMPLETED_SUCCESS"
        assert {name: frame.height for name, frame in _tables().items()} == {
            name: frame.height for name, frame in tables.items()
        }
