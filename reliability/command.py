"""``meshhouse reliability``: the fault-injection suite, a table of trials and a JSON summary."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

KINDS = ("crash", "concurrency", "services", "fuzz")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "reliability", help="kill, race and fuzz the platform; report what was lost, duplicated or torn"
    )
    parser.add_argument("--quick", action="store_true", help="a short selection of the trials (make test)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {', '.join(KINDS)}")
    parser.add_argument("--crashes", type=int, help="crash trials (default 20; 2 with --quick)")
    parser.add_argument(
        "--fuzz-seconds", type=int, help="the fuzzer's time budget (default 60; 10 with --quick)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", help="folder for the trials' homes (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object, last")
    parser.set_defaults(run=_reliability)


def _reliability(args: argparse.Namespace) -> int:
    from reliability.concurrency import concurrency_trials
    from reliability.crash import crash_trials
    from reliability.fuzz import fuzz_trial
    from reliability.services import services_trials
    from reliability.trials import Report, summary

    kinds = [k for k in args.kinds.split(",") if k]
    if unknown := set(kinds) - set(KINDS):
        raise SystemExit(f"unknown trial kinds: {', '.join(sorted(unknown))} (known: {', '.join(KINDS)})")
    crashes = args.crashes if args.crashes is not None else (2 if args.quick else 20)
    fuzz_seconds = args.fuzz_seconds if args.fuzz_seconds is not None else (10 if args.quick else 60)
    report = Report()
    with tempfile.TemporaryDirectory(prefix="meshhouse-reliability-") as scratch:
        work = Path(args.work or scratch)
        if "crash" in kinds:
            for trial in crash_trials(work / "crash", crashes, args.seed):
                report.add(trial)
        if "concurrency" in kinds:
            for trial in concurrency_trials(work / "concurrency", quick=args.quick):
                report.add(trial)
        if "services" in kinds:
            for trial in services_trials(work / "services", quick=args.quick, seed=args.seed):
                report.add(trial)
        if "fuzz" in kinds:
            report.add(fuzz_trial(work / "fuzz", fuzz_seconds))
    print(report.table())
    totals = summary(report.trials)
    print(
        f"{totals['passed']} of {totals['trials']} trials passed; lost {totals['lost']}, "
        f"duplicated {totals['duplicated']}, torn reads {totals['torn_reads']}"
    )
    if args.json:
        print(report.summary_json())
    return 0 if totals["passed"] == totals["trials"] else 1
