"""Warnings of a coming failure, as RUL distributions the order-by date can use, and the plant's warning history.

Every warning the planner may act on arrives as RUL quantiles (days from today at ``PROBS``) with its kind:

- ``"rul"``: a confident remaining useful life from the engine's trend of the equipment's own sensors;
- ``"onset"``: the onset of the current warning episode (the first anomaly or confident RUL of the machine's
  condition); its distribution is the plant's own history of episodes (``residual_quantiles``);
- ``"fleet"``: a failure probability within a horizon from the fleet model (``probability_quantiles``), or the
  fleet model's RUL quantiles themselves;
- ``"weibull"``: the residual life of the equipment's age under the Weibull model of its group's failure history.

The warning history (``WarningHistory``) is, for each past renewal of a machine (a corrective repair or a
planned replacement: both take the kit from the shelf), how many days ahead the first warning came (0 when none
did), and the machine-days of service it covers. The share warned less than a part's cover (lead time +
receiving + kitting) says how often a warning comes too late for that part (prior one in two:
``(k + 1) / (n + 2)``); the rate of renewals warned that late per machine-day is the demand no need can buy in
time, which the part's buffer must hold (the plant's unwarned-failure rate for that part; prior: one renewal
per machine life).

The plant's records make both (``warning_episodes``): a machine's warnings (its health alerts from first to last
seen, its confident RULs) and its renewals (the day, and whether it was a failure) give its episodes and, for
each renewal, the days the episode it ended warned it ahead (from its onset, and from its first RUL). The
addon reads them from its records, the simulation from what its engine said each day.

The onset distribution. An episode (a health alert) opens with the first anomaly or confident RUL of a machine
and closes after some quiet days. The residual life from its onset comes from the plant's episodes that ended
in a failure (events) and those that ended in a planned replacement, closed without one or are still open
(right-censored: suspensions), by Kaplan-Meier.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from .orderby import PROBS, check_rul_quantiles

#: Warning kinds from the most specific to the least: a confident RUL, then earlier, less certain signals.
KINDS = ("rul", "onset", "fleet", "weibull")
#: The earlier, less certain kinds.
EARLY_KINDS = ("onset", "fleet", "weibull")
#: Fewest past intervals (longer than the time already elapsed) that make an onset distribution.
MIN_INTERVALS = 5


@dataclass(frozen=True)
class Signal:
    """One warning of a failure: ``kind`` (see ``KINDS``) and RUL ``quantiles`` (days from today at ``PROBS``)."""

    kind: str
    quantiles: np.ndarray = field(repr=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown signal kind {self.kind!r}: use one of {', '.join(KINDS)}")
        object.__setattr__(self, "quantiles", check_rul_quantiles(self.quantiles))


def residual_quantiles(
    intervals: Sequence[float], elapsed: float, ongoing: Sequence[float] = (), min_intervals: int = MIN_INTERVALS
):
    """RUL quantiles (days from now at ``PROBS``) of an episode that began ``elapsed`` days ago, from the plant's
    past intervals (days) from an episode's onset to the failure it ended in, and the lengths (days) of the
    episodes that ended otherwise or are still open (``ongoing``: right-censored, so neither planned
    replacements nor a young history bias it short): the Kaplan-Meier residual life
    ``S(elapsed + t) / S(elapsed)``. Quantiles the history does not reach are its longest interval less
    ``elapsed``. ``None`` when fewer than ``min_intervals`` failures came later than ``elapsed`` (the history
    says nothing of machines this far past their onset)."""
    if not (math.isfinite(elapsed) and elapsed >= 0):
        raise ValueError(f"elapsed days must be a finite number >= 0, got {elapsed!r}")
    x = np.asarray(intervals, dtype=float).ravel()
    c = np.asarray(ongoing, dtype=float).ravel()
    for values in (x, c):
        if values.size and (not np.all(np.isfinite(values)) or np.any(values < 0)):
            raise ValueError("onset-to-renewal intervals and open episodes must be finite numbers of days >= 0")
    events = np.sort(x[x > elapsed])
    if events.size < max(1, min_intervals):
        return None
    censored = np.sort(c[c > elapsed])
    times = np.unique(events)
    # At risk just before each event time: intervals and open episodes not shorter than it.
    at_risk = (events.size - np.searchsorted(events, times, side="left")) + (
        censored.size - np.searchsorted(censored, times, side="left")
    )
    deaths = np.searchsorted(events, times, side="right") - np.searchsorted(events, times, side="left")
    survival = np.cumprod(1.0 - deaths / at_risk)
    # First event time at which the residual CDF reaches each level; the last time where it never does.
    idx = np.searchsorted(1.0 - survival, PROBS - 1e-12, side="left")
    return times[np.minimum(idx, times.size - 1)] - elapsed


def probability_quantiles(probability: float, horizon_days: float):
    """RUL quantiles (days at ``PROBS``) of a failure probability within ``horizon_days`` (e.g. the fleet model's
    over the planning horizon), read as a constant hazard ``-ln(1 - p) / horizon``; ``None`` for p = 0."""
    if not (math.isfinite(probability) and 0 <= probability <= 1):
        raise ValueError(f"failure probability must lie between 0 and 1, got {probability!r}")
    if not (math.isfinite(horizon_days) and horizon_days > 0):
        raise ValueError(f"horizon must be a positive number of days, got {horizon_days!r}")
    if probability == 0:
        return None
    hazard = -math.log1p(-min(probability, 0.999)) / horizon_days
    return -np.log1p(-PROBS) / hazard


class WarningHistory:
    """The plant's warning history: how many days ahead each past renewal (a corrective repair or a planned
    replacement: both take the kit) was warned (``warning_days``, 0: no warning), over ``exposure_days``
    machine-days of service; ``prior_days``: machine-days per renewal assumed before any history (a machine's
    mean life), worth one renewal."""

    def __init__(self, warning_days: Sequence[float] = (), exposure_days: float = 0.0, prior_days: float = 365.0):
        x = np.asarray(warning_days, dtype=float).ravel()
        if x.size and (not np.all(np.isfinite(x)) or np.any(x < 0)):
            raise ValueError("warning days must be finite numbers of days >= 0")
        if not (math.isfinite(exposure_days) and exposure_days >= 0):
            raise ValueError(f"exposure must be a number of machine-days >= 0, got {exposure_days!r}")
        if not (math.isfinite(prior_days) and prior_days > 0):
            raise ValueError(f"prior must be a positive number of machine-days per renewal, got {prior_days!r}")
        self.days = np.sort(x)
        self.exposure_days = float(exposure_days)
        self.prior_days = float(prior_days)

    def __len__(self) -> int:
        return int(self.days.size)

    def _below(self, cover_days: float) -> int:
        return int(np.searchsorted(self.days, cover_days, side="left"))

    def share_below(self, cover_days: float) -> float:
        """Share of renewals warned less than ``cover_days`` ahead, prior one in two: ``(k + 1) / (n + 2)``."""
        return (self._below(cover_days) + 1.0) / (self.days.size + 2.0)

    def rate_below(self, cover_days: float) -> float:
        """Renewals per machine and day warned less than ``cover_days`` ahead: ``(k + 1) / (exposure + prior)``."""
        return (self._below(cover_days) + 1.0) / (self.exposure_days + self.prior_days)


Day = date | int


def _days(later: Day, earlier: Day) -> float:
    """Days from ``earlier`` to ``later`` (dates, or day numbers)."""
    delta = later - earlier
    return float(delta if isinstance(delta, int) else delta.days)


@dataclass(frozen=True)
class Episodes:
    """A machine's warning episodes: ``intervals``, days from the onset to the failure of those that ended in one;
    ``censored``, the lengths of those that ended otherwise (a planned replacement, or quiet for the quiet days)
    and the age of the open one; ``onset``, the day the open episode began (None: none is open); ``warned``,
    for each renewal, the days it was warned ahead by the episode it ended: from its onset, and from its first
    confident RUL (0 when none)."""

    intervals: tuple[float, ...] = ()
    censored: tuple[float, ...] = ()
    onset: Day | None = None
    warned: tuple[tuple[float, float], ...] = ()


def warning_episodes(
    warnings: Iterable[tuple[Day, Day | None]],
    renewals: Iterable[tuple],
    today: Day,
    quiet_days: float,
    ruls: Iterable[tuple[Day, Day | None]] = (),
    watched_from: Day | None = None,
    settle_days: float = 0.0,
) -> Episodes:
    """One machine's warning episodes (``Episodes``) on ``today`` from its ``warnings`` and confident ``ruls``
    (first and last day each was seen, None while it is still seen; dates or day numbers) and its ``renewals``
    (day, True for a failure, False for a planned replacement, and optionally the day the machine was back in
    service, the renewal's day by default). An episode that began less than ``settle_days`` after the machine
    was watched (``watched_from``, or back from its last renewal) began before it was known healthy: its length
    is unknown, so it gives no interval nor censored length, and its renewal no warning days; it still gives
    the open ``onset``. An episode opens with a warning of either kind;
    one that begins within ``quiet_days`` of the episode's last sight joins it; a renewal while the episode is
    open (within its quiet days) ends it: a failure gives an interval, a planned replacement a censored length.
    An episode quiet for ``quiet_days`` ends without one (censored), as a need is released. A warning first
    seen on a renewal's day belongs to the renewed machine. Warnings that begin and renewals after ``today``
    are not known yet (a warning last seen after today is still seen)."""
    if not (math.isfinite(quiet_days) and quiet_days >= 0):
        raise ValueError(f"quiet days must be a finite number >= 0, got {quiet_days!r}")
    spans = sorted(
        [(first, last, False) for first, last in warnings] + [(first, last, True) for first, last in ruls],
        key=lambda w: w[0],
    )
    for first, last, _rul in spans:
        if last is not None and last < first:
            raise ValueError(f"a warning last seen on {last} before it began on {first}")
    # Records dated after today (a clock or time zone ahead of the plan's day) are not known yet.
    spans = [(f, None if last is None or last > today else last, rul) for f, last, rul in spans if f <= today]
    pending = sorted((r for r in renewals if r[0] <= today), key=lambda r: r[0])
    intervals, censored, warned = [], [], []
    onset = end = first_rul = None  # the current episode's first and last day seen (end None: still seen)
    life_from = watched_from  # the day the current life was watched from
    truncated = False  # the current episode began before the machine was known healthy

    def quiet_for(day):
        return end is not None and _days(day, end) > quiet_days

    def close():
        nonlocal onset
        if not truncated:
            censored.append(_days(end, onset))
        onset = None

    def renew(day, failed, back_on=None):
        nonlocal onset, life_from
        life_from = day if back_on is None else back_on
        if onset is not None and quiet_for(day):
            close()
        if onset is None:
            warned.append((0.0, 0.0))
            return
        if not truncated:
            length = _days(day, onset)
            (intervals if failed else censored).append(length)
            warned.append((length, _days(day, first_rul) if first_rul is not None else 0.0))
        onset = None

    i = 0
    for first, last, rul in spans:
        while i < len(pending) and pending[i][0] <= first:
            renew(*pending[i])
            i += 1
        if onset is not None and quiet_for(first):
            close()
        if onset is None:
            onset, end, first_rul = first, last, None
            truncated = life_from is not None and _days(first, life_from) < settle_days
        elif end is not None:
            end = None if last is None else max(end, last)
        if rul and first_rul is None:
            first_rul = first
    for renewal in pending[i:]:
        renew(*renewal)
    current = None
    if onset is not None:
        # Today no warning was seen unless a span reaches it: the episode is over once quiet for the quiet days.
        if end is not None and _days(today, end) >= quiet_days:
            close()
        else:
            if not truncated:
                censored.append(max(_days(today, onset), 0.0))
            current = onset
    return Episodes(tuple(intervals), tuple(censored), current, tuple(warned))
