"""Months of the partitioned readings table (no Odoo import): names, bounds, which to create and drop.

The raw readings are partitioned by month on their time: one partition per calendar month (UTC), named
``<table>_pYYYYMM``, holding ``[first day of the month, first day of the next month)``, plus one DEFAULT
partition for the rows of months that have no partition yet.
"""

from __future__ import annotations

import re
from datetime import date, datetime

#: Months created ahead of the current one, so that ingest always finds its month's partition.
MONTHS_AHEAD = 2


def month_start(value: date | datetime) -> date:
    """The first day of ``value``'s month."""
    return date(value.year, value.month, 1)


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month``'s (before it when negative)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month.year:04d}{month.month:02d}"


def default_partition_name(table: str) -> str:
    return f"{table}_default"


def partition_month(table: str, name: str) -> date | None:
    """The month a partition named by :func:`partition_name` holds; None for any other name."""
    match = re.fullmatch(re.escape(table) + r"_p(\d{4})(\d{2})", name)
    if not match or not 1 <= int(match[2]) <= 12:
        return None
    return date(int(match[1]), int(match[2]), 1)


def months_to_create(today: date | datetime, ahead: int = MONTHS_AHEAD) -> list[date]:
    """The current month and the ``ahead`` following ones."""
    first = month_start(today)
    return [add_months(first, n) for n in range(ahead + 1)]


def expired_months(months, cutoff: datetime) -> list[date]:
    """The months entirely older than ``cutoff`` (their last instant is before it), oldest first: the
    partitions retention may drop whole. The month holding ``cutoff`` is only partly expired."""
    return sorted(month for month in months if datetime.combine(add_months(month, 1), datetime.min.time()) <= cutoff)
