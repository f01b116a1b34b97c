"""Output ports beyond the Iceberg table: Parquet files per day and a NATS JetStream stream.

A contract's ``file`` and ``stream`` ports become assets ``[domain, port, <product>_file]``
and ``[domain, port, <product>_stream]`` downstream of the product, partitioned by day in
the domain's group, so the landing run publishes them after the product and automation
republishes a day whose product changed. Each publication replaces the day, so a rerun
or a retry never duplicates:

- ``file``: ``<export root>/<domain>/<product>/v<N>/<partition column>=<day>/data.parquet``
  (``MESHHOUSE_EXPORT_URI``, a folder or ``s3://bucket/prefix``; default
  ``$MESHHOUSE_HOME/exports``), written to a temporary name and renamed into place.
- ``stream``: JetStream stream ``PORTS_<DOMAIN>``, one message per row (JSON) on subject
  ``ports.<domain>.<product>.v<N>.<day>.<row key>``, the row key a hash of the grain
  (``MESHHOUSE_NATS_URL``; ``MESHHOUSE_PORT_PREFIX`` replaces ``ports``).
  The stream keeps one message per subject, and a day's subjects are purged before it is
  republished: the stream holds each row once, like a compacted topic.
"""

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping

import dagster as dg
import nats
import polars as pl
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from nats.js.api import StreamConfig

from platform_resources.contracts.model import Contract
from platform_resources.core.automation import CHUNKED_BACKFILL, RETRY, on_upstream_change
from platform_resources.core.faults import kill_point
from platform_resources.core.partitions import DAILY, window_dates, window_days
from platform_resources.core.settings import get_export_root, get_nats_url, get_port_subject_prefix
from platform_resources.products.input_ports import ProductRead
from platform_resources.storage.encryption import encrypt_buckets
from platform_resources.storage.outages import reporting_outages

PORT_LAYER = "port"


def port_key(contract: Contract, port_type: str) -> dg.AssetKey:
    return dg.AssetKey([contract.domain, PORT_LAYER, f"{contract.asset_name}_{port_type}"])


def file_path(contract: Contract, day: dt.date, root: str | None = None) -> str:
    root = (root or get_export_root()).rstrip("/")
    product = f"{contract.domain}/{contract.name}/v{contract.major_version}"
    return f"{root}/{product}/{contract.partition_column}={day.isoformat()}/data.parquet"


def write_file_port(contract: Contract, frame: pl.DataFrame, day: dt.date) -> tuple[str, int]:
    """Replace the day's Parquet file with the product's rows of that day."""
    encrypt_buckets()  # production: an S3 export bucket is encrypted at rest first
    fs, path = pafs.FileSystem.from_uri(file_path(contract, day))
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    temporary = f"{path}.{uuid.uuid4().hex}.tmp"
    rows = frame.filter(pl.col(contract.partition_column) == day)
    pq.write_table(rows.to_arrow(), temporary, filesystem=fs)
    kill_point("port-before-rename")
    fs.move(temporary, path)  # a rename: readers see the old file or the new one, never half
    return path, rows.height


def port_temporaries(older_than: dt.datetime) -> list[str]:
    """The file ports' temporaries (``*.tmp``) last modified before ``older_than``: what a killed
    publish left (younger ones may be a publish in progress)."""
    fs, root = pafs.FileSystem.from_uri(get_export_root().rstrip("/"))
    infos = fs.get_file_info(pafs.FileSelector(root, allow_not_found=True, recursive=True))
    return sorted(
        i.path
        for i in infos
        if i.type == pafs.FileType.File and i.path.endswith(".tmp") and i.mtime and i.mtime < older_than
    )


def sweep_port_temporaries(older_than: dt.datetime) -> list[str]:
    """Delete the ``port_temporaries`` older than ``older_than``; returns what was deleted."""
    fs, _ = pafs.FileSystem.from_uri(get_export_root().rstrip("/"))
    stale = port_temporaries(older_than)
    for path in stale:
        fs.delete_file(path)
    return stale


