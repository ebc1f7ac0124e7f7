"""Dynamic min/max of a spare part shared by several machines: the orderpoint the planner keeps beside its needs.

Demand over the replenishment cover. A part ordered now is in the kit after ``L + D`` days (``L`` the vendor's
lead time, lognormal, ``D`` receiving + kitting). Machine ``i`` using ``q_i`` units needs them within that with
probability ``p_i(L)``:

- a machine of class A or B with a usable warning (``warning_kinds``) is not the buffer's: its need buys the
  part in time at the allowed risk (and what it claims is added to the orderpoint, ``orderpoint_levels``);
- any other machine: only renewals that come with less warning than the cover can surprise the shelf, so
  ``p = 1 - exp(-r (L + D))`` with ``r`` the plant's rate of renewals warned less than the cover ahead
  (``unwarned_rate``), or, with the machine's Weibull residual life, ``F_W(L + D)`` x the share of renewals
  warned that late (an older machine is likelier to fail);
- a run-to-failure (class C) machine with warnings of its own sensors (RUL, episode onset) has no need to buy
  for it: ``p`` is at least ``F_T(L + D)`` of its most pessimistic warning.

All machines share the same ``L`` (one vendor), so the pooled demand is a mixture over the lead time: the exact
distribution of the sum of Bernoulli(p_i(L)) x q_i at ``LEVELS`` midpoint levels of ``L``, averaged. This is
where the vendor's lead-time variance enters: a wide lead time fattens the tail of the pooled demand.

Min = the demand's quantile at the service level of the most critical user (``Policy.service``: A 99%, B 95%,
C only 90%: run to failure, minimal stock), the safety part x the risk-mode factor (lead times are stretched
too); class A machines whose warnings came less than this part's cover ahead more often than their risk allows
(no predictive cover) keep at least one replacement on site. Max = min + EOQ - 1 (Odoo orders up to max once
the forecast falls below min, so with demand one unit at a time an order is max - min + 1 units), the EOQ from
the unwarned renewals only: a predicted failure is one replacement bought for its need, not a yearly rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .demand import MinMax, PooledDemand, eoq, min_max
from .leadtime import LeadTimeStats
from .orderby import _cdf, check_rul_quantiles
from .policy import Policy, cover_days, warning_kinds
from .signals import Signal, WarningHistory

#: Warnings that put a run-to-failure machine (no needs) in the buffer: its own sensors' (RUL, episode onset).
RUN_TO_FAILURE_KINDS = ("rul", "onset")
#: Lead-time levels of the demand mixture (midpoints).
LEVELS = (np.arange(16) + 0.5) / 16


@dataclass(frozen=True)
class BufferUser:
    """A machine in service using the part: criticality, units per replacement, its warnings since its last
    renewal and, without a trend, its Weibull residual life quantiles (days at ``PROBS``; None: the plant's
    rate)."""

    criticality: str | None
    quantity: float
    signals: tuple[Signal, ...] = ()
    hazard_quantiles: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class BufferInputs:
    """One part's buffer inputs: its users, the vendor's lead time (days), the part's unit cost (currency) and
    the plant's warning histories (see ``signals``)."""

    users: tuple[BufferUser, ...]
    lead: LeadTimeStats
    unit_cost: float
    rul_warnings: WarningHistory = field(default_factory=WarningHistory)
    early_warnings: WarningHistory = field(default_factory=WarningHistory)


def unwarned_rate(warnings: WarningHistory, cover: float) -> float:
    """Failures per machine and day that come with less than ``cover`` days of warning, from the plant's own
    failures (``WarningHistory.rate_below``)."""
    return warnings.rate_below(cover)


def _mixture_pmf(p: np.ndarray, qty: np.ndarray) -> np.ndarray:
    """Average over rows (lead-time levels) of the exact pmf of sum Bernoulli(p[:, i]) x qty[i] (whole units)."""
    pmf = np.ones((p.shape[0], 1))
    for i, units in enumerate(qty.astype(int)):
        out = np.zeros((pmf.shape[0], pmf.shape[1] + units))
        out[:, : pmf.shape[1]] += (1 - p[:, i : i + 1]) * pmf
        out[:, units:] += p[:, i : i + 1] * pmf
        pmf = out
    return pmf.mean(axis=0)


