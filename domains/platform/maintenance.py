"""Table maintenance and retention as assets of the platform, each with a daily job and a RUNNING schedule.

``platform/retention/report`` (01:00 UTC) deletes every table's partitions past its
retention tier, with their files (``platform_resources/upkeep/retention.py``);
``platform/maintenance/report`` (03:00 UTC) compacts small files, expires snapshots with
the files only they referenced, and sweeps orphan files, table by table
(``platform_resources/upkeep/table_maintenance.py``). Both log each table as they go and report
their figures in the materialization, which the UI plots across runs.
"""

import datetime as dt

import dagster as dg

from domains.platform.operations_asset import operations_asset
from platform_resources.core.markdown_table import markdown_table
from platform_resources.mesh.workspace import products_by_table
from platform_resources.storage.catalog import load_catalog
from platform_resources.upkeep.retention import (
    TableRetention,
    apply_retention,
    retain_files,
    retention_totals,
)
from platform_resources.upkeep.table_maintenance import (
    MaintenancePolicy,
    TableMaintenance,
    maintain_catalog,
    maintenance_totals,
)

MAINTENANCE_KEY = dg.AssetKey(["platform", "maintenance", "report"])
RETENTION_KEY = dg.AssetKey(["platform", "retention", "report"])
MiB = 1024 * 1024


class MaintenanceConfig(dg.Config):
    snapshot_days: int = MaintenancePolicy.snapshot_days
    retain_last: int = MaintenancePolicy.retain_last
    orphan_days: int = MaintenancePolicy.orphan_days
    compact_min_files: int = MaintenancePolicy.compact_min_files
    target_file_mb: int = MaintenancePolicy.target_file_bytes // MiB

    def policy(self) -> MaintenancePolicy:
        return MaintenancePolicy(
            snapshot_days=self.snapshot_days,
            retain_last=self.retain_last,
            orphan_days=self.orphan_days,
            compact_min_files=self.compact_min_files,
            target_file_bytes=self.target_file_mb * MiB,
        )


class RetentionConfig(dg.Config):
    dry_run: bool = False  # report what would be deleted, delete nothing


def _maintenance_table(results: list[TableMaintenance]) -> str:
    return markdown_table(
        ["table", "data files before", "after", "compacted", "snapshots expired", "files deleted", "bytes"],
        [
            [
                r.table,
                r.data_files_before,
                r.data_files_after,
                len(r.compaction.partitions) - r.compaction.skipped,
                r.expiry.snapshots_expired,
                r.files_deleted,
                r.bytes_deleted,
            ]
            for r in results
        ],
    )


@operations_asset(
    MAINTENANCE_KEY,
    "maintenance",
    {"iceberg"},
    "Upkeep of every Iceberg table: small files compacted per partition, snapshots "
    "older than the window expired with the files only they referenced, orphan files swept.",
)
def table_maintenance_report(
    context: dg.AssetExecutionContext, config: MaintenanceConfig
) -> dg.MaterializeResult:
    done: list[TableMaintenance] = []
    failed: dict[str, str] = {}
    for identifier, result in maintain_catalog(load_catalog(), config.policy(), dt.datetime.now(dt.UTC)):
        if isinstance(result, Exception):
            context.log.error(f"{identifier}: maintenance failed: {result!r}")
            failed[identifier] = repr(result)
        else:
            context.log.info(result.summary())
            done.append(result)
    metadata = {
        **{name: dg.MetadataValue.int(value) for name, value in maintenance_totals(done).items()},
        "failed_tables": dg.MetadataValue.json(failed),
        "tables_table": dg.MetadataValue.md(_maintenance_table(done)),
    }
    if failed:
        raise dg.Failure(
            f"maintenance failed for {len(failed)} table(s): {', '.join(failed)}", metadata=metadata
        )
    return dg.MaterializeResult(metadata=metadata)


def _retention_table(results: list[TableRetention]) -> str:
    return markdown_table(
        ["table", "tier", "cutoff", "partitions deleted", "rows", "files deleted"],
        [
            [
                r.table,
                r.tier,
                r.cutoff,
                len(r.days_deleted),
                r.rows_deleted,
                r.expiry.files_deleted if r.expiry else 0,
            ]
            for r in results
            if not r.left_alone
        ],
    )


@operations_asset(
    RETENTION_KEY,
    "maintenance",
    {"iceberg"},
    "Retention: every table's day partitions older than its contract's retention tier "
    "(Bronze: raw, 7 years) deleted, and the snapshots and files that held them.",
)
def retention_report(context: dg.AssetExecutionContext, config: RetentionConfig) -> dg.MaterializeResult:
    products = products_by_table()
    today = dt.datetime.now(dt.UTC).date()
    done = []
    files = retain_files(products, today, dry_run=config.dry_run)
    for result in apply_retention(load_catalog(), products, today, dry_run=config.dry_run):
        context.log.info(result.summary())
        done.append(result)
    return dg.MaterializeResult(
        metadata={
            "dry_run": dg.MetadataValue.bool(config.dry_run),
            **{name: dg.MetadataValue.int(value) for name, value in retention_totals(done).items()},
            **{name: dg.MetadataValue.int(value) for name, value in files.items()},
            "left_alone": dg.MetadataValue.json({r.table: r.left_alone for r in done if r.left_alone}),
            "tables_table": dg.MetadataValue.md(_retention_table(done)),
        }
    )


maintenance_job = dg.define_asset_job("platform_table_maintenance", selection=[MAINTENANCE_KEY])
maintenance_schedule = dg.ScheduleDefinition(
    job=maintenance_job, cron_schedule="0 3 * * *", default_status=dg.DefaultScheduleStatus.RUNNING
)
retention_job = dg.define_asset_job("platform_retention", selection=[RETENTION_KEY])
retention_schedule = dg.ScheduleDefinition(
    job=retention_job, cron_schedule="0 1 * * *", default_status=dg.DefaultScheduleStatus.RUNNING
)
