"""The ``meshhouse`` command: simulate landing data, run the headless demo, summarize the lakehouse.

Heavy libraries (dagster, dbt) are imported inside the commands that need them, so
``meshhouse --help`` and ``meshhouse simulate`` start quickly.
"""

import argparse
import datetime as dt
import json
import sys
import time
import warnings


def _simulate(args: argparse.Namespace) -> int:
    from platform_resources.landing import landing_files
    from platform_resources.simulation import FaultRates, day_range
    from platform_resources.workspace import domain_module, simulated_domains

    days = day_range(args.days, dt.date.fromisoformat(args.end_date) if args.end_date else None)
    rates = FaultRates(redelivery=args.redelivery_rate, late=args.late_rate, malformed=args.malformed_rate)
    for domain in args.domain or simulated_domains():
        if args.if_empty and landing_files(domain):
            print(f"{domain}: landing zone already has data; nothing simulated (--if-empty)")
            continue
        started = time.perf_counter()
        counts = domain_module(domain, "simulate").simulate(days, args.events_per_day, args.seed, rates)
        seconds = time.perf_counter() - started
        print(
            f"{domain}: {counts['events']:,} events over {days[0]}..{days[-1]} "
            f"(+{counts['redelivered']:,} redelivered, {counts['late']:,} late, "
            f"{counts['malformed']:,} malformed) "
            f"in {seconds:.1f} s = {counts['events'] / seconds:,.0f} events/s"
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from platform_resources.demo import run_demo

    _simulate(args)
    return run_demo()


def _summary(_: argparse.Namespace) -> int:
    from platform_resources.demo import print_summary

    print_summary()
    return 0


def _bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.run import run_bench
    from platform_resources.settings import get_paths

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
    )
    print((out / "report.md").read_text())
    if args.json:
        print(json.dumps(report["summary"]))
    return 0


def _dbt_prepare(_: argparse.Namespace) -> int:
    from platform_resources.dbt_contracts import prepare_project
    from platform_resources.workspace import REPO_ROOT, domain_module, domain_names

    for domain in domain_names():
        project_dir = REPO_ROOT / "dbt" / domain
        if (project_dir / "dbt_project.yml").exists():
            manifest = prepare_project(project_dir, domain_module(domain, "contracts").CONTRACTS.values())
            print(
                f"{domain}: model properties generated from the contracts, {manifest.relative_to(REPO_ROOT)}"
            )
    return 0


def _contracts_check(args: argparse.Namespace) -> int:
    from platform_resources.contract_changes import compare_all, consumers_by_uri, violations
    from platform_resources.contracts import ContractError
    from platform_resources.ports import pins_compared_with
    from platform_resources.workspace import contracts_at, workspace_contracts, workspace_definitions

    try:
        base, head = contracts_at(args.base), workspace_contracts()
    except ContractError as exc:
        print(f"contracts check: {exc}")
        return 2
    changes = compare_all(base, head)
    with pins_compared_with(base):  # consumers as written, even where a change broke their pins
        consumers = consumers_by_uri(workspace_definitions())
    failures = violations(changes, consumers)
    failing = {id(v.change) for v in failures}
    print(f"contracts check: {len(head)} product versions against {args.base} ({len(base)})")
    for change in changes:
        if id(change) in failing:
            continue
        kind = f"breaking for {change.breaks}, no other domain reads it" if change.breaking else "compatible"
        column = f" column {change.column!r}:" if change.column else ""
        print(f"  {kind}: {change.uri}{column} {change.description}")
    for violation in failures:
        print(f"  BREAKING: {violation.message()}")
    print(
        f"{len(failures)} breaking change(s) reach a consumer"
        if failures
        else "no breaking change reaches a consumer"
    )
    return 1 if failures else 0


def _governance_check(_: argparse.Namespace) -> int:
    from platform_resources.governance import lint
    from platform_resources.workspace import workspace_contracts, workspace_definitions

    defs, contracts = workspace_definitions(), workspace_contracts().values()
    violations = lint(defs, contracts)
    for violation in violations:
        print(violation)
    products = sum(1 for c in contracts if c.layer != "bronze")
    print(
        f"governance check: {len(violations)} violation(s) over {len(defs)} code locations "
        f"and {products} product versions"
    )
    return 1 if violations else 0


