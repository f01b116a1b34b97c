"""The benchmark driver: data, repetitions, orchestration overhead, backfill, and the report.

Every figure is a ratio or a measurement from this one run (medians of the repetitions),
written as ``report.json``, ``report.md`` and ``chart.png`` under the output folder. The
last line printed with ``--json`` is one JSON object for scripts.
"""

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from platform_resources.ingest.landing import count_lines
from platform_resources.mesh.workspace import prepare_dagster_home

DAY = dt.date(2026, 11, 20)
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
#: Issue 20's targets: against the same-work limit at every size, the peer at the smallest.
TARGETS = {
    "ratio_to_limit": 0.8,
    "ratio_to_peer": 2.0,
    "peak_rss_mib_at_largest": 2048,
    "overhead_ratio": 1.0,
}
#: ``limit`` does the platform's work in hand-written DuckDB SQL, ``light_limit`` less of it
#: (bench/limit.py); ``peer`` is what a user would otherwise write (bench/peer.py).
VARIANTS = ("limit", "light_limit", "platform", "peer")
#: The peer holds a day as Python objects: beyond this size it would take the machine's memory.
PEER_MAX_EVENTS = 1_000_000
PROBE_EVENTS = 20_000


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _env(home: Path, dagster_home: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "MESHHOUSE_HOME": str(home)}
    if dagster_home:
        env["DAGSTER_HOME"] = str(dagster_home)
    return env


