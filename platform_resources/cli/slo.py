"""`meshhouse slo report`: SLO attainment, error budgets, breaches and adoption from the instance."""

import argparse
from pathlib import Path


def _slo_report(args: argparse.Namespace) -> int:
    from platform_resources.cli.instance import dagster_instance
    from platform_resources.mesh.workspace import workspace_contracts, workspace_definitions
    from platform_resources.slo.report import slo_report, summary_rows
    from platform_resources.slo.report_files import write_slo_report

    report = slo_report(dagster_instance(), workspace_contracts(), workspace_definitions(), args.days)
    index = write_slo_report(report, Path(args.out))
    rows = summary_rows(report)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"slo report: {len(report.products)} products over {report.window_days} days")
    print(f"open {index.resolve()}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    slo = commands.add_parser("slo", help="service level objectives").add_subparsers(
        dest="action", required=True
    )
    report = slo.add_parser(
        "report", help="attainment, error budget left, breaches and adoption per domain and product"
    )
    report.add_argument("--out", required=True, help="folder to write the report into")
    report.add_argument("--days", type=int, default=30, help="the window, in days before now")
    report.set_defaults(run=_slo_report)
