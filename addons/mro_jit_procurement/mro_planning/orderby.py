"""Order-by dates: the latest day to order a spare part so it is kitted before the predicted failure.

The model. T = remaining useful life (days from today), known through the predictive engine's quantiles at
``PROBS``; L = vendor lead time (days), lognormal from ``LeadTimeStats``; D = receiving + kitting days.
T and L are independent. Ordering ``x`` days from today, the kit is late when ``x + L + D > T``::

    P_late(x) = P(T < x + L + D) = E_L[F_T(x + L + D)] = integral of F_T(x + D + Q_L(u)) du over u in (0, 1)

computed with the midpoint rule in probability space (``Q_L`` at 2000 levels ``(j - 0.5) / 2000``, one
vectorised numpy call). ``F_T`` interpolates the quantiles linearly; outside them it follows the engine's
own ``p_fail_within``: below the 1% quantile it falls linearly to 0 at t = 0 (a deliberately heavy left tail,
since the engine states nothing there), above the 99% quantile it rises linearly to 1 at twice that quantile.

``P_late`` never decreases with ``x``, so the order-by offset, the latest whole day with
``P_late(x) <= risk``, is found by bisection on whole days. The allowed risk comes from the equipment's
criticality (``RISK_BY_CRITICALITY``); ``None`` means run to failure: nothing is ordered ahead.

Calendars (``order_by_date``). Lead times are learned in calendar days, so the vendor's ordinary weekends
are already inside them; ``vendor_closed`` should list exceptional closures (holidays, summer shutdown).
Each vendor-closed day met while the shipment is under way (the lead time's ``1 - risk`` quantile, in
open days from the order day) delays the arrival by one day, so the order moves one day earlier. The
order day itself must be a plant working day (someone places the order): ``plant_closed`` lists those
(weekends, holidays, shutdowns) and the order is pulled forward to the latest working day before. Receiving
and kitting are counted in calendar days as given.

A hard deadline (``deadline``: the maintenance request's scheduled day). The kit must be ready before the job
starts: receiving and kitting take that many plant working days before the job's day, so the part must
arrive by ``A`` (walking back from the day before the job over working days); ordering on day ``x`` it is late
when ``x + L > A``, so the latest safe order is ``A - Q_L(1 - risk)`` (whole days), then the same calendar
walk. When the deadline gives an earlier date than the failure distribution, it is the order-by date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
from scipy.special import ndtri

from .leadtime import LeadTimeStats
from .workdays import MAX_WALK_DAYS, Closures, is_closed_fn, pull_forward, shipping_delay

#: Probability levels of the RUL quantiles the predictive engine stores (0.01 ... 0.99).
PROBS = np.round(np.linspace(0.01, 0.99, 99), 2)
#: Allowed probability that the part arrives after the failure, by equipment criticality (None: run to failure).
RISK_BY_CRITICALITY: dict[str, float | None] = {"A": 0.01, "B": 0.05, "C": None}
#: Lead-time probability levels of the midpoint rule.
_LEAD_LEVELS = (np.arange(2000) + 0.5) / 2000
#: A lower RUL bound of 0 is read as this share of the median (the log of 0 does not exist).
_LOWER_FLOOR_SHARE = 1e-3
#: What "too late" means for each driver of the date, in the buyer's words.
_TOO_LATE = {"failure": "after the failure", "deadline": "too late for the scheduled job"}
#: Allowed risk of missing a scheduled job's date when the equipment's criticality runs to failure.
DEADLINE_RISK = 0.05


@dataclass(frozen=True)
class OrderBy:
    """Latest order offset (whole days from today, negative = already late; ``None`` = run to failure), the
    probability that the part then arrives after the failure, and a short explanation."""

    offset_days: int | None
    risk_at_offset: float | None
    reason: str


@dataclass(frozen=True)
class OrderByDate:
    """Order-by date (``None`` = run to failure) with the buyer's explanation; ``late`` when the date is
    before today; ``risk_if_today`` = P(part arrives too late: after the failure, or after the scheduled job's
    kitting starts when the deadline sets the date) when ordered today; ``plan`` = the failure's offset before
    calendars (``offset_days`` None without a failure distribution)."""

    day: date | None
    reason: str
    late: bool
    risk_if_today: float | None
    plan: OrderBy
    #: what set the date: "failure" (the RUL distribution), "deadline" (the scheduled job) or "" (run to failure)
    driver: str = "failure"
    #: the day the part must arrive for that date to hold (the safe order day + the shipping days at the risk)
    arrive_by: date | None = None


def check_rul_quantiles(rul_quantiles) -> np.ndarray:
    """The RUL quantiles (days from now at ``PROBS``) as a float array, checked: 99 finite values >= 0, never
    decreasing. Raises ValueError otherwise."""
    q = np.asarray(rul_quantiles, dtype=float).ravel()
    if q.size != PROBS.size:
        raise ValueError(f"expected {PROBS.size} RUL quantiles (at probability 0.01 ... 0.99), got {q.size}")
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError("RUL quantiles must be finite numbers of days >= 0")
    if np.any(np.diff(q) < 0):
        raise ValueError("RUL quantiles must not decrease with the probability level")
    return q


def lognormal_quantiles(median: float, lower: float, upper: float, confidence: float = 0.8) -> np.ndarray:
    """RUL quantiles (days) at ``PROBS`` from a median and a central ``confidence`` interval [lower, upper]
    (days): a two-piece lognormal, one log-spread below the median and one above, so all three are matched
    exactly. A lower bound of 0 is floored at 0.1% of the median; a median of 0 gives all zeros."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    if not (math.isfinite(upper) and 0 <= lower <= median <= upper):
        raise ValueError(f"need 0 <= lower <= median <= upper (days), got {lower!r}, {median!r}, {upper!r}")
    if median == 0:
        return np.zeros(PROBS.size)
    z = float(ndtri((1 + confidence) / 2))
    s_lo = math.log(median / max(lower, _LOWER_FLOOR_SHARE * median)) / z
    s_hi = math.log(upper / median) / z
    zp = ndtri(PROBS)
    return median * np.exp(zp * np.where(zp < 0, s_lo, s_hi))


