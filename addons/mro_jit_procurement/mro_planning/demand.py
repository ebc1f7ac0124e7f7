"""Pooled demand for a spare part shared by several assets, net requirement, safety stock, EOQ and min/max.

Demand over a horizon (the lead time plus review period): asset ``i`` fails within it with probability
``p_i`` and then takes ``qty_i`` units, at most once (a part just replaced does not fail again within one
lead time). The pooled demand is the sum of independent Bernoulli(p_i) x qty_i: mean ``sum p_i qty_i``,
variance ``sum p_i (1 - p_i) qty_i**2``. With whole quantities its exact distribution is the convolution of
the assets' two-point distributions; with few assets (the usual case for spare parts) it is lumpy and
skewed, and the normal approximation misplaces the service-level quantile, so the exact one is preferred.

Units. Spare parts are discrete: reorder points (min), max, order quantities and net requirements are whole
units, rounded up (an unrounded 2.1 units means "3 to be safe"). ``safety_stock`` returns the exact buffer
instead, because it is added to the mean before the single rounding: rounding both would overstock. With the
exact distribution of a rare demand (a 0.3% chance of one unit), the service-level quantile (0) is below the
mean, and the min is that quantile: rounding the mean up would stock a unit the service level does not ask for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri
from scipy.stats import poisson

#: Float slack when rounding up to whole units: 3.0000000001 units is 3, not 4.
_EPS = 1e-9
METHODS = ("normal", "poisson", "exact")


@dataclass
class PooledDemand:
    """Demand (units) over a horizon: mean, variance, the number of assets pooled, and ``pmf[k]`` = P(demand =
    k units), k = 0, 1, ... (``None`` when some quantity per replacement is not whole)."""

    mean: float
    variance: float
    n_assets: int
    pmf: np.ndarray | None = field(default=None, repr=False)

    @property
    def std(self) -> float:
        """Standard deviation of the demand (units)."""
        return math.sqrt(self.variance)


@dataclass(frozen=True)
class NetRequirement:
    """Units to order (whole, >= 0), the free stock they are netted against and the demand covered (units)."""

    qty: int
    free_stock: float
    demand: float


@dataclass(frozen=True)
class MinMax:
    """Reorder point and order-up-to level (whole units), the safety stock inside the min (units, exact)
    and the reason in words."""

    min_qty: int
    max_qty: int
    safety_stock: float
    reason: str


def _ceil_units(x: float) -> int:
    return max(0, math.ceil(x - _EPS))


def _check_level(service_level: float) -> None:
    if not 0 < service_level < 1:
        raise ValueError(f"service level must lie strictly between 0 and 1, got {service_level!r}")


def bernoulli_sum_pmf(p: Sequence[float], qty: Sequence[int]) -> np.ndarray:
    """P(demand = k units), k = 0 .. sum(qty), of the sum of independent Bernoulli(p_i) x qty_i with whole
    quantities (units), by convolution: O(assets x total units)."""
    probs = np.asarray(p, dtype=float)
    units = np.asarray(qty, dtype=float)
    if probs.shape != units.shape or probs.ndim != 1:
        raise ValueError(f"need one quantity per probability, got {probs.size} and {units.size} values")
    if np.any(units != np.round(units)):
        raise ValueError("the exact distribution needs whole quantities per replacement")
    pmf = np.ones(1)
    for pi, qi in zip(probs, units.astype(int), strict=True):
        out = np.zeros(pmf.size + qi)
        out[: pmf.size] += (1 - pi) * pmf
        out[qi:] += pi * pmf
        pmf = out
    return pmf


def pmf_quantile(pmf: np.ndarray, level: float) -> int:
    """Smallest whole number of units k with P(demand <= k) >= ``level``."""
    _check_level(level)
    return int(np.searchsorted(np.cumsum(pmf), level - 1e-12))


def pooled_demand(p_fail_within_lead: Sequence[float], qty_per_replacement: Sequence[float]) -> PooledDemand:
    """Pooled demand (units) of a part from each asset's probability of failing within the lead time and its
    quantity per replacement (units): mean, variance and, for whole quantities, the exact distribution."""
    p = np.asarray(p_fail_within_lead, dtype=float).ravel()
    q = np.asarray(qty_per_replacement, dtype=float).ravel()
    if p.size != q.size:
        raise ValueError(f"need one quantity per probability, got {p.size} probabilities and {q.size} quantities")
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("failure probabilities must lie between 0 and 1")
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError("quantities per replacement must be finite numbers of units >= 0")
    whole = bool(np.all(q == np.round(q)))
    pmf = bernoulli_sum_pmf(p, q) if whole else None
    return PooledDemand(float(np.sum(p * q)), float(np.sum(p * (1 - p) * q**2)), int(p.size), pmf)


def net_requirement(demand_quantile: float, on_hand: float, reserved: float, incoming: float) -> NetRequirement:
    """Units to order (whole, rounded up) so free stock = on hand - reserved + incoming covers the demand
    quantile (units); 0 when free stock already covers it."""
    free = float(on_hand) - float(reserved) + float(incoming)
    return NetRequirement(_ceil_units(float(demand_quantile) - free), free, float(demand_quantile))


def safety_stock(
    mean: float, std: float, service_level: float, method: str = "normal", pmf: np.ndarray | None = None
) -> float:
    """Safety stock (units, not rounded) above the mean demand ``mean`` (units) for a ``service_level``
    (P(no stockout) over the horizon): "normal" z x ``std``; "poisson" the Poisson(mean) quantile minus the
    mean (``std`` unused); "exact" the quantile of ``pmf`` (see ``pooled_demand``) minus the mean. Never < 0."""
    _check_level(service_level)
    if method == "normal":
        return max(0.0, float(ndtri(service_level)) * float(std))
    if method == "poisson":
        return 0.0 if mean <= 0 else max(0.0, float(poisson.ppf(service_level, mean)) - float(mean))
    if method == "exact":
        if pmf is None:
            raise ValueError("the exact method needs the demand distribution (pmf)")
        return max(0.0, pmf_quantile(pmf, service_level) - float(mean))
    raise ValueError(f"unknown safety-stock method {method!r}: use one of {', '.join(METHODS)}")


def eoq(annual_demand: float, order_cost: float, holding_cost_per_unit_year: float) -> int:
    """Economic order quantity (whole units, rounded up) = sqrt(2 D S / H) from annual demand D (units/year),
    cost per order S (currency) and holding cost H (currency per unit and year); 0 without demand, at least
    1 unit with demand."""
    if not (math.isfinite(annual_demand) and math.isfinite(order_cost) and math.isfinite(holding_cost_per_unit_year)):
        raise ValueError("EOQ inputs must be finite numbers")
    if annual_demand < 0 or order_cost < 0:
        raise ValueError("annual demand and order cost must be >= 0")
    if annual_demand == 0:
        return 0
    if holding_cost_per_unit_year <= 0:
        raise ValueError("holding cost per unit and year must be > 0 (without it the EOQ is unbounded)")
    return max(1, _ceil_units(math.sqrt(2 * annual_demand * order_cost / holding_cost_per_unit_year)))


def min_max(
    demand: PooledDemand, service_level: float, eoq_qty: int, method: str = "auto", risk_factor: float = 1.0
) -> MinMax:
    """Min (reorder point) = lead-time demand mean + safety stock x ``risk_factor``, rounded up; max = min +
    ``eoq_qty`` (whole units). ``demand``: pooled demand over the lead time (units); ``method``: "auto" (exact
    when ``demand.pmf`` is known, normal otherwise), "normal", "poisson" or "exact"."""
    if method == "auto":
        method = "exact" if demand.pmf is not None else "normal"
    if eoq_qty < 0:
        raise ValueError(f"EOQ must be >= 0 units, got {eoq_qty!r}")
    if not (math.isfinite(risk_factor) and risk_factor > 0):
        raise ValueError(f"risk factor must be a positive number, got {risk_factor!r}")
    buffer = safety_stock(demand.mean, demand.std, service_level, method, demand.pmf) * risk_factor
    low = _ceil_units(demand.mean + buffer)
    if method == "exact" and buffer == 0:
        low = min(low, pmf_quantile(demand.pmf, service_level))  # a rare demand: the quantile may be below the mean
    high = low + math.ceil(eoq_qty)
    how = {"exact": f"exact distribution over {demand.n_assets} assets", "normal": "normal", "poisson": "Poisson"}
    reason = (
        f"min {low} = lead-time demand {demand.mean:.2f} + safety stock {buffer:.2f} "
        f"({service_level:.1%} service, {how[method]}), max {high} = min + EOQ {math.ceil(eoq_qty)}"
    )
    if risk_factor != 1:
        reason += f"; risk mode: safety stock x{risk_factor:g}"
    return MinMax(low, high, buffer, reason)
