"""Services taken away: an orders day in production mode (an embedded PostgreSQL catalog, the
warehouse on a SeaweedFS S3 server) paused at a commit, a server taken away, the run let go on.

Each trial pauses the run (SIGSTOP at ``MESHHOUSE_PAUSE_AT``) at a random occurrence of
``iceberg-before-commit`` (data files written, nothing committed: inside Bronze, Silver or
Gold), then stops the S3 server for a while, or restarts PostgreSQL, and lets the run go on into
the outage. The run must come through on its own, by the platform's step retries (backoff,
bounded), or fail saying what was not committed; a rerun then finishes it. The contents must
equal a clean production run's and no file the tables reference may be missing: a commit is
whole or absent, so no reader saw anything partial.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from platform_resources.core.faults import FAULT_TRACE, PAUSE_AT
from platform_resources.operational.s3_server import EmbeddedS3
from platform_resources.operational.servers import EmbeddedPostgres
from reliability.crash import DAY, DOMAIN, REPO, environment, killed_steps
from reliability.disk_full import disk_full_trials
from reliability.evidence import Contents, file_health, lakehouse_contents
from reliability.paused_runs import RUN_PATIENCE_S, AfterOutage, failure_messages, wait_until_paused
from reliability.trials import Trial, compare

#: How long the S3 server stays away: longer than a step's first retry delay (10 s), shorter
#: than its bound, so the platform's own retries are what bring the run through.
S3_OUTAGE_S = 12
TOKEN_KEY = "reliability-trial-key"


@dataclass
class Stack:
    """The production services of the trials and a fresh catalog database and bucket per run."""

    work: Path

    def __post_init__(self) -> None:
        self.s3 = EmbeddedS3(self.work / "s3")
        self.postgres = EmbeddedPostgres(self.work / "postgres")

    def start(self) -> None:
        self.s3.start()
        self.postgres.start()

    def stop(self) -> None:
        self.s3.stop()
        self.postgres.stop()

    def fresh(self, name: str) -> dict[str, str]:
        """A new catalog database and warehouse bucket named ``name``: the production settings."""
        import boto3
        import psycopg

        admin = self.postgres.url.rsplit("/", 1)[0]
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        env = self.s3.client_env()
        boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_REGION"],
        ).create_bucket(Bucket=name.replace("_", "-"))
        return {
            **env,
            "MESHHOUSE_ENV": "production",
            "MESHHOUSE_CATALOG_URI": f"{admin.replace('postgresql://', 'postgresql+psycopg://')}/{name}",
            "MESHHOUSE_WAREHOUSE": f"s3://{name.replace('_', '-')}/lake",
            "MESHHOUSE_TOKEN_KEY": TOKEN_KEY,
        }


def _worker(settings: dict[str, str], log: Path, extra: dict[str, str]) -> subprocess.Popen:
    env = {
        **os.environ,
        **settings,
        "DAGSTER_HOME": str(Path(settings["MESHHOUSE_HOME"]) / "dagster"),
        **extra,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "reliability.worker", DOMAIN, DAY],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@dataclass(frozen=True)
class Outage:
    name: str
    take_away: Callable[[Stack], None]  # called with the run paused; the run goes on meanwhile


def _s3_stopped(stack: Stack) -> None:
    stack.s3.stop(signal.SIGKILL)

    def come_back() -> None:
        time.sleep(S3_OUTAGE_S)
        stack.s3.start()

    threading.Thread(target=come_back, daemon=True).start()


def _postgres_restarted(stack: Stack) -> None:
    stack.postgres.stop("immediate")  # a crash of the catalog's server: every connection cut
    stack.postgres.start()


OUTAGES = (
    Outage("S3 stopped mid-commit", _s3_stopped),
    Outage("PostgreSQL catalog restarted mid-commit", _postgres_restarted),
)


@dataclass
class ServicesBench:
    work: Path
    seed: int

    def __post_init__(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        self.pristine = self.work / "pristine"
        (self.pristine / "dagster").mkdir(parents=True)
        shutil.copy(REPO / "dagster.yaml", self.pristine / "dagster" / "dagster.yaml")
        self.stack = Stack(self.work)
        self.stack.start()
        simulate = [str(Path(sys.executable).parent / "meshhouse"), "simulate", "--domain", DOMAIN]
        simulate += ["--days", "1", "--end-date", DAY, "--events-per-day", "2000", "--seed", str(self.seed)]
        landed = subprocess.run(
            simulate, cwd=REPO, env={**os.environ, "MESHHOUSE_HOME": str(self.pristine)}, capture_output=True
        )
        if landed.returncode:
            raise RuntimeError(f"could not land the trial's day: {landed.stderr.decode()[-2000:]}")
        settings = self._home("clean")
        trace = self.work / "clean.trace"
        clean = _worker(settings, self.work / "clean.log", {FAULT_TRACE: str(trace)})
        if clean.wait(timeout=RUN_PATIENCE_S):
            raise RuntimeError(
                f"the clean production run failed, no trial can be judged: {self.work / 'clean.log'}"
            )
        self.commits = Counter(trace.read_text().split())["iceberg-before-commit"]
        with environment(settings):
            self.expected: dict[str, Contents] = lakehouse_contents()

    def _home(self, name: str) -> dict[str, str]:
        """The landed day in the one home (lines name their file by path), on a fresh catalog."""
        home = self.work / "home"
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(self.pristine, home)
        return {**self.stack.fresh(name), "MESHHOUSE_HOME": str(home)}

    def trial(self, number: int, outage: Outage, rng: random.Random) -> Trial:
        nth = rng.randint(1, self.commits)
        name = f"{outage.name} (commit {nth} of {self.commits})"
        settings = self._home(f"trial_{number}")
        log = self.work / f"trial-{number}.log"
        proc = _worker(settings, log, {PAUSE_AT: f"iceberg-before-commit#{nth}"})
        if not wait_until_paused(proc, RUN_PATIENCE_S):
            return Trial(
                "services", name, False, detail="the run never reached its pause point", evidence=f"log {log}"
            )
        with (
            environment(settings),
            dg.DagsterInstance.from_config(str(Path(settings["MESHHOUSE_HOME"]) / "dagster")) as instance,
        ):
            inside = ", ".join(killed_steps(instance)) or "no step"
        outage.take_away(self.stack)
        os.kill(proc.pid, signal.SIGCONT)
        try:
            code = proc.wait(timeout=RUN_PATIENCE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return Trial(
                "services", name, False, detail="the run hung after the outage", evidence=f"log {log}"
            )
        self.stack.start()  # whatever the outage left stopped is back
        with environment(settings):
            failures = failure_messages(Path(settings["MESHHOUSE_HOME"]) / "dagster")
            rerun = 0 if code == 0 else _worker(settings, log, {}).wait(timeout=RUN_PATIENCE_S)
            after = AfterOutage(
                inside, code, rerun, failures, *compare(self.expected, lakehouse_contents()), file_health()
            )
        return after.verdict(name, log)


def services_trials(work: Path, *, quick: bool, seed: int) -> Iterator[Trial]:
    bench = ServicesBench(work, seed)
    print(
        f"services: clean production run, {bench.commits} commits, {len(bench.expected)} tables", flush=True
    )
    rng = random.Random(seed)
    rounds = 1 if quick else 3
    try:
        for number, outage in enumerate(o for _ in range(rounds) for o in OUTAGES):
            yield bench.trial(number, outage, rng)
    finally:
        bench.stack.stop()
    yield from disk_full_trials(work / "disk", rounds, seed)
