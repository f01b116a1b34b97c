"""`meshhouse maintenance run`, `retention run` and `storage encrypt`: the tables and buckets kept
in shape."""

import argparse
import datetime as dt


def _maintenance_run(args: argparse.Namespace) -> int:
    from platform_resources.products.output_ports import sweep_port_temporaries
    from platform_resources.storage.catalog import load_catalog
    from platform_resources.upkeep.table_maintenance import (
        MaintenancePolicy,
        maintain_catalog,
        maintenance_totals,
    )

    options = {
        "snapshot_days": args.snapshot_days,
        "retain_last": args.retain_last,
        "orphan_days": args.orphan_days,
        "compact_min_files": args.min_files,
        "target_file_bytes": args.target_file_mb * 1024 * 1024 if args.target_file_mb else None,
    }
    policy = MaintenancePolicy(**{name: value for name, value in options.items() if value is not None})
    done, failed = [], 0
    now = dt.datetime.now(dt.UTC)
    for identifier, result in maintain_catalog(load_catalog(), policy, now):
        if isinstance(result, Exception):
            print(f"{identifier}: FAILED {result!r}")
            failed += 1
        else:
            print(result.summary())
            done.append(result)
    swept = sweep_port_temporaries(now - dt.timedelta(days=policy.orphan_days))
    totals = {**maintenance_totals(done), "port temporaries deleted": len(swept)}
    print("maintenance: " + ", ".join(f"{k} {v:,}" for k, v in totals.items()))
    return 1 if failed else 0


def _retention_run(args: argparse.Namespace) -> int:
    from platform_resources.mesh.workspace import products_by_table
    from platform_resources.storage.catalog import load_catalog
    from platform_resources.upkeep.retention import apply_retention, retain_files, retention_totals

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


def _storage_encrypt(_: argparse.Namespace) -> int:
    from platform_resources.storage.encryption import encrypt_buckets

    encrypted = encrypt_buckets()
    if not encrypted:
        print("nothing to do: no S3 bucket configured in production mode (MESHHOUSE_ENV=production)")
    for bucket, algorithm in encrypted.items():
        print(f"s3://{bucket}: default encryption {algorithm}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
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
    storage = commands.add_parser("storage", help="the S3 buckets").add_subparsers(
        dest="action", required=True
    )
    storage.add_parser(
        "encrypt", help="set default server-side encryption on every configured bucket (production)"
    ).set_defaults(run=_storage_encrypt)
