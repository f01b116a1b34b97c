"""Markdown tables for Dagster metadata (``MetadataValue.md``): the UI renders them as tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A header row, its rule and one line per row (``|`` in a cell escaped, None empty)."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(_cell(cell) for cell in line) + " |" for line in lines)
