"""The landing sensor factory: new or changed landing files request their day's partition.

The cursor maps each landing file seen to its fingerprint (size and mtime): a file seen
before is not requested again, a new or rewritten file for an old day requests that day
again (the rerun replaces the day, so nothing duplicates). Days after the partition
set's last partition are left out of the cursor and picked up once they exist.
"""

import hashlib
import json
from collections import defaultdict
from typing import Any

import dagster as dg

from platform_resources.core.partitions import DAILY
from platform_resources.core.settings import get_sensor_interval_seconds
from platform_resources.ingest.landing import landing_files, unreadable_folders

PARTITION_LOCK_TAG = "meshhouse/domain_partition"


def build_landing_sensor(domain: str, job: dg.JobDefinition | Any) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{domain}_landing_sensor",
        job=job,
        minimum_interval_seconds=get_sensor_interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Requests the day partitions that new or changed files in landing/{domain}/ touch.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        for folder in unreadable_folders(domain):
            context.log.warning(
                f"landing/{domain}/{folder}: not a dt=YYYY-MM-DD folder with a real date; "
                "its files are not ingested"
            )
        existing = set(DAILY.get_partition_keys(dynamic_partitions_store=None))
        changed_by_day: dict[str, list[str]] = defaultdict(list)
        skipped = []
        for file in landing_files(domain):
            path = str(file.path)
            if seen.get(path) == file.fingerprint:
                continue
            day = file.day.isoformat()
            if day not in existing:
                skipped.append(path)
                continue
            seen[path] = file.fingerprint
            changed_by_day[day].append(file.fingerprint)
        if skipped:
            context.log.info(
                f"{len(skipped)} file(s) for days outside the partitions ({DAILY.start:%Y-%m-%d} to today), "
                f"e.g. {skipped[0]}; a future day is picked up once its partition exists"
            )
        requests = [
            dg.RunRequest(
                partition_key=day,
                run_key=f"{day}:{hashlib.sha256('|'.join(sorted(prints)).encode()).hexdigest()[:16]}",
                tags={
                    "meshhouse/trigger": "landing",
                    "meshhouse/files": str(len(prints)),
                    # dagster.yaml runs one landing run per domain and day at a time: a run for a
                    # late file waits for the one before it instead of racing it.
                    PARTITION_LOCK_TAG: f"{domain}/{day}",
                },
            )
            for day, prints in sorted(changed_by_day.items())
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))

    return landing_sensor
