"""Crash trials: a domain's day killed (SIGKILL) at a random moment, then run again.

A clean run of the day gives the expected contents of every table and published file. Each
trial starts from the same landed files, kills the run (at a random time, which lands inside
Bronze, Silver, dbt's Gold or a port publish, or at a random occurrence of a named kill point:
files written but not committed, just committed, a port file written but not renamed), runs the
day again to success (after a tick of the platform's dead-run sensor, which fails the killed
run and frees its pool slot, as the daemon would), and compares: rows and contents equal the
clean run's, no file the tables reference is missing, and a maintenance pass collects what the
killed run left unreferenced.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from platform_resources.core.faults import FAULT_TRACE, KILL_AT
from platform_resources.upkeep.dead_runs import dead_run_sensor
from reliability.evidence import Contents, file_health, lakehouse_contents, stale_port_files
from reliability.trials import Trial, compare

REPO = Path(__file__).resolve().parents[1]
KILL_POINTS = ("iceberg-before-commit", "iceberg-after-commit", "port-before-rename")
DOMAIN = "orders"
#: A rerun taking this many times the clean run is stuck (and killed: the trial fails).
RERUN_PATIENCE = 4
DAY = "2026-11-20"


@dataclass(frozen=True)
class Run:
    seconds: float
    returncode: int
    log: Path

    def tail(self) -> str:
        return " | ".join(self.log.read_text(errors="replace").splitlines()[-5:])


@contextmanager
def environment(settings: dict[str, str]) -> Iterator[None]:
    """This process reads with ``settings`` (a trial's home, its production settings) in the block."""
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def home_env(home: Path) -> AbstractContextManager[None]:
    """This process reads the trial's home (MESHHOUSE_HOME) while in the block."""
    return environment({"MESHHOUSE_HOME": str(home)})


def command_in_home(
    args: list[str], home: Path, log: Path, extra: dict[str, str] | None = None
) -> subprocess.Popen:
    env = {**os.environ, "MESHHOUSE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), **(extra or {})}
    if KILL_AT not in (extra or {}):
        env.pop(KILL_AT, None)
    with log.open("ab") as out:
        return subprocess.Popen(
            args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def run_day(
    home: Path,
    log: Path,
    *,
    kill_at: str | None = None,
    kill_after_s: float | None = None,
    trace: Path | None = None,
) -> Run:
    """The day's run as its own process; killed with its children (dbt) after ``kill_after_s``."""
    extra = {KILL_AT: kill_at} if kill_at else {}
    if trace:
        extra[FAULT_TRACE] = str(trace)
    started = time.monotonic()
    proc = command_in_home([sys.executable, "-m", "reliability.worker", DOMAIN, DAY], home, log, extra)
    try:
        proc.wait(timeout=kill_after_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return Run(time.monotonic() - started, proc.returncode, log)


def killed_steps(instance: dg.DagsterInstance) -> list[str]:
    """The steps of the latest run that started and neither succeeded nor failed: where it died
    (none when it died before its run or its first step began)."""
    runs = instance.get_runs(limit=1)
    if not runs:
        return []
    run = runs[0]
    started, ended = [], set()
    for record in instance.all_logs(run.run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started.append(event.step_key)
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            ended.add(event.step_key)
    return [step for step in started if step not in ended]


def meshhouse_in_home(args: list[str], home: Path, log: Path) -> int:
    return command_in_home([str(Path(sys.executable).parent / "meshhouse"), *args], home, log).wait()


@dataclass
class CrashBench:
    """The landed day, its clean run's contents and timing, and the kill points it reaches."""

    work: Path
    seed: int

    def __post_init__(self) -> None:
        self.pristine, self.home = self.work / "pristine", self.work / "home"
        shutil.rmtree(self.work, ignore_errors=True)
        (self.pristine / "dagster").mkdir(parents=True)
        shutil.copy(REPO / "dagster.yaml", self.pristine / "dagster" / "dagster.yaml")
        log = self.work / "setup.log"
        simulate = [
            "simulate",
            "--domain",
            DOMAIN,
            "--days",
            "1",
            "--end-date",
            DAY,
            "--events-per-day",
            "2000",
            "--seed",
            str(self.seed),
        ]
        if meshhouse_in_home(simulate, self.pristine, log):
            raise RuntimeError(f"could not land the trial's day: {log}")
        self.reset()
        trace = self.work / "points.trace"
        clean = run_day(self.home, self.work / "clean.log", trace=trace)
        if clean.returncode:
            raise RuntimeError(f"the clean run failed, no trial can be judged: {clean.tail()}")
        self.clean_s = clean.seconds
        self.points = Counter(trace.read_text().split())
        with home_env(self.home):
            self.expected: dict[str, Contents] = lakehouse_contents()

    def reset(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        shutil.copytree(self.pristine, self.home)

    def trial(self, number: int, rng: random.Random) -> Trial:
        self.reset()
        log = self.work / f"trial-{number}.log"
        if number % 2:  # a named point, at a random occurrence
            point = KILL_POINTS[(number // 2) % len(KILL_POINTS)]
            nth = rng.randint(1, self.points[point])
            name, killed = f"{point}#{nth}", run_day(self.home, log, kill_at=f"{point}#{nth}")
        else:  # a random moment of the run
            moment = rng.uniform(0.1, 0.95) * self.clean_s
            name, killed = f"at {moment:.1f}s", run_day(self.home, log, kill_after_s=moment)
        if killed.returncode != -signal.SIGKILL:
            return Trial(
                "crash",
                name,
                False,
                detail="the run was not killed",
                evidence=f"exit {killed.returncode}: {killed.tail()}",
            )
        with dg.DagsterInstance.from_config(str(self.home / "dagster")) as instance:
            inside = ", ".join(killed_steps(instance)) or "no step (before the first began)"
            dead_run_sensor(dg.build_sensor_context(instance=instance))  # the daemon's tick of it
        rerun = run_day(self.home, log, kill_after_s=RERUN_PATIENCE * self.clean_s)
        if rerun.returncode == -signal.SIGKILL:
            return Trial(
                "crash",
                name,
                False,
                detail=f"the rerun did not finish in {rerun.seconds:.0f}s",
                evidence=rerun.tail(),
            )
        if rerun.returncode:
            return Trial("crash", name, False, detail="the rerun failed", evidence=rerun.tail())
        with home_env(self.home):
            lost, duplicated, differ = compare(self.expected, lakehouse_contents())
            health = file_health()
            left = health.unreferenced + len(stale_port_files())
            swept = meshhouse_in_home(["maintenance", "run", "--orphan-days", "0"], self.home, log)
            after = file_health()
            stale_after = stale_port_files()
            lost2, duplicated2, differ2 = compare(self.expected, lakehouse_contents())
        problems = [*differ, *(f"missing file {p}" for p in health.missing + after.missing)]
        if swept or after.unreferenced or stale_after:
            problems.append(
                f"maintenance left {after.unreferenced} unreferenced files, {len(stale_after)} stale"
            )
        problems += [f"after maintenance: {d}" for d in differ2]
        detail = (
            f"killed after {killed.seconds:.1f}s in {inside}; rerun equals the clean run; "
            f"{left} leftovers collected"
        )
        return Trial(
            "crash",
            name,
            not problems,
            lost + lost2,
            duplicated + duplicated2,
            detail=detail if not problems else "; ".join(problems[:3]),
            evidence=f"log {log}" if problems else "",
        )


def crash_trials(work: Path, count: int, seed: int) -> Iterator[Trial]:
    bench = CrashBench(work, seed)
    print(
        f"crash: clean run {bench.clean_s:.1f}s, {len(bench.expected)} tables and files; "
        f"kill points reached {dict(bench.points)}",
        flush=True,
    )
    rng = random.Random(seed)
    for number in range(count):
        yield bench.trial(number, rng)
