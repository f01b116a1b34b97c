"""`meshhouse query` (SQL as a role sees it) and `meshhouse gdpr` (erasure, export, requests)."""

import argparse
import sys
from pathlib import Path


def _query(args: argparse.Namespace) -> int:
    import duckdb

    from platform_resources.privacy.access_policies import AccessDenied, AccessPolicyError
    from platform_resources.privacy.secure_reader import referenced_tables, secure_connection

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
    from platform_resources.gdpr.erasure import erase_subject, preview_erasure
    from platform_resources.gdpr.subject import UnknownSubject

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
    from platform_resources.gdpr.export import export_for_role, write_export
    from platform_resources.gdpr.subject import UnknownSubject
    from platform_resources.privacy.access_policies import AccessPolicyError

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
    from platform_resources.gdpr.requests import file_request

    request = file_request(args.kind, args.subject, _requester(args), args.role)
    print(f"{request.kind} request {request.request_id} filed; the platform's gdpr job serves it")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    query = commands.add_parser(
        "query", help="run SQL over the products as a role sees them (access_policies.yaml)"
    )
    query.add_argument("--role", required=True, help="the role to read as, e.g. analyst")
    query.add_argument("--max-rows", type=int, default=40, help="rows to print at most")
    query.add_argument("--max-width", type=int, default=200, help="characters per printed line at most")
    query.add_argument("sql", help='DuckDB SQL over tables named <domain>.<layer>_<name>, e.g. "SELECT ..."')
    query.set_defaults(run=_query)
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
