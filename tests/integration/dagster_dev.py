"""Driving a real `dagster dev` (webserver and daemon) from tests, over its GraphQL API."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from platform_resources.core.keys import REPO_ROOT
from platform_resources.mesh.workspace import prepare_dagster_home

T = TypeVar("T")
START_TIMEOUT_S = 180
LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus locationOrLoadError {
  __typename
  ... on PythonError { message }
  ... on RepositoryLocation { repositories { name sensors { name sensorState { status } } } }
} } } } }"""
RUN_ERRORS = """query($runId: ID!) { logsForRun(runId: $runId) { ... on EventConnection { events {
  ... on MessageEvent { level stepKey message }
  ... on ErrorEvent { error { message cause { message cause { message } } } }
  ... on AssetCheckEvaluationEvent { evaluation { checkName success assetKey { path } } }
} } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``data`` of a GraphQL request; GraphQL errors raise with their messages."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.load(response)
    if body.get("errors"):
        raise AssertionError(f"GraphQL errors: {[e.get('message') for e in body['errors']]}")
    return body["data"]


def loaded_locations(port: int) -> dict[str, dict] | None:
    """Each code location's repository or load error, once none is still loading."""
    entries = graphql(port, LOCATIONS)["workspaceOrError"]["locationEntries"]
    if not entries or any(e["loadStatus"] != "LOADED" for e in entries):
        return None
    return {e["name"]: e["locationOrLoadError"] for e in entries}


def failure_reasons(port: int, runs: list[dict]) -> list[str]:
    """Why each failed run (``runId`` and ``status`` of each) failed: its errors and failed checks."""
    reasons = []
    for run in runs:
        if run["status"] != "FAILURE":
            continue
        for event in graphql(port, RUN_ERRORS, {"runId": run["runId"]})["logsForRun"]["events"]:
            evaluation = event.get("evaluation")
            if evaluation and not evaluation["success"]:
                what = f"check {'/'.join(evaluation['assetKey']['path'])}:{evaluation['checkName']} failed"
            elif event.get("error"):
                what = _chain(event["error"])
            elif event.get("level") == "ERROR":
                what = event["message"]
            else:
                continue
            reasons.append(f"run {run['runId'][:8]} step {event.get('stepKey')}: {what}")
    return reasons


def _chain(error: dict[str, Any]) -> str:
    """An error's message followed by its causes' (a retried step's own error is its cause)."""
    messages = []
    while error:
        messages.append(error["message"].strip())
        error = error.get("cause")
    return " <- ".join(messages)


def wait_for(probe: Callable[[], T | None], *, timeout_s: float, what: str, every_s: float = 3) -> T:
    """Poll ``probe`` until it returns something other than None."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (found := probe()) is not None:
            return found
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@contextmanager
def dagster_dev(workspace: Path, home: Path, tmp_path: Path) -> Iterator[int]:
    """`dagster dev -w workspace` on a fresh instance under ``tmp_path``; yields the port once it serves.

    Its log is ``tmp_path/dagster-dev.log``; on exit the whole process group is stopped.
    """
    dagster_home = prepare_dagster_home(tmp_path / "dagster_home")
    port = _free_port()
    log_path = tmp_path / "dagster-dev.log"
    env = {
        **os.environ,
        "MESHHOUSE_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "MESHHOUSE_AUTOMATION_INTERVAL_SECONDS": "5",  # automation ticks every 5 s here, not 10
    }
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster"),
                *("dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def serving() -> bool | None:
            if server.poll() is not None:
                raise AssertionError(f"dagster dev exited: {log_path.read_text()[-3000:]}")
            try:
                graphql(port, "{ version }")
            except (OSError, urllib.error.URLError):
                return None
            return True

        try:
            wait_for(serving, timeout_s=START_TIMEOUT_S, what="dagster dev to serve")
            yield port
        except BaseException:
            print(log_path.read_text()[-5000:])
            raise
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
