"""``meshhouse bench``: the benchmark's command, added to the platform's CLI through the
``meshhouse.commands`` entry point (pyproject.toml), so the platform does not import it."""

import argparse
import json
from pathlib import Path

from platform_resources.core.settings import get_paths


def _bench(args: argparse.Namespace) -> int:
    from bench.run import run_bench  # imported here: the CLI's help stays quick

    out = Path(args.out) if args.out else get_paths().home / "bench"
    if args.sizes:
        sizes = [int(n) for n in args.sizes.split(",")]
    else:
        sizes = [20_000] if args.quick else [1_000_000, 5_000_000]
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


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench",
        help="benchmark Bronze -> Silver against the DuckDB limit and a pandas peer, and the stream path "
        "against raw JetStream",
    )
    bench.add_argument("--quick", action="store_true", help="a small run (a few minutes)")
    bench.add_argument("--json", action="store_true", help="print the summary as one JSON object, last")
    bench.add_argument("--reps", type=int, default=3, help="repetitions per variant (median reported)")
    bench.add_argument(
        "--sizes", help="events per day to measure, comma-separated (default 1M,5M; 20k with --quick)"
    )
    bench.add_argument("--backfill-days", type=int, help="days in the backfill run")
    bench.add_argument("--out", help="report folder (default $MESHHOUSE_HOME/bench)")
    bench.set_defaults(run=_bench)
