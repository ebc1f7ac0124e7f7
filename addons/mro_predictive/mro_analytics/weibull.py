"""Weibull model of an equipment's failure history, with interval and right censoring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .rul import PROBS, RulResult, no_prediction


@dataclass
class WeibullFit:
    shape: float
    scale: float
    n_failures: int
    n_censored: int


def _log_survival(t, k, lam):
    return -((np.asarray(t, dtype=float) / lam) ** k)


def fit_weibull(intervals: Sequence[tuple[float, float]], censored: Sequence[float] = ()) -> WeibullFit | None:
    """Maximum-likelihood Weibull over times to failure known exactly (lower == upper) or within an
    interval (lower, upper], and ages survived (right-censored). ``None`` with fewer than 2 failures."""
    lows = np.array([max(0.0, float(lo)) for lo, _hi in intervals])
    highs = np.array([float(hi) for _lo, hi in intervals])
    if len(highs) < 2 or np.any(highs <= 0):
        return None
    exact = np.isclose(lows, highs)
    cens = np.array([float(c) for c in censored if c > 0])

    def nll(params):
        k, lam = np.exp(params)
        ll = 0.0
        te = highs[exact]
        if te.size:
            ll += np.sum(np.log(k / lam) + (k - 1) * np.log(te / lam) - (te / lam) ** k)
        if (~exact).any():
            s_lo = np.exp(_log_survival(lows[~exact], k, lam))
            s_hi = np.exp(_log_survival(highs[~exact], k, lam))
            ll += np.sum(np.log(np.maximum(s_lo - s_hi, 1e-300)))
        if cens.size:
            ll += np.sum(_log_survival(cens, k, lam))
        return -ll

    start = np.log([1.5, float(np.mean(highs))])
    res = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
    k, lam = np.exp(res.x)
    return WeibullFit(shape=float(k), scale=float(lam), n_failures=len(highs), n_censored=int(cens.size))


def weibull_p_fail_within(fit: WeibullFit, age: float, horizon: float) -> float:
    """P(failure within ``horizon`` | survived to ``age``) (same time unit as the fit)."""
    log_s = _log_survival(age + horizon, fit.shape, fit.scale) - _log_survival(age, fit.shape, fit.scale)
    return float(1.0 - np.exp(log_s))


def weibull_rul(fit: WeibullFit, age: float, confidence: float = 0.8) -> RulResult:
    """Residual life quantiles of a unit of ``age`` under ``fit`` (model "weibull")."""
    if fit is None:
        return no_prediction("no Weibull model", confidence)
    k, lam = fit.shape, fit.scale
    # S(age + x) / S(age) = 1 - p  =>  x = lam * ((age/lam)^k - ln(1-p))^(1/k) - age
    quantiles = lam * ((age / lam) ** k - np.log1p(-PROBS)) ** (1 / k) - age
    lower, median, upper = np.interp([(1 - confidence) / 2, 0.5, (1 + confidence) / 2], PROBS, quantiles)
    reason = (
        f"Weibull of the failure history (shape {k:.2f}, scale {lam:.0f} d, {fit.n_failures} failures, "
        f"{fit.n_censored} censored), age {age:.0f} d"
    )
    return RulResult(True, reason, "weibull", float(median), float(lower), float(upper), confidence, quantiles)
