"""The S3 client every room uses (landing zone, encryption, exports) and the split of an
``s3://bucket/key`` URI."""

from __future__ import annotations

import os
from functools import cache
from typing import Any


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def s3_client() -> Any:
    """The S3 client of the standard ``AWS_*`` settings (``AWS_ENDPOINT_URL`` for another server)."""
    return _client_for(os.environ.get("AWS_ENDPOINT_URL"))


@cache
def _client_for(endpoint_url: str | None) -> Any:
    from dagster_aws.s3 import S3Resource  # imported here: `meshhouse simulate` stays quick to start

    return S3Resource(endpoint_url=endpoint_url).get_client()