def rul_quantiles_now(
    stated=None,
    rul_days: float = 0.0,
    lower: float | None = None,
    upper: float | None = None,
    confidence: float | None = None,
    elapsed_days: float = 0.0,
) -> np.ndarray:
    """The RUL quantiles (days at ``PROBS``) ``elapsed_days`` after the analysis stated them: its own ``stated``
    quantiles when it gave all of them, else a two-piece lognormal from its RUL and interval (``rul_days``,
    ``lower``, ``upper`` at ``confidence``, missing bounds taken as 0 and the RUL, confidence 0.8), less the
    time elapsed, floored at 0 and never decreasing (ties broken by a nanoday, as a capped RUL has them)."""
    if stated is not None and len(stated) == PROBS.size:
        q = np.asarray(stated, dtype=float) - elapsed_days
    else:
        median = max(rul_days, 0.01)
        q = (
            lognormal_quantiles(
                median,
                max(lower or 0.0, 0.0),
                max(upper or rul_days, 0.02),
                confidence or 0.8,
            )
            - elapsed_days
        )
    return np.maximum.accumulate(np.maximum(q, 0.0) + _TIES)


#: Added to the quantiles so that equal ones (a capped RUL) become strictly increasing.
_TIES = np.arange(PROBS.size) * 1e-9


