"""`meshhouse simulate`, `demo`, `summary` and `dbt-prepare`: landing data, the headless run
of every location, and the dbt projects prepared from the contracts."""

import argparse
import datetime as dt
import time


def _simulate(args: argparse.Namespace) -> int:
    from platform_resources.ingest.landing import landing_files
    from platform_resources.mesh.workspace import domain_module, simulated_domains
    from platform_resources.simulate.landing_faults import FaultRates, day_range

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
    from platform_resources.cli.demo import run_demo

    _simulate(args)
    return run_demo()


def _summary(_: argparse.Namespace) -> int:
    from platform_resources.cli.demo import print_summary

    print_summary()
    return 0


def _dbt_prepare(_: argparse.Namespace) -> int:
    from platform_resources.core.keys import REPO_ROOT
    from platform_resources.mesh.workspace import domain_module, domain_names
    from platform_resources.products.dbt_model_contracts import prepare_project

    for domain in domain_names():
        project_dir = REPO_ROOT / "dbt" / domain
        if (project_dir / "dbt_project.yml").exists():
            manifest = prepare_project(project_dir, domain_module(domain, "contracts").CONTRACTS.values())
            print(
                f"{domain}: model properties generated from the contracts, {manifest.relative_to(REPO_ROOT)}"
            )
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


def register(commands: argparse._SubParsersAction) -> None:
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
    dbt = commands.add_parser(
        "dbt-prepare", help="generate each dbt project's model contracts from the data contracts, and parse"
    )
    dbt.set_defaults(run=_dbt_prepare)
