"""Partitioning shared by every domain: daily, UTC, by event time."""

from __future__ import annotations

import datetime as dt

import dagster as dg

START_DATE = "2024-01-01"

#: Daily partitions, including today's (still filling) day.
DAILY = dg.DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC", end_offset=1)


def time_window_dates(window: dg.TimeWindow) -> tuple[dt.date, dt.date]:
    """A partition time window as dates: ``[start, end)``."""
    return window.start.date(), window.end.date()


def window_dates(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """The run's partition window (one day for a partition, many for a range run)."""
    return time_window_dates(context.partition_time_window)


def days_of(window: tuple[dt.date, dt.date]) -> list[dt.date]:
    """The days of a ``[start, end)`` window."""
    start, end = window
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def window_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The days of the run's partition window."""
    return days_of(window_dates(context))