def part_buffer(x: BufferInputs, policy: Policy) -> MinMax | None:
    """The part's min/max (whole units) with the reason in words; None when no machine in service uses it."""
    if not x.users:
        return None
    lead = policy.effective_lead(x.lead)
    covers = (lead.quantile(LEVELS) if lead.std > 0 else np.full(LEVELS.size, lead.mean)) + policy.fixed_days
    mean_cover = lead.mean + policy.fixed_days
    probs, qtys, annual, spare, service, planned = [], [], 0.0, 0.0, 0.0, 0
    kinds_of = {}  # per criticality: the warnings its needs plan from (the same for every user of the part)
    for user in x.users:
        crit = user.criticality or "B"
        if crit not in kinds_of:
            kinds_of[crit] = warning_kinds(crit, x.lead, x.rul_warnings, x.early_warnings, policy)[0]
        kinds = kinds_of[crit]
        history = x.early_warnings if len(kinds) > 1 else x.rul_warnings
        rate = unwarned_rate(history, mean_cover)
        annual += 365.0 * rate * user.quantity
        service = max(service, policy.service(crit))
        risk = policy.risk(crit)
        if (
            crit in policy.spare_classes
            and risk is not None
            and history.share_below(cover_days(lead, risk, policy)) > risk
        ):
            spare = max(spare, math.ceil(user.quantity - 1e-9))
        if kinds and any(s.kind in kinds for s in user.signals):
            planned += 1  # its need buys the part in time at the allowed risk: not the buffer's to cover
            continue
        if user.hazard_quantiles is not None:
            p = _cdf(covers, check_rul_quantiles(user.hazard_quantiles)) * history.share_below(mean_cover)
        else:
            p = -np.expm1(-rate * covers)
        warned = [s for s in user.signals if s.kind in RUN_TO_FAILURE_KINDS] if not kinds else []
        if warned:  # run to failure: no need buys for it, but its warnings say a repair is coming (never less)
            p = np.max([p, *(_cdf(covers, s.quantiles) for s in warned)], axis=0)
        probs.append(np.clip(p, 0.0, 1.0))
        qtys.append(float(user.quantity))
    if not probs:
        probs, qtys = [np.zeros(LEVELS.size)], [1.0]
    p = np.column_stack(probs)
    q = np.asarray(qtys)
    per_level = p @ q
    mean = float(per_level.mean())
    variance = float((p * (1 - p) @ (q**2)).mean() + per_level.var())
    whole = bool(np.all(q == np.round(q)))
    demand = PooledDemand(mean, variance, len(probs), _mixture_pmf(p, q) if whole else None)
    holding = x.unit_cost * policy.holding_rate
    lot = eoq(annual, policy.order_cost, holding) if holding > 0 else (1 if annual > 0 else 0)
    # Odoo orders up to max once the forecast is below min: one unit at a time, that is max - min + 1 units.
    spread = max(lot - 1, 0)
    result = min_max(demand, service, spread, risk_factor=policy.risk_factor)
    low = max(result.min_qty, int(spare))
    how = "exact" if demand.pmf is not None else "normal"
    reason = (
        f"min {low} = {service:.1%} service of the demand over the lead time {lead.mean:.1f} ± {lead.std:.1f} d "
        f"+ {policy.fixed_days:g} d (mean {demand.mean:.2f}, {how} mixture over the lead time, "
        f"{len(probs) if planned < len(x.users) else 0} machines not planned by needs; {planned} planned by them)"
    )
    if policy.risk_factor != 1:
        reason += f", risk mode x{policy.risk_factor:g}"
    if spare > result.min_qty:
        reason += f", raised to {spare:g}: an on-site spare for class A without predictive cover"
    reason += (
        f"; max {low + spread} = min + EOQ {lot} - 1 (an order is max - min + 1 units), "
        f"EOQ from {annual:.2f} unwarned replacements a year"
    )
    return MinMax(low, low + spread, result.safety_stock, reason)


def orderpoint_levels(buffer: MinMax, claimed: float) -> MinMax:
    """The min and max to write on the part's orderpoint (whole units): Odoo's orderpoint compares its min with
    the forecast (on hand + incoming - reserved), which does not see what open needs claim, so the ``claimed``
    units (of needs covered by stock or ordered) are added to the buffer's min and max."""
    if not (math.isfinite(claimed) and claimed >= 0):
        raise ValueError(f"claimed units must be a number >= 0, got {claimed!r}")
    extra = math.ceil(claimed - 1e-9)
    if not extra:
        return buffer
    reason = f"{buffer.reason}; + {extra:g} claimed by open needs"
    return MinMax(buffer.min_qty + extra, buffer.max_qty + extra, buffer.safety_stock, reason)
