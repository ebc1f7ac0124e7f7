"""Working days of the plant and the vendor: closed dates given as a set of dates or a predicate."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, timedelta

#: How far (days) a calendar walk may go before it gives up: a year.
MAX_WALK_DAYS = 366

#: Closed days: a collection of dates, or a callable ``day -> True when closed``; ``None``: always open.
Closures = Collection[date] | Callable[[date], bool] | None


def is_closed_fn(closed: Closures) -> Callable[[date], bool]:
    """A predicate ``day -> True when closed`` from a collection of closed dates, a predicate or ``None``."""
    if closed is None:
        return lambda _day: False
    if callable(closed):
        return closed
    closed_set = frozenset(closed)
    return closed_set.__contains__


def pull_forward(day: date, is_working: Callable[[date], bool] | Collection[date]) -> date:
    """The latest working date on or before ``day``. ``is_working``: a callable ``date -> True when the site
    works``, or a collection of closed dates. Raises ValueError when no working day lies within a year."""
    works = (lambda d: d not in is_working) if not callable(is_working) else is_working
    for back in range(MAX_WALK_DAYS + 1):
        candidate = day - timedelta(days=back)
        if works(candidate):
            return candidate
    raise ValueError(f"no working day within {MAX_WALK_DAYS} days on or before {day.isoformat()}: check the calendar")


def shipping_delay(start: date, working_days: int, closed: Callable[[date], bool]) -> int:
    """Extra days (int) a vendor closed on ``closed`` days adds to a ``working_days``-day shipment placed on
    ``start``: each closed day met before the shipment's working days are used up pushes it one day later.
    Raises ValueError when the vendor is closed for more than a year in the way."""
    extra = 0
    remaining = max(int(working_days), 0)
    day = start
    while remaining > 0:
        if closed(day):
            extra += 1
            if extra > MAX_WALK_DAYS:
                raise ValueError(f"vendor closed for over {MAX_WALK_DAYS} days from {start.isoformat()}")
        else:
            remaining -= 1
        day += timedelta(days=1)
    return extra