def _cdf(t: np.ndarray, q: np.ndarray) -> np.ndarray:
    """F_T at days ``t`` from checked quantiles ``q`` (see the module docstring for the tails)."""
    xp = q + _TIES
    inside = np.interp(t, xp, PROBS)
    left = PROBS[0] * t / xp[0] if xp[0] > 0 else np.zeros_like(t)
    right = PROBS[-1] + (1 - PROBS[-1]) * np.minimum(1.0, (t - xp[-1]) / max(xp[-1], 1e-9))
    out = np.where(t < xp[0], left, np.where(t >= xp[-1], right, inside))
    return np.where(t < 0, 0.0, out)


def _cdf_sorted(t: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``_cdf`` for increasing days ``t`` (the lead-time levels of ``_late``), by slices instead of masks."""
    xp = q + _TIES
    out = np.interp(t, xp, PROBS)
    first, last = float(xp[0]), float(xp[-1])
    below = int(np.searchsorted(t, first, side="left"))
    if below:
        out[:below] = PROBS[0] * t[:below] / first if first > 0 else 0.0
    beyond = int(np.searchsorted(t, last, side="left"))
    if beyond < t.size:
        out[beyond:] = PROBS[-1] + (1 - PROBS[-1]) * np.minimum(1.0, (t[beyond:] - last) / max(last, 1e-9))
    negative = int(np.searchsorted(t, 0.0, side="left"))
    if negative:
        out[:negative] = 0.0
    return out


def rul_cdf(t: float | np.ndarray, rul_quantiles) -> float | np.ndarray:
    """P(failure within ``t`` days from now), read off RUL quantiles (days at ``PROBS``)."""
    out = _cdf(np.asarray(t, dtype=float), check_rul_quantiles(rul_quantiles))
    return float(out) if out.ndim == 0 else out


@lru_cache(maxsize=512)
def _lead_levels(lead: LeadTimeStats) -> np.ndarray:
    """The lead time's quantiles (days) at the midpoint levels, computed once per distinct lead time."""
    out = lead.quantile(_LEAD_LEVELS)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=4096)
def lead_quantile(lead: LeadTimeStats, p: float) -> float:
    """``lead.quantile(p)`` (days), computed once per distinct lead time and level."""
    return float(lead.quantile(p))


def _late(offset: float, q: np.ndarray, lead_q: np.ndarray, fixed: float) -> float:
    return float(np.mean(_cdf_sorted(offset + fixed + lead_q, q)))


def _fixed_days(receiving_days: float, kitting_days: float) -> float:
    if not all(math.isfinite(d) and d >= 0 for d in (receiving_days, kitting_days)):
        raise ValueError("receiving and kitting days must be finite numbers >= 0")
    return float(receiving_days + kitting_days)


def late_probability(
    offset_days: float, rul_quantiles, lead: LeadTimeStats, receiving_days: float = 0.0, kitting_days: float = 0.0
) -> float:
    """P(the part is received and kitted after the failure) when ordered ``offset_days`` days from today,
    given RUL quantiles (days at ``PROBS``), the lead time (days) and receiving + kitting (days)."""
    q = check_rul_quantiles(rul_quantiles)
    return _late(float(offset_days), q, _lead_levels(lead), _fixed_days(receiving_days, kitting_days))


def _check_risk(risk: float | None) -> None:
    if risk is not None and not 0 < float(risk) < 1:
        raise ValueError(f"allowed risk must lie strictly between 0 and 1 (or None: run to failure), got {risk!r}")


def order_by_offset(
    rul_quantiles,
    lead: LeadTimeStats,
    risk: float | None,
    receiving_days: float = 0.0,
    kitting_days: float = 0.0,
) -> OrderBy:
    """Latest whole day ``x`` (days from today, may be negative) with P(x + L + receiving + kitting > T) <=
    ``risk``, given RUL quantiles (days at ``PROBS``) and the lead time (days); ``risk=None``: run to failure."""
    _check_risk(risk)
    q = check_rul_quantiles(rul_quantiles)
    fixed = _fixed_days(receiving_days, kitting_days)
    if risk is None:
        return OrderBy(None, None, "run to failure: no order ahead")
    lead_q = _lead_levels(lead)
    # lo: every arrival before day 0, so P_late = 0. hi: every arrival after twice the 99% RUL, so P_late = 1.
    lo = math.floor(-(fixed + float(lead_q[-1]))) - 1
    hi = math.ceil(2 * float(q[-1]) - fixed - float(lead_q[0])) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _late(mid, q, lead_q, fixed) <= risk:
            lo = mid
        else:
            hi = mid
    p = _late(lo, q, lead_q, fixed)
    return OrderBy(lo, p, f"latest safe order in {lo} d: P(arrival after failure) {_pct(p)} <= {_pct(risk)}")


