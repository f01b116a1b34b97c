"""GDPR requests in the platform location: the ``platform/gdpr/requests`` asset serves them.

``meshhouse gdpr request erase|export --subject <userId>`` files a request
(``platform_resources/gdpr/requests.py``); the ``gdpr_requests`` sensor (RUNNING) starts
the ``platform_gdpr`` job when one is pending; the asset serves every pending request
(exports first, so an export filed before an erasure still finds the data), records each
outcome as metadata under the request id and the subject's keyed reference, and deletes
the request file. A request whose erasure cannot be verified stays pending and fails the
run. No subject id reaches Dagster: not in run config, tags, logs nor metadata.
"""

import hashlib

import dagster as dg

from domains.platform.operations_asset import operations_asset
from platform_resources.core.settings import get_sensor_interval_seconds
from platform_resources.gdpr.erasure import erase_subject
from platform_resources.gdpr.export import export_for_role, write_export
from platform_resources.gdpr.requests import Request, close_request, exports_folder, pending_requests

GDPR_REQUESTS_KEY = dg.AssetKey(["platform", "gdpr", "requests"])


def _serve(request: Request, log: dg.DagsterLogManager) -> dict[str, object]:
    if request.kind == "export":
        export = export_for_role(request.subject, request.role or "", request.requested_by)
        out = write_export(export, exports_folder() / f"{request.request_id}.json")
        log.info(f"export {request.request_id} ({export['subject_reference']}) written to {out}")
        rows = sum(len(r) for r in export["products"].values())
        return {"subject": export["subject_reference"], "rows": rows, "file": str(out)}
    report = erase_subject(request.subject, request.requested_by, request.request_id)
    removed = sum(report.table_rows_removed.values())
    log.info(
        f"erasure {request.request_id} ({report.subject_reference}): {removed} rows in "
        f"{len(report.table_rows_removed)} tables, {report.files_deleted} files deleted, "
        f"verified={report.verified}"
    )
    if not report.verified:
        raise dg.Failure(
            f"erasure {request.request_id} left {len(report.findings)} file(s) mentioning the subject; "
            "the request stays pending (see the audit log)",
        )
    return {
        "subject": report.subject_reference,
        "landing_lines": sum(report.landing_lines_removed.values()),
        "rows": removed,
        "tables": len(report.table_rows_removed),
        "files_deleted": report.files_deleted,
        "verified": report.verified,
    }


@operations_asset(  # retried: an erasure is idempotent, a retry finishes what a failure left
    GDPR_REQUESTS_KEY,
    "gdpr",
    {"iceberg", "python"},
    "Serves pending GDPR requests (meshhouse gdpr request): exports a subject's data "
    "across domains, or erases it from every layer, domain and file, with an audit record.",
)
def gdpr_requests(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    served: dict[str, dict[str, object]] = {}
    requests = sorted(pending_requests(), key=lambda r: r.kind != "export")
    context.log.info(f"{len(requests)} pending request(s)")
    for request in requests:
        served[f"{request.kind} {request.request_id}"] = _serve(request, context.log)
        close_request(request)
    kinds = [r.kind for r in requests]
    return dg.MaterializeResult(
        metadata={
            "erasures": dg.MetadataValue.int(kinds.count("erase")),
            "exports": dg.MetadataValue.int(kinds.count("export")),
            "requests": dg.MetadataValue.json(served),
        }
    )


#: dagster.yaml limits runs with this tag to one: two runs never serve the same requests.
GDPR_RUN_TAG = {"meshhouse/gdpr": "requests"}
gdpr_job = dg.define_asset_job("platform_gdpr", selection=[GDPR_REQUESTS_KEY], tags=GDPR_RUN_TAG)


@dg.sensor(
    job=gdpr_job,
    name="gdpr_requests",
    minimum_interval_seconds=get_sensor_interval_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts platform_gdpr when a GDPR request is pending (meshhouse gdpr request).",
)
def gdpr_request_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    pending = [r.request_id for r in pending_requests()]
    if not pending:
        return dg.SensorResult(skip_reason="no pending GDPR request")
    # one run per set of pending requests: a failed run's requests are retried with the next one
    run_key = hashlib.sha256(",".join(pending).encode()).hexdigest()[:24]
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run_key)])
