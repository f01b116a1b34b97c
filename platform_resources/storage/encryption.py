"""Encryption at rest of the S3 buckets the platform writes, in production mode.

Every bucket behind ``MESHHOUSE_WAREHOUSE``, ``MESHHOUSE_LANDING_URI`` and
``MESHHOUSE_EXPORT_URI`` gets default server-side encryption: SSE-S3 (AES-256), or SSE-KMS
with ``MESHHOUSE_S3_KMS_KEY_ID``. ``ensure_bucket_encryption`` sets it where it is missing
and reads it back (an encrypted bucket is kept as it is); ``encrypt_buckets`` runs it for
every configured bucket, once per process, before the first write (the catalog loader,
landing writes and file ports call it in production mode), and ``meshhouse storage
encrypt`` runs it at deployment. Local folders (the embedded default) are left to the
disk's encryption.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from platform_resources.core.settings import Environment, get_environment
from platform_resources.storage.s3 import s3_client, split_s3_uri

SSE_S3, SSE_KMS = "AES256", "aws:kms"
BUCKET_SETTINGS = ("MESHHOUSE_WAREHOUSE", "MESHHOUSE_LANDING_URI", "MESHHOUSE_EXPORT_URI")


def configured_buckets() -> list[str]:
    """The S3 buckets of the warehouse, landing zone and export root, where they are on S3."""
    uris = (os.environ.get(name, "") for name in BUCKET_SETTINGS)
    return sorted({split_s3_uri(uri)[0] for uri in uris if uri.startswith("s3://")})


def _rule(kms_key_id: str | None) -> dict[str, Any]:
    default: dict[str, Any] = {"SSEAlgorithm": SSE_KMS if kms_key_id else SSE_S3}
    if kms_key_id:
        default["KMSMasterKeyID"] = kms_key_id
    return {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bool(kms_key_id)}


def _current(client: Any, bucket: str) -> dict[str, Any] | None:
    try:
        rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except client.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError":
            return None
        raise
    return rules[0]["ApplyServerSideEncryptionByDefault"] if rules else None


def ensure_bucket_encryption(client: Any, bucket: str, kms_key_id: str | None = None) -> str:
    """Make SSE-S3 (or SSE-KMS with ``kms_key_id``) the bucket's default; returns the algorithm
    in force. A bucket already encrypted by default is left as it is, unless ``kms_key_id``
    asks for another key (never downgraded from KMS to S3-managed keys).

    Raises if the server does not keep the setting: a bucket that cannot be encrypted is
    not written to in production.
    """
    wanted = _rule(kms_key_id)["ApplyServerSideEncryptionByDefault"]
    current = _current(client, bucket)
    if current is not None and (kms_key_id is None or current == wanted):
        return current["SSEAlgorithm"]
    if current != wanted:
        client.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [_rule(kms_key_id)]}
        )
        found = _current(client, bucket)
        if found is None or found.get("SSEAlgorithm") != wanted["SSEAlgorithm"]:
            raise RuntimeError(f"s3://{bucket}: default encryption {wanted} was not kept (found {found})")
    return wanted["SSEAlgorithm"]


@functools.cache
def encrypt_buckets() -> dict[str, str]:
    """Default encryption on every configured bucket, in production mode (once per process)."""
    if get_environment() is not Environment.PRODUCTION:
        return {}
    client = s3_client()
    kms_key_id = os.environ.get("MESHHOUSE_S3_KMS_KEY_ID") or None
    return {bucket: ensure_bucket_encryption(client, bucket, kms_key_id) for bucket in configured_buckets()}