def _pct(p: float) -> str:
    return f"{100 * p:.3g}%"


def _rul_summary(today: date, q: np.ndarray, confidence: float) -> str:
    lo, mid, hi = np.interp([(1 - confidence) / 2, 0.5, (1 + confidence) / 2], PROBS, q)

    def day(d: float) -> str:
        return (today + timedelta(days=round(float(d)))).isoformat()

    return f"failure expected ~{day(mid)} ({confidence:.0%} {day(lo)} – {day(hi)})"


def _latest_order_day(safe: date, shipping_days: int, plant_is_closed, vendor_is_closed) -> tuple[date, int]:
    """The latest plant working day on or before ``safe`` from which a ``shipping_days``-day shipment, slowed by
    the vendor's closed days under way, still arrives by ``safe + shipping_days``; and those extra days."""
    day = safe
    for _ in range(MAX_WALK_DAYS + 1):
        day = pull_forward(day, lambda d: not plant_is_closed(d))
        vendor_extra = shipping_delay(day, shipping_days, vendor_is_closed)
        if day + timedelta(days=vendor_extra) <= safe:
            return day, vendor_extra
        day -= timedelta(days=1)
    raise ValueError(f"no order day within {MAX_WALK_DAYS} days before {safe.isoformat()} fits the calendars")


def _moves(day: date, safe: date, vendor_extra: int, plant_is_closed) -> str:
    moves = []
    plant_days = sum(plant_is_closed(day + timedelta(days=i)) for i in range(1, (safe - day).days + 1))
    if plant_days:
        moves.append(f"plant closed {plant_days} d")
    if vendor_extra:
        moves.append(f"vendor closed {vendor_extra} d during shipping")
    return f", moved {(safe - day).days} d earlier ({', '.join(moves)})" if moves else ""


def deadline_arrival(job_day: date, receiving_days: float, kitting_days: float, plant_closed: Closures = None) -> date:
    """The latest day a part may arrive for a job on ``job_day``: receiving + kitting (days, rounded up to whole
    plant working days) must fit in the working days before the job's day."""
    days = math.ceil(_fixed_days(receiving_days, kitting_days) - 1e-9)
    plant_is_closed = is_closed_fn(plant_closed)
    day = job_day
    for _ in range(MAX_WALK_DAYS + 1):
        if days <= 0:
            return day
        day -= timedelta(days=1)
        if not plant_is_closed(day):
            days -= 1
    raise ValueError(f"no {days} plant working days within {MAX_WALK_DAYS} days before {job_day.isoformat()}")


