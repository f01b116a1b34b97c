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


def _query(args: argparse.Namespace) -> int:
    import duckdb

    from platform_resources.access_policies import AccessDenied, AccessPolicyError
    from platform_resources.secure_reader import referenced_tables, secure_connection

    try:
        con = secure_connection(args.role, referenced_tables(args.sql), query=args.sql)
        relation = con.sql(args.sql)
        if relation is not None:
            relation.show(max_rows=args.max_rows, max_width=args.max_width)
    except (AccessPolicyError, AccessDenied) as exc:
        print(f"query: {exc}", file=sys.stderr)
        return 2
    except duckdb.Error as exc:
        print(f"query: {exc}", file=sys.stderr)
        return 1
    return 0


def _requester(args: argparse.Namespace) -> str:
    import getpass

    return args.requested_by or getpass.getuser()


def _gdpr_erase(args: argparse.Namespace) -> int:
    from platform_resources.gdpr_erasure import erase_subject, preview_erasure
    from platform_resources.gdpr_subject import UnknownSubject

    try:
        if args.dry_run:
            for name, count in sorted(preview_erasure(args.subject).items()):
                print(f"  {name:<44} {count:>8,} would be erased")
            return 0
        report = erase_subject(args.subject, requested_by=_requester(args))
    except UnknownSubject as exc:
        print(f"gdpr erase: {exc}", file=sys.stderr)
        return 2
    removed = sum(report.table_rows_removed.values())
    print(
        f"erasure {report.request_id} (subject {report.subject_reference}): "
        f"{sum(report.landing_lines_removed.values())} landing lines, {removed} rows in "
        f"{len(report.table_rows_removed)} tables, {sum(report.port_rows_removed.values())} port rows, "
        f"{report.stream_messages_purged} stream messages; {report.snapshots_expired} snapshots expired, "
        f"{report.files_deleted} files deleted"
    )
    for identifier, rows in sorted(report.table_rows_removed.items()):
        print(f"  {identifier:<44} {rows:>8,} rows")
    if not report.verified:
        print(f"NOT VERIFIED: {len(report.findings)} file(s) still mention the subject:", file=sys.stderr)
        for finding in report.findings:
            print(f"  {finding}", file=sys.stderr)
        return 1
    print("verified: no file under the home mentions the subject")
    return 0


def _gdpr_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from platform_resources.access_policies import AccessPolicyError
    from platform_resources.gdpr_export import export_for_role, write_export
    from platform_resources.gdpr_subject import UnknownSubject

    try:
        export = export_for_role(args.subject, args.role, _requester(args))
    except (AccessPolicyError, UnknownSubject) as exc:
        print(f"gdpr export: {exc}", file=sys.stderr)
        return 2
    out = write_export(export, Path(args.out))
    rows = sum(len(r) for r in export["products"].values())
    detokenized = "detokenized" if export["detokenized"] else "tokens kept"
    print(f"{rows} rows from {len(export['products'])} products ({detokenized}) -> {out}")
    return 0


def _gdpr_request(args: argparse.Namespace) -> int:
    from platform_resources.gdpr_requests import file_request

    request = file_request(args.kind, args.subject, _requester(args), args.role)
    print(f"{request.kind} request {request.request_id} filed; the platform's gdpr job serves it")
    return 0


def _storage_encrypt(_: argparse.Namespace) -> int:
    from platform_resources.storage_encryption import encrypt_buckets

    encrypted = encrypt_buckets()
    if not encrypted:
        print("nothing to do: no S3 bucket configured in production mode (MESHHOUSE_ENV=production)")
    for bucket, algorithm in encrypted.items():
        print(f"s3://{bucket}: default encryption {algorithm}")
    return 0


def _add_gdpr_commands(commands: argparse._SubParsersAction) -> None:
    gdpr = commands.add_parser("gdpr", help="data subject requests: erasure and portability").add_subparsers(
        dest="action", required=True
    )
    erase = gdpr.add_parser("erase", help="remove a subject from every layer, domain and file, now")
    erase.add_argument("--dry-run", action="store_true", help="count what would be erased, delete nothing")
    export = gdpr.add_parser("export", help="write a subject's data across domains as JSON")
    export.add_argument(
        "--role", required=True, help="the reader (access_policies.yaml); entitled: raw values"
    )
    export.add_argument("--out", required=True, help="the JSON file to write")
    request = gdpr.add_parser("request", help="file a request for the platform's gdpr job (Dagster)")
    request.add_argument("kind", choices=["erase", "export"])
    request.add_argument("--role", help="an export's reader")
    for parser in (erase, export, request):
        parser.add_argument("--subject", required=True, help="the customer's userId")
        parser.add_argument("--requested-by", help="who asked (default: the OS user)")
    erase.set_defaults(run=_gdpr_erase)
    export.set_defaults(run=_gdpr_export)
    request.set_defaults(run=_gdpr_request)


