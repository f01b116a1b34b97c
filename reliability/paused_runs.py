"""A run paused at a point while a service is taken away, and the verdict on it afterwards: what
the services and disk-full trials share."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from reliability.evidence import FileHealth
from reliability.trials import Trial

RUN_PATIENCE_S = 600


def wait_until_paused(proc: subprocess.Popen, timeout_s: float = RUN_PATIENCE_S) -> bool:
    """True once the process is stopped (paused at its point); False if it ended or took too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return True
        time.sleep(0.05)
    return False


def failure_messages(dagster_home: Path) -> list[str]:
    """The error chain of every failed or retried step of every run on the instance."""
    kinds = (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    messages = []
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for run in instance.get_runs():
            for record in instance.all_logs(run.run_id):
                event = record.dagster_event
                if event is None or event.event_type not in kinds:
                    continue
                error, chain = event.event_specific_data.error, []
                while error is not None:  # the step's own error is a cause of Dagster's wrappers
                    chain.append(error.message.strip())
                    error = error.cause
                messages.append(" <- ".join(chain) or record.message)
    return messages


@dataclass
class AfterOutage:
    """What a trial found once the run (and, if it failed, its rerun) ended."""

    paused_in: str
    returncode: int
    rerun_returncode: int
    failures: list[str]
    lost: int
    duplicated: int
    differ: list[str]
    health: FileHealth
    problems: list[str] = field(default_factory=list)  # the trial's own further findings

    def verdict(self, name: str, log: Path) -> Trial:
        problems = [*self.differ, *(f"missing file {p}" for p in self.health.missing)]
        problems += [
            f"{m[:300]}: says not what was not committed" for m in self.failures if "not committed" not in m
        ]
        if not self.failures:
            problems.append("no step failed: the outage was never met")
        if self.rerun_returncode:
            problems.append("the rerun after the outage failed")
        problems += self.problems
        outcome = (
            "came through on its retries" if self.returncode == 0 else "failed, then a rerun finished it"
        )
        detail = (
            f"paused in {self.paused_in}; {outcome}; {len(self.failures)} step failures said what was not "
            "committed; contents equal the clean run's"
        )
        return Trial(
            "services",
            name,
            not problems,
            self.lost,
            self.duplicated,
            detail=detail if not problems else "; ".join(problems[:3]),
            evidence=f"log {log}" if problems else "",
        )
