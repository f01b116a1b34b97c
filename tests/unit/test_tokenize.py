"""Tokenization: keyed, deterministic, irreversible, null-preserving, the same in SQL and Python."""

import duckdb

from platform_resources.core.settings import DEV_TOKEN_KEY
from platform_resources.privacy.tokenize import token, token_macro_sql


def _sql_tokens(values: list[str | None], key: bytes | None = None) -> list[str | None]:
    con = duckdb.connect()
    con.execute(token_macro_sql("tok", key))
    return [con.execute("SELECT tok(?)", [v]).fetchone()[0] for v in values]


def test_tokens_are_keyed_hmacs_that_keep_joins_and_nulls(monkeypatch) -> None:
    monkeypatch.delenv("MESHHOUSE_TOKEN_KEY", raising=False)
    tokens = _sql_tokens(["alice", None, "alice", "bob"])
    assert tokens[0] == tokens[2] != tokens[3] and tokens[1] is None
    assert tokens[0] == token("alice", DEV_TOKEN_KEY.encode())
    assert "alice" not in tokens[0] and tokens[0].startswith("tok_") and len(tokens[0]) == 36
    monkeypatch.setenv("MESHHOUSE_TOKEN_KEY", "another-key")
    assert _sql_tokens(["alice"]) != tokens[:1]


def test_the_sql_macro_gives_the_python_tokens_for_short_long_and_unicode_keys_and_values() -> None:
    values = ["alice", "Zoë 🙂", "", '{"street":"1 Main St"}', None]
    for key in (b"k", b"x" * 64, b"long-" * 30):
        assert _sql_tokens(values, key) == [token(v, key) if v is not None else None for v in values]
