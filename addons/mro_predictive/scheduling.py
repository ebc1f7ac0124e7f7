"""Calendar-aware scheduling (pure, no Odoo import): plan work backwards from a deadline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def last_slot_before(
    intervals: Iterable[tuple[datetime, datetime]], deadline: datetime, duration: timedelta
) -> datetime | None:
    """Start of the latest stretch of ``duration`` working time that ends by ``deadline``.

    ``intervals`` are working intervals (leaves already removed), in any order, all datetimes in
    one timezone. Working time may span several intervals (a 6 h job over two shifts). Returns
    ``None`` when there is not enough working time before the deadline.
    """
    remaining = duration
    for start, end in sorted(intervals, reverse=True):
        end = min(end, deadline)
        if end <= start:
            continue
        available = end - start
        if available >= remaining:
            return end - remaining
        remaining -= available
    return None


def first_slot_after(intervals: Iterable[tuple[datetime, datetime]], moment: datetime) -> datetime | None:
    """The first working moment at or after ``moment``, or ``None``."""
    for start, end in sorted(intervals):
        if end > moment:
            return max(start, moment)
    return None