def _maintenance_run(args: argparse.Namespace) -> int:
    from platform_resources.catalog import load_catalog
    from platform_resources.table_maintenance import MaintenancePolicy, maintain_catalog, maintenance_totals

    options = {
        "snapshot_days": args.snapshot_days,
        "retain_last": args.retain_last,
        "orphan_days": args.orphan_days,
        "compact_min_files": args.min_files,
        "target_file_bytes": args.target_file_mb * 1024 * 1024 if args.target_file_mb else None,
    }
    policy = MaintenancePolicy(**{name: value for name, value in options.items() if value is not None})
    done, failed = [], 0
    for identifier, result in maintain_catalog(load_catalog(), policy, dt.datetime.now(dt.UTC)):
        if isinstance(result, Exception):
            print(f"{identifier}: FAILED {result!r}")
            failed += 1
        else:
            print(result.summary())
            done.append(result)
    print("maintenance: " + ", ".join(f"{k} {v:,}" for k, v in maintenance_totals(done).items()))
    return 1 if failed else 0


def _retention_run(args: argparse.Namespace) -> int:
    from platform_resources.catalog import load_catalog
    from platform_resources.retention import apply_retention, retain_files, retention_totals
    from platform_resources.workspace import products_by_table

    products = products_by_table()
    today = dt.datetime.now(dt.UTC).date()
    files = retain_files(products, today, dry_run=args.dry_run)
    done = []
    for result in apply_retention(load_catalog(), products, today, dry_run=args.dry_run):
        print(result.summary())
        done.append(result)
    totals = ", ".join(f"{k} {v:,}" for k, v in {**retention_totals(done), **files}.items())
    print(f"retention{' (dry run, nothing deleted)' if args.dry_run else ''}: {totals}")
    return 0


def _add_maintenance_commands(commands: argparse._SubParsersAction) -> None:
    maintenance = commands.add_parser("maintenance", help="Iceberg table upkeep").add_subparsers(
        dest="action", required=True
    )
    run = maintenance.add_parser(
        "run", help="compact small files, expire old snapshots with their files, sweep orphans, every table"
    )
    run.add_argument("--snapshot-days", type=int, help="keep snapshots this young (default 7)")
    run.add_argument("--retain-last", type=int, help="and at least this many newest snapshots (default 1)")
    run.add_argument("--orphan-days", type=int, help="spare unreferenced files this young (default 3)")
    run.add_argument("--min-files", type=int, help="compact a partition with more small files (default 5)")
    run.add_argument("--target-file-mb", type=int, help="size of compacted files (default 128)")
    run.set_defaults(run=_maintenance_run)
    retention = commands.add_parser("retention", help="data retention by tier").add_subparsers(
        dest="action", required=True
    )
    retention_run = retention.add_parser(
        "run", help="delete each table's partitions past its retention tier, and their files"
    )
    retention_run.add_argument("--dry-run", action="store_true", help="report what would go, delete nothing")
    retention_run.set_defaults(run=_retention_run)


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
    query = commands.add_parser(
        "query", help="run SQL over the products as a role sees them (access_policies.yaml)"
    )
    query.add_argument("--role", required=True, help="the role to read as, e.g. analyst")
    query.add_argument("--max-rows", type=int, default=40, help="rows to print at most")
    query.add_argument("--max-width", type=int, default=200, help="characters per printed line at most")
    query.add_argument("sql", help='DuckDB SQL over tables named <domain>.<layer>_<name>, e.g. "SELECT ..."')
    query.set_defaults(run=_query)
    _add_gdpr_commands(commands)
    storage = commands.add_parser("storage", help="the S3 buckets").add_subparsers(
        dest="action", required=True
    )
    storage.add_parser(
        "encrypt", help="set default server-side encryption on every configured bucket (production)"
    ).set_defaults(run=_storage_encrypt)
    _add_maintenance_commands(commands)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".* is currently in beta")  # Dagster's, on every load
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
