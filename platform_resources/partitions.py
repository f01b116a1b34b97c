"""Partitioning shared by every domain: daily, UTC, by event time."""

from __future__ import annotations

import datetime as dt

import dagster as dg

START_DATE = "2024-01-01"

#: Daily partitions, including today's (still filling) day.
DAILY = dg.DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC", end_offset=1)


def window_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The days of the run's partition window (one for a partition, many for a range run)."""
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def window_dates(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    window = context.partition_time_window
    return window.start.date(), window.end.date()
