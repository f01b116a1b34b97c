"""Tokenization: keyed, deterministic, irreversible, null-preserving."""

import polars as pl

from platform_resources.settings import DEV_TOKEN_KEY
from platform_resources.tokenize import token, tokenize


def test_tokens_are_keyed_hmacs_that_keep_joins_and_nulls(monkeypatch) -> None:
    monkeypatch.delenv("MESHHOUSE_TOKEN_KEY", raising=False)
    frame = pl.DataFrame({"v": ["alice", None, "alice", "bob"]}).with_columns(t=tokenize(pl.col("v")))
    tokens = frame["t"].to_list()
    assert tokens[0] == tokens[2] != tokens[3] and tokens[1] is None
    assert tokens[0] == token("alice", DEV_TOKEN_KEY.encode())
    assert "alice" not in tokens[0] and tokens[0].startswith("tok_") and len(tokens[0]) == 36
    monkeypatch.setenv("MESHHOUSE_TOKEN_KEY", "another-key")
    assert pl.select(tokenize(pl.lit("alice"))).item() != tokens[0]


def test_the_sql_macro_gives_the_python_tokens_for_short_long_and_unicode_keys_and_values() -> None:
    import duckdb

    from platform_resources.tokenize import token_macro_sql

    values = ["alice", "Zoë 🙂", "", '{"street":"1 Main St"}', None]
    for key in (b"k", b"x" * 64, b"long-" * 30):
        con = duckdb.connect()
        con.execute(token_macro_sql("tok", key))
        got = [con.execute("SELECT tok(?)", [v]).fetchone()[0] for v in values]
        assert got == [token(v, key) if v is not None else None for v in values]
