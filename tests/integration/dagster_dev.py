"""Driving a real `dagster dev` (webserver and daemon) from tests, over its GraphQL API: on a
workspace of one's choosing, or as `make run` starts it (`make serve`)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from platform_resources.core.keys import REPO_ROOT
from platform_resources.mesh.dev_server import free_port, graphql, serving
from platform_resources.mesh.workspace import prepare_dagster_home

RUN_ERRORS = """query($runId: ID!) { logsForRun(runId: $runId) { ... on EventConnection { events {
  ... on MessageEvent { level stepKey message }
  ... on ErrorEvent { error { message cause { message cause { message } } } }
  ... on AssetCheckEvaluationEvent { evaluation { checkName success assetKey { path } } }
} } } }"""
#: Automation ticks every 5 s in these tests, not every 10.
FAST_AUTOMATION = {"MESHHOUSE_AUTOMATION_INTERVAL_SECONDS": "5"}


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


def check_evaluations(port: int, runs: list[dict]) -> tuple[int, list[str]]:
    """How many check evaluations the given runs' event logs hold, and each failed one (any severity)."""
    evaluated, failed = 0, []
    for run in runs:
        for event in graphql(port, RUN_ERRORS, {"runId": run["runId"]})["logsForRun"]["events"]:
            if evaluation := event.get("evaluation"):
                evaluated += 1
                if not evaluation["success"]:
                    key = "/".join(evaluation["assetKey"]["path"])
                    failed.append(
                        f"run {run['runId'][:8]} ({run['jobName']}): {key}:{evaluation['checkName']}"
                    )
    return evaluated, failed


def _chain(error: dict[str, Any]) -> str:
    """An error's message followed by its causes' (a retried step's own error is its cause)."""
    messages = []
    while error:
        messages.append(error["message"].strip())
        error = error.get("cause")
    return " <- ".join(messages)


@contextmanager
def dagster_dev(workspace: Path, home: Path, tmp_path: Path) -> Iterator[int]:
    """`dagster dev -w workspace` on a fresh instance under ``tmp_path``; yields the port once it serves.

    Its log is ``tmp_path/dagster-dev.log``; on exit the whole process group is stopped.
    """
    port = free_port()
    env = {
        **os.environ,
        "MESHHOUSE_HOME": str(home),
        "DAGSTER_HOME": str(prepare_dagster_home(tmp_path / "dagster_home")),
        **FAST_AUTOMATION,
    }
    command = [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(workspace)]
    with serving([*command, "-h", "127.0.0.1", "-p", str(port)], env, port, tmp_path / "dagster-dev.log"):
        yield port


@contextmanager
def make_serve(home: Path, tmp_path: Path, **make_vars: str) -> Iterator[int]:
    """`make serve` (what `make run` does after installing) on ``home``, a fresh Dagster home under
    ``tmp_path`` and a free port; yields the port once the webserver serves.

    Its log is ``tmp_path/make-run.log``; on exit the whole process group is stopped (the live
    services with it) and the home's embedded servers are stopped.
    """
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MESHHOUSE_NATS_URL", "MESHHOUSE_ODS_URL")
    }
    env |= {
        "MESHHOUSE_HOME": str(home),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "DAGSTER_PORT": str(port),
        **FAST_AUTOMATION,
        **make_vars,
    }
    try:
        with serving(["make", "serve"], env, port, tmp_path / "make-run.log"):
            yield port
    finally:
        subprocess.run(
            [str(Path(sys.executable).parent / "meshhouse"), "servers", "down"],
            env=env,
            cwd=REPO_ROOT,
            check=False,
        )
