"""``meshhouse bench``: the benchmark's command, added to the platform's CLI through the
``meshhouse.commands`` entry point (pyproject.toml), so the platform does not import it."""

import argparse
import json
from pathlib import Path

from platform_resources.core.settings import get_paths

#: ``--quick``'s day: large enough that throughput, not start-up, dominates the figures.
QUICK_EVENTS = 200_000


def _bench(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else get_paths().home / "bench"
    if args.latency:
        return _latency(args, out)
    from bench.run import run_bench  # imported here: the CLI's help stays quick

    if args.sizes:
        sizes = [int(n) for n in args.sizes.split(",")]
    else:
        sizes = [QUICK_EVENTS] if args.quick else [1_000_000, 5_000_000]
    report = run_bench(
        out,
        sizes=sizes,
        reps=1 if args.quick else args.reps,
        backfill_days=args.backfill_days or (3 if args.quick else 30),
        backfill_events=2_000 if args.quick else 5_000,
        stream_events=2_000 if args.quick else 20_000,
    )
    print((out / "report.md").read_text())
    if args.json:
        print(json.dumps(report["summary"]))
    return 0


def _latency(args: argparse.Namespace, out: Path) -> int:
    from bench.latency import LATENCY_TARGETS, latency_markdown, run_latency

    out.mkdir(parents=True, exist_ok=True)
    report = run_latency(out, files=args.files, events_per_day=args.events_per_day)
    (out / "latency.json").write_text(json.dumps(report, indent=2))
    (out / "latency.md").write_text(latency_markdown(report))
    print((out / "latency.md").read_text())
    if args.json:
        summary = {k: v for k, v in report.items() if k != "days"}
        summary["targets_met"] = {
            f"gold_{p}": report["gold"][p] < limit for p, limit in LATENCY_TARGETS.items()
        }
        print(json.dumps(summary))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench",
        help="benchmark Bronze -> Silver against the DuckDB limit and a pandas peer, and the stream path "
        "against raw JetStream",
    )
    bench.add_argument(
        "--quick", action="store_true", help=f"one run of a {QUICK_EVENTS:,}-event day (under 3 minutes)"
    )
    bench.add_argument("--json", action="store_true", help="print the summary as one JSON object, last")
    bench.add_argument("--reps", type=int, default=3, help="repetitions per variant (median reported)")
    bench.add_argument(
        "--sizes", help="events per day to measure, comma-separated (default 1M,5M; 200k with --quick)"
    )
    bench.add_argument("--backfill-days", type=int, help="days in the backfill run")
    bench.add_argument("--out", help="report folder (default $MESHHOUSE_HOME/bench)")
    bench.add_argument(
        "--latency",
        action="store_true",
        help="instead: seconds from landing a day to Bronze, Silver, Gold and growth on the embedded "
        "default (dagster dev, sensors, daemon), p50/p95 over --files days",
    )
    bench.add_argument("--files", type=int, default=5, help="days landed one after another (--latency)")
    bench.add_argument(
        "--events-per-day", type=int, default=5_000, help="events per domain and day landed (--latency)"
    )
    bench.set_defaults(run=_bench)