def stream_name(contract: Contract) -> str:
    return f"{get_port_subject_prefix()}_{contract.domain}".upper()


def stream_subject(contract: Contract, day: dt.date | None = None) -> str:
    base = f"{get_port_subject_prefix()}.{contract.domain}.{contract.name}.v{contract.major_version}"
    return base if day is None else f"{base}.{day.isoformat()}"


def row_subject(contract: Contract, day: dt.date, row: Mapping[str, object]) -> str:
    key = json.dumps([str(row[c]) for c in contract.grain or [c.name for c in contract.columns]])
    return f"{stream_subject(contract, day)}.{hashlib.sha256(key.encode()).hexdigest()[:24]}"


async def _publish_days(contract: Contract, frame: pl.DataFrame, days: list[dt.date]) -> dict[str, int]:
    client = await nats.connect(get_nats_url(), connect_timeout=5, max_reconnect_attempts=2)
    try:
        js = client.jetstream()
        await js.add_stream(
            StreamConfig(
                name=stream_name(contract),
                subjects=[f"{get_port_subject_prefix()}.{contract.domain}.>"],
                max_msgs_per_subject=1,  # the latest version of each row
            )
        )
        published = {}
        for day in days:
            await js.purge_stream(stream_name(contract), subject=f"{stream_subject(contract, day)}.>")
            rows = frame.filter(pl.col(contract.partition_column) == day)
            for row in rows.iter_rows(named=True):
                body = json.dumps({"uri": contract.uri, "row": row}, default=str).encode()
                await js.publish(row_subject(contract, day, row), body, stream=stream_name(contract))
            published[day.isoformat()] = rows.height
        return published
    finally:
        await client.close()


def _port_asset(contract: Contract, port_type: str) -> dg.AssetsDefinition:
    read = ProductRead(contract)
    key = port_key(contract, port_type)
    description = {
        "file": f"{contract.uri} as Parquet files, one per day, under the export root.",
        "stream": f"{contract.uri} on NATS JetStream subjects {stream_subject(contract)}.<day>.<row key>.",
    }[port_type]

    @dg.asset(
        key=key,
        deps=[read.dep],
        description=description,
        owners=[contract.owner],
        group_name=contract.domain,
        kinds={"parquet"} if port_type == "file" else {"nats"},
        tags={"layer": PORT_LAYER, "domain": contract.domain},
        metadata={"port_of": contract.uri, "contract_uri": contract.uri},
        partitions_def=DAILY,
        automation_condition=on_upstream_change(),
        backfill_policy=CHUNKED_BACKFILL,
        retry_policy=RETRY,
    )
    @reporting_outages
    def port(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        frame = read.read(window_dates(context))
        days = window_days(context)
        if port_type == "file":
            written = {d.isoformat(): write_file_port(contract, frame, d) for d in days}
            metadata = {
                "files": dg.MetadataValue.json({d: path for d, (path, _) in written.items()}),
                "dagster/row_count": dg.MetadataValue.int(sum(n for _, n in written.values())),
                "dagster/uri": file_path(contract, days[-1]).rsplit("/", 2)[0],
            }
        else:
            published = asyncio.run(_publish_days(contract, frame, days))
            metadata = {
                "stream": stream_name(contract),
                "subject": f"{stream_subject(contract)}.>",
                "messages": dg.MetadataValue.json(published),
                "dagster/row_count": dg.MetadataValue.int(sum(published.values())),
            }
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)

    return port


def build_port_assets(contracts: Mapping[str, Contract]) -> list[dg.AssetsDefinition]:
    """An asset per ``file`` and ``stream`` port of the domain's contracts (the table is the product)."""
    return [
        _port_asset(contract, port.type)
        for contract in contracts.values()
        for port in contract.ports
        if port.type != "iceberg"
    ]
