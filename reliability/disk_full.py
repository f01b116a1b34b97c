"""The disk full under the warehouse: an orders day (embedded mode) paused at a random Iceberg
commit while a filler takes every free byte of the warehouse's file system, then let go on.

The warehouse is a tmpfs of its own (``mount`` needs root; without it the trial fails saying
so). The filler stays ``DISK_FULL_S`` seconds: longer than the step's first retry may wait,
shorter than its bound. The run must come through on its retries, or fail saying what was not
committed and be finished by a rerun; the contents then equal a clean run's, no referenced file
is missing, and a maintenance pass collects what the failed writes left.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from platform_resources.core.faults import PAUSE_AT
from reliability.crash import (
    DAY,
    DOMAIN,
    CrashBench,
    command_in_home,
    home_env,
    killed_steps,
    meshhouse_in_home,
    run_day,
)
from reliability.evidence import file_health, lakehouse_contents
from reliability.paused_runs import RUN_PATIENCE_S, AfterOutage, failure_messages, wait_until_paused
from reliability.trials import Trial, compare

DISK_FULL_S = 12
TMPFS_SIZE = "512m"


class NoSmallDisk(RuntimeError):
    """No tmpfs could be mounted (not root)."""


@contextlib.contextmanager
def small_disk(folder: Path) -> Iterator[None]:
    """``folder`` on a tmpfs of its own while in the block."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        raise NoSmallDisk(f"cannot mount a tmpfs at {folder} (needs root): {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> Path:
    """A file taking every free byte under ``folder``; returns it."""
    filler = folder / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb") as out, contextlib.suppress(OSError):  # ENOSPC: full
        while True:
            out.write(chunk)
            out.flush()
    return filler


def disk_full_trials(work: Path, count: int, seed: int) -> Iterator[Trial]:
    bench = CrashBench(work, seed)
    commits = bench.points["iceberg-before-commit"]
    print(f"disk full: clean run {bench.clean_s:.1f}s, {commits} commits", flush=True)
    rng = random.Random(seed)
    for number in range(count):
        yield _trial(bench, number, rng.randint(1, commits), commits)


def _trial(bench: CrashBench, number: int, nth: int, commits: int) -> Trial:
    name = f"warehouse disk full at commit {nth} of {commits}"
    bench.reset()
    try:
        with small_disk(bench.home / "warehouse"):
            return _on_a_full_disk(bench, name, bench.work / f"disk-full-{number}.log", nth)
    except NoSmallDisk as exc:
        return Trial("services", name, False, detail=str(exc), evidence="run make reliability as root")


def _on_a_full_disk(bench: CrashBench, name: str, log: Path, nth: int) -> Trial:
    command = [sys.executable, "-m", "reliability.worker", DOMAIN, DAY]
    proc = command_in_home(command, bench.home, log, {PAUSE_AT: f"iceberg-before-commit#{nth}"})
    if not wait_until_paused(proc, RUN_PATIENCE_S):
        return Trial(
            "services", name, False, detail="the run never reached its pause point", evidence=f"log {log}"
        )
    with dg.DagsterInstance.from_config(str(bench.home / "dagster")) as instance:
        inside = ", ".join(killed_steps(instance)) or "no step"
    filler = fill(bench.home / "warehouse")
    freeing = threading.Timer(DISK_FULL_S, filler.unlink)
    freeing.start()
    os.kill(proc.pid, signal.SIGCONT)
    try:
        code = proc.wait(timeout=RUN_PATIENCE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return Trial("services", name, False, detail="the run hung on the full disk", evidence=f"log {log}")
    freeing.join()
    failures = failure_messages(bench.home / "dagster")
    rerun = 0 if code == 0 else run_day(bench.home, log).returncode
    with home_env(bench.home):
        lost, duplicated, differ = compare(bench.expected, lakehouse_contents())
        swept = meshhouse_in_home(["maintenance", "run", "--orphan-days", "0"], bench.home, log)
        health = file_health()
    after = AfterOutage(inside, code, rerun, failures, lost, duplicated, differ, health)
    if swept or health.unreferenced:
        after.problems.append(f"maintenance left {health.unreferenced} unreferenced files")
    return after.verdict(name, log)
