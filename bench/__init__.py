"""Benchmarks: the platform's Bronze -> Silver path against the DuckDB limit and a pandas peer.

Run with ``make bench`` or ``meshhouse bench``; each variant runs in its own process so its
peak RSS is its own. See ``docs/benchmarks.md`` for the method and the latest figures.
"""
