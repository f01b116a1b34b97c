"""Production mode on a real S3 server and a real Postgres catalog: buckets encrypted at rest."""

import uuid
from collections.abc import Iterator

import polars as pl
import psycopg2
import pytest

from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.encryption import SSE_S3, encrypt_buckets, ensure_bucket_encryption
from platform_resources.storage.iceberg_io import read_table, write_frames


@pytest.fixture
def postgres_catalog() -> Iterator[str]:
    """A fresh Postgres database for the Iceberg SQL catalog, dropped afterwards."""
    name = f"meshhouse_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(host="127.0.0.1", dbname="postgres", user="postgres")
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1/{name}"
    finally:
        admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


@pytest.fixture
def production(home, s3_client, postgres_catalog: str, monkeypatch: pytest.MonkeyPatch):
    client = s3_client
    buckets = {kind: f"{kind}-{uuid.uuid4().hex[:10]}" for kind in ("warehouse", "exports")}
    for name, value in {
        "MESHHOUSE_ENV": "production",
        "MESHHOUSE_CATALOG_URI": postgres_catalog,
        "MESHHOUSE_WAREHOUSE": f"s3://{buckets['warehouse']}/lake",
        "MESHHOUSE_EXPORT_URI": f"s3://{buckets['exports']}/ports",
        "MESHHOUSE_TOKEN_KEY": "a-production-key",
    }.items():
        monkeypatch.setenv(name, value)
    for bucket in buckets.values():
        client.create_bucket(Bucket=bucket)
    encrypt_buckets.cache_clear()
    yield client, buckets
    encrypt_buckets.cache_clear()


def test_production_mode_encrypts_every_bucket_before_the_first_write(production) -> None:
    client, buckets = production
    for bucket in buckets.values():
        with pytest.raises(client.exceptions.ClientError):  # a new bucket has no default encryption
            client.get_bucket_encryption(Bucket=bucket)

    write_frames(load_catalog(), "orders.gold_sample", pl.DataFrame({"n": [1, 2, 3]}))

    for bucket in buckets.values():
        rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == SSE_S3, bucket
    objects = client.list_objects_v2(Bucket=buckets["warehouse"], Prefix="lake/")["Contents"]
    assert any(o["Key"].endswith(".parquet") for o in objects)
    for o in objects:  # every file of the table: data, manifests, metadata
        head = client.head_object(Bucket=buckets["warehouse"], Key=o["Key"])
        assert head.get("ServerSideEncryption") == SSE_S3, o["Key"]
    assert read_table("orders.gold_sample").collect()["n"].sort().to_list() == [1, 2, 3]


def test_an_already_encrypted_bucket_is_left_as_it_is(production) -> None:
    client, buckets = production
    assert ensure_bucket_encryption(client, buckets["exports"]) == SSE_S3
    assert ensure_bucket_encryption(client, buckets["exports"]) == SSE_S3  # idempotent
    assert encrypt_buckets() == {bucket: SSE_S3 for bucket in buckets.values()}