def _catalog(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    import dagster as dg

    from platform_resources.catalog_site import build_catalog, failed_sample_queries

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    products = build_catalog(Path(args.out), instance)
    queries = [q for p in products for q in p["sample_queries"]]
    failed = failed_sample_queries(products)
    print(
        f"catalog: {len(products)} products, {len(queries) - len(failed)} of {len(queries)} "
        f"sample queries ran; open {Path(args.out).resolve() / 'index.html'}"
    )
    for failure in failed:
        print(f"  sample query failed: {failure}")
    return 0


def _slo_report(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    if not os.environ.get("DAGSTER_HOME"):
        print(
            "slo report: DAGSTER_HOME is not set; the report reads check evaluations and "
            "materializations from a Dagster instance (e.g. DAGSTER_HOME=$MESHHOUSE_HOME/dagster)",
            file=sys.stderr,
        )
        return 2

    import dagster as dg

    from platform_resources.slo_report import slo_report, summary_rows, write_slo_report
    from platform_resources.workspace import workspace_contracts, workspace_definitions

    report = slo_report(dg.DagsterInstance.get(), workspace_contracts(), workspace_definitions(), args.days)
    index = write_slo_report(report, Path(args.out))
    rows = summary_rows(report)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"slo report: {len(report.products)} products over {report.window_days} days")
    print(f"open {index.resolve()}")
    return 0


def _add_simulation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--domain", action="append", help="domain to simulate (repeatable; default: all)")
    parser.add_argument("--days", type=int, default=3, help="number of days, ending with --end-date")
    parser.add_argument("--end-date", help="last day, YYYY-MM-DD (default: yesterday, UTC)")
    parser.add_argument("--events-per-day", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--redelivery-rate", type=float, default=0.01, help="share of events delivered twice")
    parser.add_argument("--late-rate", type=float, default=0.02, help="share of events in a late file")
    parser.add_argument("--malformed-rate", type=float, default=0.005, help="share of extra malformed lines")
    parser.add_argument("--if-empty", action="store_true", help="only if the domain's landing zone is empty")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meshhouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    simulate = commands.add_parser("simulate", help="write seed-002 events into the landing zone")
    _add_simulation_options(simulate)
    simulate.set_defaults(run=_simulate)
    demo = commands.add_parser(
        "demo", help="simulate (if empty), materialize every asset for the landed days, print a summary"
    )
    _add_simulation_options(demo)
    demo.set_defaults(run=_demo, if_empty=True)
    summary = commands.add_parser("summary", help="rows per table and day, and quarantine reasons")
    summary.set_defaults(run=_summary)
    bench = commands.add_parser(
        "bench", help="benchmark Bronze -> Silver against the DuckDB limit and a pandas peer"
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
    dbt = commands.add_parser(
        "dbt-prepare", help="generate each dbt project's model contracts from the data contracts, and parse"
    )
    dbt.set_defaults(run=_dbt_prepare)
    contracts = commands.add_parser("contracts", help="data contract tools").add_subparsers(
        dest="action", required=True
    )
    check = contracts.add_parser(
        "check", help="compare every contract with a git ref; fail on breaking changes consumers would see"
    )
    check.add_argument("--base", required=True, help="git ref to compare with, e.g. origin/main or HEAD~1")
    check.set_defaults(run=_contracts_check)
    catalog = commands.add_parser("catalog", help="write the static data catalog (HTML pages and index.json)")
    catalog.add_argument("--out", required=True, help="folder to write the catalog into")
    catalog.set_defaults(run=_catalog)
    slo = commands.add_parser("slo", help="service level objectives").add_subparsers(
        dest="action", required=True
    )
    report = slo.add_parser(
        "report", help="attainment, error budget left, breaches and adoption per domain and product"
    )
    report.add_argument("--out", required=True, help="folder to write the report into")
    report.add_argument("--days", type=int, default=30, help="the window, in days before now")
    report.set_defaults(run=_slo_report)
    governance = commands.add_parser("governance", help="federated governance rules").add_subparsers(
        dest="action", required=True
    )
    governance.add_parser(
        "check", help="fail, listing every violation, when a product breaks a governance rule"
    ).set_defaults(run=_governance_check)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".* is currently in beta")  # Dagster's, on every load
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
