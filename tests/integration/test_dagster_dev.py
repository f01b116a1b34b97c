"""`dagster dev` on the workspace: the running landing sensor materializes landed days with no click.

Driven through the GraphQL API of a real webserver and daemon, as `make run` starts them.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from platform_resources.workspace import prepare_dagster_home
from tests.conftest import DAY, order_created, write_landing
from tests.integration.conftest import rows

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
RUNS = "{ runsOrError { ... on Runs { results { status jobName tags { key value } } } } }"
TIMEOUT_S = 420


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def test_landed_day_flows_to_gold_through_the_running_sensor(home, tmp_path) -> None:
    write_landing(home, DAY, "part-1.jsonl", [order_created(f"o-{i}") for i in range(8)])
    dagster_home = prepare_dagster_home(tmp_path / "dagster_home")
    port = _free_port()
    env = {**os.environ, "MESHHOUSE_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    log = open(tmp_path / "dagster-dev.log", "w")  # noqa: SIM115 - closed in finally
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline, runs = time.monotonic() + TIMEOUT_S, []
        while time.monotonic() < deadline:
            time.sleep(5)
            try:
                runs = _graphql(port, RUNS)["runsOrError"]["results"]
            except OSError:
                continue  # not serving yet
            if runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
                break
        tags = [{t["key"]: t["value"] for t in r["tags"]} for r in runs]
        assert [(r["status"], r["jobName"]) for r in runs] == [("SUCCESS", "orders_daily")], (
            tmp_path / "dagster-dev.log"
        ).read_text()[-3000:]
        assert tags[0]["dagster/partition"] == DAY.isoformat()
        assert tags[0]["dagster/sensor_name"] == "orders_landing_sensor"
        assert rows("orders.silver_orders") == 8 and rows("orders.gold_daily_revenue") == 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
