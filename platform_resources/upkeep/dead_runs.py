"""Runs whose process is gone, failed and their pool slots freed.

A run worker killed outright (SIGKILL, the OOM killer, a lost machine) never reports its end:
its run stays STARTED in the instance and keeps its pool slots (``duckdb_writers``), so every
later Silver or dbt step of every domain waits for it forever. The DefaultRunLauncher has no
worker health check, so Dagster's run monitoring cannot tell. Every run names its process in
an engine event (``Started process for run (pid: N)``, ``Executing steps in process (pid: N)``);
a STARTED run whose process no longer lives on this machine is marked failed, with what was not
committed, and its slots are freed. What it committed before dying is whole (each Iceberg
commit is atomic); its rerun replaces it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dagster as dg
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.storage.dagster_run import RunsFilter

PID = re.compile(r"\(pid: (\d+)\)")
DEAD_RUN_SENSOR_INTERVAL_S = 30


def run_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The process the run said it runs in (its first engine event naming a pid)."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        if match := PID.search(entry.message or ""):
            return int(match[1])
    return None


def _alive(pid: int) -> bool:
    """A live process of Python (a pid the kernel gave to another program since does not count)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and b"python" in cmdline


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail every STARTED run whose process is gone and free its slots; the runs failed.

    Only where runs run on this machine (the DefaultRunLauncher's subprocesses, or in process):
    another launcher's runs live elsewhere, and its own health check watches them."""
    if not isinstance(instance.run_launcher, DefaultRunLauncher):
        return []
    failed = []
    for record in instance.get_run_records(RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        run = record.dagster_run
        pid = run_pid(instance, run.run_id)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        instance.report_run_failed(
            run,
            f"the run's process (pid {pid}) is gone, killed or crashed: the steps it had not finished "
            "committed nothing (what it committed before stays whole); run the partition again",
        )
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        failed.append(run.run_id)
    return failed


@dg.sensor(
    name="dead_run_sensor",
    minimum_interval_seconds=DEAD_RUN_SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fails runs whose process was killed (they would keep their pool slots forever) "
    "and frees their slots.",
)
def dead_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    failed = fail_dead_runs(context.instance)
    if failed:
        return dg.SkipReason(f"failed {len(failed)} runs whose process is gone: {', '.join(failed)}")
    return dg.SkipReason("every started run's process is alive")
