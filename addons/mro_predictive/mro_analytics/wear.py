"""Remaining useful life of one machine from its own wear: a stochastic exponential wear model.

Real wear is not a smooth curve: a bearing's vibration rises, falls back while a defect is smoothed over,
then rises again faster. The model is the Wiener-process degradation model (Si et al. 2012; Peng & Tseng
2009) on the logarithm of the excess over the healthy level: x(t) = log(y(t) - phi) with phi the sensor's
baseline median, dx = mu dt + sigma dW, observed with noise. From the wear phase only (after the onset of
wear, where y stands clearly above its baseline):

- the volatility sigma^2 (per day) and the observation noise come from the variogram of x: half the mean
  squared increment at lag L is noise + sigma^2 L dt (least squares over the first lags), so erratic wear
  gives a large sigma and a short, noisy history a large noise;
- the drift mu is the rise of x between the start and the end of the wear phase (medians of a few points)
  over the time between them, with the variance sigma^2 / T + noise / T^2 that the Wiener model gives it.
  A prediction needs mu > 0: the trend points at the limit. The drift is lognormal around its estimate
  (wear does not heal; a short history leaves its rate uncertain by a factor, not by a sign);
- the RUL is the first passage of x through log(threshold - phi): inverse Gaussian for a known drift,
  averaged here over the drift's distribution (Gauss-Hermite nodes), so the interval widens with the
  volatility and with a short wear history, and always ends (no "never" mass from a drift of either sign).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtr

from .baseline import fast_median

#: A point belongs to the wear phase when it stands this many baseline sigmas above the baseline median.
WEAR_SIGMAS = 2.0
#: Fewest wear-phase points for a wear model.
MIN_WEAR_POINTS = 6
#: Points whose median makes the start and the end level of the wear phase (at most half of them).
LEVEL_POINTS = 6
#: Wear grows: the excess over the baseline must have grown by this factor within the wear phase (a jump to
#: a new level that stays there is a level shift).
MIN_GROWTH = 1.5
#: Most variogram lags used to separate the volatility from the observation noise.
MAX_LAGS = 12
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(9)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _inverse_gaussian_cdf(t: np.ndarray, distance: float, mu: float, s2: float) -> np.ndarray:
    """P(first passage of a Wiener process with drift ``mu`` > 0 and variance ``s2`` per day through
    ``distance`` > 0 happens before ``t``), ``t`` > 0 in days; computed in log space where it overflows."""
    s = np.sqrt(s2 * t)
    first = ndtr((mu * t - distance) / s)
    second = np.exp(np.minimum(2.0 * mu * distance / s2 + log_ndtr(-(mu * t + distance) / s), 0.0))
    return np.clip(first + second, 0.0, 1.0)


def wear_cdf(
    t: np.ndarray, y: np.ndarray, threshold: float, phi: float, scale: float, now: float, start: int, grid: np.ndarray
) -> tuple[np.ndarray, str, float] | str:
    """CDF of the RUL on ``grid`` (days from ``now``) of the rising signal ``y`` at times ``t`` (days) toward
    ``threshold``, from its wear phase: the points from index ``start`` on (the onset of wear) that stand
    WEAR_SIGMAS x ``scale`` above the healthy level ``phi``. Returns (cdf, what was fitted, the drift over its
    standard error), or the reason there is no wear model (a string)."""
    if threshold <= phi:
        return f"the threshold {threshold:g} is not above the healthy level {phi:.3g}"
    worn = np.flatnonzero((np.arange(t.size) >= start) & (y - phi > WEAR_SIGMAS * scale))
    if worn.size < MIN_WEAR_POINTS:
        return f"{worn.size} points of wear above the healthy level {phi:.3g} (< {MIN_WEAR_POINTS})"
    tw, xw = t[worn], np.log(y[worn] - phi)
    m = min(LEVEL_POINTS, xw.size // 2)
    level, t_level = fast_median(xw[-m:]), fast_median(tw[-m:])
    first, t_first = fast_median(xw[:m]), fast_median(tw[:m])
    elapsed = t_level - t_first
    if elapsed <= 0:
        return "the wear phase is too short to measure a rate"
    lags = np.arange(1, max(2, min(MAX_LAGS, xw.size // 3)) + 1)
    dt = float(np.median(np.diff(tw)))
    semivariance = np.array([0.5 * np.mean((xw[lag:] - xw[:-lag]) ** 2) for lag in lags])
    design = np.column_stack([np.ones(lags.size), lags * dt])
    (noise, s2), *_ = np.linalg.lstsq(design, semivariance, rcond=None)
    noise = max(float(noise), 0.0)
    s2 = max(float(s2), 1e-6)
    mu = (level - first) / elapsed
    if mu <= 0:
        return f"the wear phase is not rising (log-rate {mu:.3g}/day)"
    if level - first < np.log(MIN_GROWTH):
        return (
            f"a level shift, not wear: the excess over the baseline grew x{np.exp(level - first):.2f} since the onset"
        )
    var_mu = s2 / elapsed + 2.0 * noise / (elapsed**2 * m)
    distance = float(np.log(threshold - phi) - level - mu * (now - t_level))
    if distance <= 0:
        return "the wear trend has reached the threshold by now"
    sl = float(np.sqrt(np.log1p(var_mu / mu**2)))
    days = grid[1:]
    cdf = sum(
        w * _inverse_gaussian_cdf(days, distance, mu * np.exp(sl * x), s2)
        for x, w in zip(_NODES, _WEIGHTS, strict=True)
    )
    what = (
        f"wear {100 * mu:.3g}%/day (x{np.exp(sl):.2f}) above the healthy {phi:.3g} over the last "
        f"{elapsed:.1f} days ({worn.size} points), volatility {np.sqrt(s2):.2f}/sqrt(day)"
    )
    return np.concatenate([[0.0], cdf]), what, float(mu / np.sqrt(var_mu))
