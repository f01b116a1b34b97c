"""The stream sensor factory: while messages wait in a domain's stream, request a micro-batch
run of its stream job on today's partition.

Each tick asks the bus for the stream's last sequence and the lakehouse for the one stream
Bronze committed (``consumer.stream_backlog``). One run at a time: a tick that finds a stream
run of the domain queued or running skips (that run takes what waits, or the next tick after
it does; a failed run is followed by a new one while messages wait). An unreachable server is
a skip naming the URL, not an error.
"""

import datetime as dt
from typing import Any

import dagster as dg
import nats.errors

from platform_resources.core.settings import get_nats_url, get_stream_interval_seconds
from platform_resources.ingest.landing_sensor import PARTITION_LOCK_TAG
from platform_resources.stream.bus import stream_name
from platform_resources.stream.consumer import stream_backlog

_ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def build_stream_sensor(domain: str, job: dg.JobDefinition | Any) -> dg.SensorDefinition:
    stream = stream_name(domain)

    @dg.sensor(
        name=f"{domain}_stream_sensor",
        job=job,
        minimum_interval_seconds=get_stream_interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Requests a micro-batch run of today's partition while messages wait in {stream}.",
    )
    def stream_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        try:
            backlog = stream_backlog(domain)
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            return dg.SkipReason(
                f"NATS at {get_nats_url()} did not answer ({type(exc).__name__}: {exc}); "
                f"{stream} is consumed once it does"
            )
        if not backlog.waiting:
            return dg.SkipReason(
                f"nothing waits in {stream}: Bronze committed through {backlog.committed_seq:,}"
            )
        active = context.instance.get_run_records(
            dg.RunsFilter(job_name=job.name, statuses=_ACTIVE_STATUSES), limit=1
        )
        if active:
            run = active[0].dagster_run
            return dg.SkipReason(
                f"{backlog.waiting:,} messages wait in {stream}; run {run.run_id} ({run.status.value}) "
                "takes them"
            )
        today = dt.datetime.now(dt.UTC).date().isoformat()
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    partition_key=today,
                    tags={
                        "meshhouse/trigger": "stream",
                        "meshhouse/waiting": str(backlog.waiting),
                        # shared with the landing runs: one run writes a domain's day at a time
                        PARTITION_LOCK_TAG: f"{domain}/{today}",
                    },
                )
            ]
        )

    return stream_sensor
