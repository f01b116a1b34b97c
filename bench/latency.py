"""Landing -> Gold latency on the embedded default, as ``make run`` starts it.

A fresh home gets the first days of one simulated world and ``dagster dev`` on ``workspace.yaml`` with this
home's servers (sensors, daemon and automation as they ship: nothing shortened); once those
days have flowed, each further simulated day is landed (every source domain's files,
renamed into the landing zone at once) and the instance is watched for that day's
materializations: orders' Bronze events, Silver events, every orders Gold model, and
growth's churn scores. Each day is landed once the one before has reached growth.
"""

import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from bench.run import simulate
from platform_resources.mesh.dev_server import free_port, loaded_locations, serving, wait_for
from platform_resources.mesh.workspace import prepare_dagster_home

BIN = Path(sys.executable).parent
#: Days landed before the start, as ``make run`` does (its DEMO_DAYS).
DEMO_DAYS = 3
#: The milestones of a landed day, each the last of its assets to materialize the day.
MILESTONES = {
    "bronze": ["orders/bronze/events"],
    "silver": ["orders/silver/order_events"],
    "gold": [f"orders/gold/{m}" for m in ("daily_revenue", "orders_by_status", "product_sales")]
    + ["orders/gold/customer_daily_orders", "orders/gold/customer_daily_orders_v2"],
    "growth": ["growth/gold/churn_scores"],
}
#: Issue 20: landing -> Gold published, seconds.
LATENCY_TARGETS = {"p50": 60, "p95": 120}
START_TIMEOUT_S = 300  # dagster dev answering, then every location loaded
DAY_TIMEOUT_S = 600


def _log(message: str) -> None:
    print(f"[latency {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _land(source: Path, home: Path, day: dt.date) -> int:
    """Every domain's files of ``day`` moved from the simulated ``source`` into the landing zone."""
    moved = 0
    for folder in sorted(source.glob(f"landing/*/dt={day}")):
        target = home / folder.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        folder.rename(target)  # one rename: the sensor never sees a half-written day
        moved += sum(1 for _ in target.iterdir())
    return moved


def _materialized_after(instance: dg.DagsterInstance, key: str, day: dt.date, after: float) -> float | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey.from_user_string(key),
            asset_partitions=[day.isoformat()],
            after_timestamp=after,
        ),
        limit=1,
        ascending=True,
    ).records
    return records[0].timestamp if records else None


def _milestones(instance: dg.DagsterInstance, day: dt.date, landed: float) -> dict[str, float] | None:
    """Seconds from landing to each milestone of ``day``, once every one is reached."""
    seconds = {}
    for milestone, keys in MILESTONES.items():
        times = [_materialized_after(instance, key, day, landed) for key in keys]
        if None in times:
            return None
        seconds[milestone] = max(times) - landed
    return seconds


def _idle(instance: dg.DagsterInstance) -> bool | None:
    busy = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
        ),
        limit=1,
    )
    return None if busy else True


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "max": round(ordered[-1], 1)}


def _time_day(instance: dg.DagsterInstance, source: Path, home: Path, day: dt.date) -> dict:
    """Land ``day`` and wait for its milestones, then for its runs to finish."""
    landed = time.time()
    count = _land(source, home, day)
    reached = wait_for(
        lambda: _milestones(instance, day, landed), timeout_s=DAY_TIMEOUT_S, what=f"{day}", every_s=0.5
    )
    wait_for(lambda: _idle(instance), timeout_s=DAY_TIMEOUT_S, what=f"the runs of {day} to finish")
    return {"day": day.isoformat(), "files": count, **{k: round(v, 1) for k, v in reached.items()}}


def run_latency(out: Path, files: int, events_per_day: int) -> dict:
    """Seconds from landing to each milestone for ``files`` days landed one after another."""
    home, source = out / "latency", out / "latency-source"
    for folder in (home, source):
        shutil.rmtree(folder, ignore_errors=True)
    end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    days = [end - dt.timedelta(days=files - 1 - i) for i in range(files)]
    _log(f"simulating {DEMO_DAYS} demo days and {files} days to land, {events_per_day:,} events a day")
    # one simulated world (a customer registers once), its first days landed before the start
    simulate(source, DEMO_DAYS + files, events_per_day, end=end, domain=None)
    demo = [days[0] - dt.timedelta(days=DEMO_DAYS - i) for i in range(DEMO_DAYS)]
    for day in demo:
        _land(source, home, day)
    env = {
        **os.environ,
        "MESHHOUSE_HOME": str(home),
        "DAGSTER_HOME": str(prepare_dagster_home(home / "dagster")),
    }
    for variable in (
        "MESHHOUSE_SENSOR_INTERVAL_SECONDS",
        "MESHHOUSE_AUTOMATION_INTERVAL_SECONDS",
        "MESHHOUSE_STREAM_INTERVAL_SECONDS",
    ):
        env.pop(variable, None)  # the intervals a user gets
    subprocess.run([str(BIN / "meshhouse"), "servers", "up"], env=env, check=True, capture_output=True)
    port = free_port()
    command = [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    started = time.monotonic()
    per_day = []
    try:
        with serving(command, env, port, home / "dagster-dev.log", timeout_s=START_TIMEOUT_S):
            wait_for(lambda: loaded_locations(port), timeout_s=START_TIMEOUT_S, what="every location to load")
            startup = time.monotonic() - started
            _log(f"dagster dev serving every location after {startup:.0f} s; the demo days flowing")
            with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
                demo_last = days[0] - dt.timedelta(days=1)
                wait_for(
                    lambda: _milestones(instance, demo_last, 0.0),
                    timeout_s=DAY_TIMEOUT_S,
                    what="the demo days to reach growth",
                )
                wait_for(lambda: _idle(instance), timeout_s=DAY_TIMEOUT_S, what="the demo runs to finish")
                for i, day in enumerate(days):
                    per_day.append(_time_day(instance, source, home, day))
                    _log(f"day {i + 1}/{files}: {per_day[-1]}")
                runs = len(instance.get_runs())
    finally:
        subprocess.run([str(BIN / "meshhouse"), "servers", "down"], env=env, check=False, capture_output=True)
    return {
        "files": files,
        "events_per_day": events_per_day,
        "startup_s": round(startup, 1),
        "runs": runs,
        **{milestone: _percentiles([d[milestone] for d in per_day]) for milestone in MILESTONES},
        "days": per_day,
    }


def latency_markdown(report: dict) -> str:
    rows = ["| milestone | p50 s | p95 s | max s |", "|---|---|---|---|"]
    rows += [f"| {m} | {report[m]['p50']} | {report[m]['p95']} | {report[m]['max']} |" for m in MILESTONES]
    return "\n".join(
        [
            f"# Landing -> Gold latency ({report['files']} days of {report['events_per_day']:,} events "
            f"per domain, landed one after another; {report['runs']} runs)",
            "",
            *rows,
            "",
            f"dagster dev served every location {report['startup_s']} s after it started.",
            "",
        ]
    )