def simulate(
    home: Path, days: int, events_per_day: int, *, end: dt.date = DAY, domain: str | None = "orders"
) -> None:
    """``days`` simulated days ending ``end`` into ``home``'s landing zone, of one domain (None: all),
    unless it holds a landing zone already."""
    if (home / "landing").exists():
        return
    subprocess.run(
        [
            str(BIN / "meshhouse"),
            "simulate",
            *(("--domain", domain) if domain else ()),
            *("--days", str(days), "--end-date", end.isoformat()),
            *("--events-per-day", str(events_per_day)),
        ],
        env=_env(home),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _landing_lines(home: Path) -> int:
    return sum(count_lines(p) for p in (home / "landing" / "orders" / f"dt={DAY}").iterdir())


def _simulated_events(out: Path, size: int) -> int:
    """Events to simulate so that about ``size`` lines land on the benchmark day.

    The simulator counts the events of the orders created each day; on the last day of a
    run only part of them land (later status changes fall after it). A small probe day
    gives the share.
    """
    probe = out / "probe"
    simulate(probe, 1, PROBE_EVENTS)
    return round(size * PROBE_EVENTS / _landing_lines(probe))


def _variant(name: str, home: Path) -> dict:
    """One run of a variant in its own process: its figures, and the seconds outside its work
    (interpreter, imports, loading the location: start-up)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.variants", name, DAY.isoformat()],
        env=_env(home),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"bench variant {name} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {**figures, "startup_seconds": time.perf_counter() - started - figures["seconds"]}


def _dagster(home: Path, dagster_home: Path, args: list[str]) -> float:
    """Seconds a ``dagster`` command on the orders location takes."""
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "dagster"), *args, "-m", "domains.orders.definitions"],
        env=_env(home, dagster_home),
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _runs(dagster_home: Path) -> int:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        return len(instance.get_runs())


def _stream(out: Path, events: int, rate: float) -> dict:
    """The stream path against raw JetStream (``bench.stream``), on servers of its own home."""
    home = out / "stream"
    if home.exists():  # the outbox would skip events recorded by an earlier run
        subprocess.run(
            [str(BIN / "meshhouse"), "servers", "down"], env=_env(home), check=False, capture_output=True
        )
        shutil.rmtree(home)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.stream", str(events), str(rate)],
            env=_env(home),
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        subprocess.run(
            [str(BIN / "meshhouse"), "servers", "down"], env=_env(home), check=False, capture_output=True
        )
    if done.returncode:
        raise RuntimeError(f"bench stream failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_bench(
    out: Path,
    sizes: list[int],
    reps: int,
    backfill_days: int,
    backfill_events: int,
    stream_events: int = 2_000,
    stream_rate: float = 200.0,
) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "reps": reps,
        "sizes": {},
    }
    for size in sizes:
        home = out / f"events-{size}"
        _log(f"{size:,} events/day: simulating")
        simulate(home, 1, _simulated_events(out, size))
        figures: dict = {}
        for variant in VARIANTS:
            if variant == "peer" and size > PEER_MAX_EVENTS:
                continue
            runs = []
            for rep in range(reps):
                _log(f"{size:,} events/day: {variant} {rep + 1}/{reps}")
                runs.append(_variant(variant, home))
            figures[variant] = {
                "events_per_s": statistics.median(r["events_per_s"] for r in runs),
                "seconds": statistics.median(r["seconds"] for r in runs),
                "startup_seconds": statistics.median(r["startup_seconds"] for r in runs),
                "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
                "lines": runs[0]["lines"],
                "repetitions": reps,
                **{k: runs[0][k] for k in ("silver_rows", "items", "quarantined") if k in runs[0]},
            }
        platform = figures["platform"]
        for reference in ("limit", "light_limit", "peer"):
            if reference in figures:
                ratio = platform["events_per_s"] / figures[reference]["events_per_s"]
                platform[f"ratio_to_{reference}"] = ratio
        report["sizes"][str(size)] = figures
        _log(
            f"{size:,} events/day: platform {platform['events_per_s']:,.0f} ev/s, "
            f"{platform['ratio_to_limit']:.2f}x the limit"
        )

    first = out / f"events-{sizes[0]}"
    _log("orchestration overhead: the same day through `dagster asset materialize`")
    select = ",".join(
        f"orders/{key}"
        for key in (
            "bronze/events",
            "bronze/quarantine",
            "silver/order_events",
            "silver/order_items",
            "silver/rejected",
        )
    )
    cli_seconds = _dagster(
        first,
        prepare_dagster_home(first / "dagster"),
        ["asset", "materialize", "--select", select, "--partition", DAY.isoformat()],
    )
    compute = report["sizes"][str(sizes[0])]["platform"]["seconds"]
    report["overhead"] = {
        "events": sizes[0],
        "cli_seconds": cli_seconds,
        "compute_seconds": compute,
        "overhead_seconds_per_partition": cli_seconds - compute,
        "overhead_ratio": (cli_seconds - compute) / compute,
    }

    backfill = out / "backfill"
    _log(f"backfill: {backfill_days} days x {backfill_events:,} events as one run, landing to Gold")
    simulate(backfill, backfill_days, backfill_events)
    dagster_home = prepare_dagster_home(backfill / "dagster")
    start = DAY - dt.timedelta(days=backfill_days - 1)
    range_tags = {
        "dagster/asset_partition_range_start": str(start),
        "dagster/asset_partition_range_end": str(DAY),
    }
    seconds = _dagster(
        backfill, dagster_home, ["job", "execute", "-j", "orders_daily", "--tags", json.dumps(range_tags)]
    )
    report["backfill"] = {
        "days": backfill_days,
        "events_per_day": backfill_events,
        "seconds": seconds,
        "seconds_per_partition": seconds / backfill_days,
        "runs": _runs(dagster_home),
    }
    _log(f"stream: {stream_events:,} events outbox -> stream Bronze, against raw JetStream publish + consume")
    report["stream"] = _stream(out, stream_events, stream_rate)
    report["summary"] = summarize(report)
    write_report(report, out)
    return report


def summarize(report: dict) -> dict:
    sizes = report["sizes"]
    smallest, largest = sizes[min(sizes, key=int)], sizes[max(sizes, key=int)]
    platform = smallest["platform"]
    by_size = {size: figures["platform"]["ratio_to_limit"] for size, figures in sizes.items()}
    summary = {
        "events_per_s": round(platform["events_per_s"]),
        "startup_s": round(platform["startup_seconds"], 2),
        "ratio_to_limit": round(min(by_size.values()), 3),
        "ratio_to_limit_by_size": {size: round(ratio, 3) for size, ratio in by_size.items()},
        "ratio_to_light_limit": round(platform["ratio_to_light_limit"], 3),
        "ratio_to_peer": round(platform.get("ratio_to_peer", float("nan")), 3),
        "peak_rss_mib": largest["platform"]["peak_rss_mib"],
        "overhead_ratio": round(report["overhead"]["overhead_ratio"], 3),
        "backfill_runs": report["backfill"]["runs"],
        "stream_events_per_s": round(report["stream"]["platform"]["events_per_s"]),
        "stream_ratio_to_limit": round(report["stream"]["ratio_to_limit"], 3),
        "stream_latency_s": report["stream"]["platform"]["latency_s"],
        "stream_limit_latency_s": report["stream"]["limit"]["latency_s"],
    }
    summary["targets_met"] = {
        "ratio_to_limit": summary["ratio_to_limit"] >= TARGETS["ratio_to_limit"],
        "ratio_to_peer": summary["ratio_to_peer"] >= TARGETS["ratio_to_peer"],
        "peak_rss": summary["peak_rss_mib"] <= TARGETS["peak_rss_mib_at_largest"],
        "overhead": summary["overhead_ratio"] <= TARGETS["overhead_ratio"],
        "backfill_one_run": summary["backfill_runs"] == 1,
    }
    return summary


def write_report(report: dict, out: Path) -> None:
    (out / "report.json").write_text(json.dumps(report, indent=2))
    rows = [
        "| events/day | lines | variant | runs | events/s | seconds | start-up s | peak RSS MiB "
        "| x limit | x light limit | x peer |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratio_keys = ("ratio_to_limit", "ratio_to_light_limit", "ratio_to_peer")
    for size, figures in report["sizes"].items():
        for variant, f in figures.items():
            ratios = [f"{f[k]:.2f}" if k in f else "" for k in ratio_keys]
            cells = [
                f"{int(size):,}",
                f"{f['lines']:,}",
                variant,
                str(f["repetitions"]),
                f"{f['events_per_s']:,.0f}",
                f"{f['seconds']:.1f}",
                f"{f['startup_seconds']:.1f}",
                f"{f['peak_rss_mib']:,}",
                *ratios,
            ]
            rows.append("| " + " | ".join(cells) + " |")
    o, b, s = report["overhead"], report["backfill"], report["summary"]
    lines = [
        f"# Benchmark report ({report['date']}, {report['cores']} cores, median of the runs)",
        "",
        *rows,
        "",
        f"Orchestration overhead at {o['events']:,} events: `dagster asset materialize` "
        f"{o['cli_seconds']:.1f} s against {o['compute_seconds']:.1f} s of compute: "
        f"{o['overhead_seconds_per_partition']:.1f} s per partition "
        f"({o['overhead_ratio']:.2f}x the compute).",
        "",
        f"Backfill: {b['days']} days x {b['events_per_day']:,} events, landing to Gold, in "
        f"{b['runs']} run(s), {b['seconds']:.0f} s ({b['seconds_per_partition']:.1f} s per partition).",
        "",
        _stream_line(report["stream"]),
        "",
        "Targets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in s["targets_met"].items()),
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
    _chart(report, out / "chart.png")


def _stream_line(stream: dict) -> str:
    platform, limit = stream["platform"], stream["limit"]
    lat, raw = platform["latency_s"], limit["latency_s"]
    return (
        f"Stream path, {stream['events']:,} events: outbox -> stream Bronze "
        f"{platform['events_per_s']:,.0f} events/s "
        f"(relay {platform['relay_events_per_s']:,.0f}/s, consumer {platform['ingest_events_per_s']:,.0f}/s) "
        f"against raw JetStream publish + consume {limit['events_per_s']:,.0f}/s "
        f"({stream['ratio_to_limit']:.2f}x the limit); at {stream['rate']:,.0f} events/s, outbox commit to "
        f"stream Bronze p50 {lat['p50']:.2f} s, p99 {lat['p99']:.2f} s (raw publish to receipt p50 "
        f"{raw['p50']:.3f} s, p99 {raw['p99']:.3f} s)."
    )


def _chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    sizes = list(report["sizes"])
    variants = VARIANTS
    width = 0.8 / len(variants)
    for i, variant in enumerate(variants):
        values = [report["sizes"][s].get(variant, {}).get("events_per_s", 0) for s in sizes]
        ax.bar([x + i * width for x in range(len(sizes))], values, width, label=variant)
    ax.set_xticks([x + width for x in range(len(sizes))], [f"{int(s):,} events/day" for s in sizes])
    ax.set_ylabel("events per second (median)")
    ax.set_title("Bronze -> Silver throughput: platform vs the DuckDB limits vs a pandas peer")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
