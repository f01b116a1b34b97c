"""PII tokenization: a keyed HMAC-SHA256 of the value, so equal inputs join and nothing reverses.

The key comes from ``MESHHOUSE_TOKEN_KEY`` (see settings for the development default).
Tokens look like ``tok_<32 hex>`` (128 bits of the digest).
"""

from __future__ import annotations

import hashlib
import hmac

from platform_resources.core.settings import get_token_key

TOKEN_PREFIX = "tok_"
_SHA256_BLOCK = 64  # bytes: HMAC pads the key to the hash's block size


def token(value: str, key: bytes) -> str:
    return TOKEN_PREFIX + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def hmac_sha256_sql(value_sql: str, key: bytes) -> str:
    """DuckDB SQL for the hex HMAC-SHA256 of the text ``value_sql`` under ``key`` (from two sha256)."""
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(_SHA256_BLOCK, b"\0")
    inner, outer = (bytes(b ^ pad for b in padded).hex() for pad in (0x36, 0x5C))
    return f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode({value_sql}))))"


def token_macro_sql(name: str = "token", key: bytes | None = None) -> str:
    """A DuckDB ``CREATE MACRO name(v)`` computing :func:`token` in SQL.

    For steps that type their rows in DuckDB: the tokens equal the Python ones, so they join.
    """
    digest = hmac_sha256_sql("v", key if key is not None else get_token_key())
    return f"CREATE OR REPLACE TEMP MACRO {name}(v) AS '{TOKEN_PREFIX}' || left({digest}, 32)"
