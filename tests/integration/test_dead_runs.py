"""A run whose process is killed outright is failed, and the pool slot it held is freed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from platform_resources.upkeep.dead_runs import dead_run_sensor, fail_dead_runs
from tests.integration.conftest import REPO

pytestmark = pytest.mark.integration

JOB = """
import sys, time
import dagster as dg

@dg.op(pool="duckdb_writers")
def hold(context):
    if sys.argv[1] == "sleep":
        time.sleep(600)

@dg.job
def pooled():
    hold()

with dg.DagsterInstance.get() as instance:
    sys.exit(0 if pooled.execute_in_process(instance=instance).success else 1)
"""


def _pooled(dagster_home: Path, script: Path, mode: str) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    return subprocess.Popen([sys.executable, str(script), mode], env=env, start_new_session=True)


def test_a_killed_run_is_failed_and_its_pool_slot_freed_so_the_next_run_proceeds(tmp_path) -> None:
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    script = tmp_path / "pooled.py"
    script.write_text(JOB)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        # the instance's storage exists before the victim opens it: two processes creating
        # one fresh SQLite instance at once can fail the victim in DagsterInstance.get()
        instance.get_runs()
        victim = _pooled(dagster_home, script, "sleep")
        deadline = time.monotonic() + 120
        while not instance.event_log_storage.get_concurrency_info("duckdb_writers").active_slot_count:
            assert time.monotonic() < deadline and victim.poll() is None, "the victim never took its slot"
            time.sleep(0.5)
        (run,) = instance.get_runs()
        assert fail_dead_runs(instance) == []  # alive: left alone
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED  # as it died

        reason = dead_run_sensor(dg.build_sensor_context(instance=instance))
        assert run.run_id in reason.skip_message
        failed = instance.get_run_by_id(run.run_id)
        assert failed.status == dg.DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_info("duckdb_writers").active_slot_count == 0
        message = [e.message for e in instance.all_logs(run.run_id) if e.is_dagster_event][-1]
        assert "is gone, killed or crashed" in message

        assert _pooled(dagster_home, script, "quick").wait(timeout=120) == 0  # the slot is free again