def _as_day(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def order_by_date(
    today: date,
    rul_quantiles,
    lead: LeadTimeStats,
    risk: float | None,
    receiving_days: float = 0.0,
    kitting_days: float = 0.0,
    plant_closed: Closures = None,
    vendor_closed: Closures = None,
    criticality: str | None = None,
    confidence: float = 0.8,
    deadline: date | datetime | None = None,
    deadline_risk: float | None = None,
) -> OrderByDate:
    """Order-by date for a part: RUL quantiles (days from ``today`` at ``PROBS``; ``None`` when only a deadline
    is known), lead time (days), allowed ``risk`` (``None``: run to failure), receiving and kitting (days), plant
    and vendor closed days (a set of dates or ``day -> closed`` callable); ``criticality`` and ``confidence``
    (of the interval shown) only word the reason. ``deadline``: the scheduled job's day (a datetime is taken
    at its date), the part received and kitted before it; it sets the date when earlier than the failure's,
    with ``deadline_risk`` (default ``risk``, or ``DEADLINE_RISK`` when the criticality runs to failure). The
    date is a plant working day, earlier by the vendor's closures during shipping."""
    if rul_quantiles is None and deadline is None:
        raise ValueError("an order-by date needs a failure distribution (RUL quantiles) or a deadline")
    crit = f" (criticality {criticality})" if criticality else ""
    plant_is_closed = is_closed_fn(plant_closed)
    vendor_is_closed = is_closed_fn(vendor_closed)
    candidates = []  # (day, driver, risk today, details, vendor extra, safe day, arrive by)
    plan = OrderBy(None, None, "no failure distribution")
    q = None
    if rul_quantiles is not None:
        q = check_rul_quantiles(rul_quantiles)
        plan = order_by_offset(q, lead, risk, receiving_days, kitting_days)
        if plan.offset_days is not None:
            safe = today + timedelta(days=plan.offset_days)
            shipping_days = math.ceil(lead_quantile(lead, 1 - risk))
            day, extra = _latest_order_day(safe, shipping_days, plant_is_closed, vendor_is_closed)
            details = (
                f"{_rul_summary(today, q, confidence)}, vendor lead time {lead.mean:.1f} ± {lead.std:.1f} d, "
                f"receiving {receiving_days:g} d + kitting {kitting_days:g} d, risk {_pct(risk)}{crit}"
            )
            risk_today = late_probability(0, q, lead, receiving_days, kitting_days)
            candidates.append((day, "failure", risk_today, details, extra, safe, safe + timedelta(days=shipping_days)))
    if deadline is not None:
        job = _as_day(deadline)
        d_risk = deadline_risk if deadline_risk is not None else (risk if risk is not None else DEADLINE_RISK)
        _check_risk(d_risk)
        arrival = deadline_arrival(job, receiving_days, kitting_days, plant_closed)
        shipping_days = math.ceil(lead_quantile(lead, 1 - d_risk))
        safe = arrival - timedelta(days=shipping_days)
        day, extra = _latest_order_day(safe, shipping_days, plant_is_closed, vendor_is_closed)
        details = (
            f"job scheduled {job.isoformat()}: part needed by {arrival.isoformat()} (receiving "
            f"{receiving_days:g} d + kitting {kitting_days:g} d in working days), vendor lead time "
            f"{lead.mean:.1f} ± {lead.std:.1f} d, risk {_pct(d_risk)}{crit}"
        )
        if q is not None:  # the forecast stays in the reason, whichever sets the date
            details += f"; {_rul_summary(today, q, confidence)}"
        risk_today = 1.0 - float(lead.cdf((arrival - today).days))
        candidates.append((day, "deadline", risk_today, details, extra, safe, arrival))
    if not candidates:
        reason = f"run to failure{crit}: no order ahead; {_rul_summary(today, q, confidence)}"
        return OrderByDate(None, reason, False, None, plan, "")
    day, driver, risk_today, details, extra, safe, arrive_by = min(candidates, key=lambda c: (c[0], c[1] != "deadline"))
    details += _moves(day, safe, extra, plant_is_closed)
    if len(candidates) > 1:
        other = next(c for c in candidates if c[1] != driver)
        details += f"; the {other[1]} alone would allow {other[0].isoformat()}"
    late = day < today
    if late:
        reason = (
            f"order now, {(today - day).days} d late (order-by date was {day.isoformat()}); "
            f"ordering today: {_pct(risk_today)} chance of arriving {_TOO_LATE[driver]}; {details}"
        )
    else:
        reason = f"order by {day.isoformat()}: {details}"
    return OrderByDate(day, reason, late, risk_today, plan, driver, arrive_by)
