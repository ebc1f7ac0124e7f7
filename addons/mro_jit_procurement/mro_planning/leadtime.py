"""Lead-time statistics per vendor and part, learned from receipts and shrunk toward the vendor's quote.

Lead time = days from the purchase order's date to the done receipt (calendar days, so the vendor's
ordinary weekends are inside the figures).

Shrinkage (normal-inverse-gamma pseudo-counts). The prior is the vendor's quoted delay ``prior_mean``
(the pricelist ``delay``) with spread ``prior_std`` (default ``DEFAULT_PRIOR_CV`` x the quote), worth
``prior_weight`` receipts ``k0`` for the mean and for the variance alike. With ``n`` receipts of mean ``xbar``
and sum of squared deviations ``ss``::

    mean = (k0 * prior_mean + n * xbar) / (k0 + n)
    var  = (k0 * prior_std**2 + ss + k0 * n / (k0 + n) * (xbar - prior_mean)**2) / (k0 + n)

These are the posterior mean of the lead-time mean and the posterior point value of its variance
(``nu_n * s_n**2 / nu_n`` with ``nu0 = kappa0 = k0``). The last term widens the spread when history
disagrees with the quote. Three receipts against a weight of 3 meet the quote halfway; thirty receipts
leave a tenth of its pull. Without a prior the figures are the sample mean and standard deviation.

Distribution. Lead times are positive and right-skewed (a late shipment can be weeks late, an early one
only a few days early), so quantiles and the CDF use the lognormal distribution with the stated mean and
standard deviation: ``sigma**2 = ln(1 + cv**2)``, ``mu = ln(mean) - sigma**2 / 2``. A normal truncated at 0
would put as much weight on "early" as on "late" and understate the late tail that drives stockouts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import ndtr, ndtri

#: Default prior spread as a share of the quoted delay (a 10-day quote: std 2.5 days).
DEFAULT_PRIOR_CV = 0.25
#: Default weight of the quote, in receipts.
DEFAULT_PRIOR_WEIGHT = 3.0
#: A coefficient of variation this high (or more) scores the full half of the variance score.
CV_FULL_SCORE = 1.0


@dataclass(frozen=True)
class LeadTimeStats:
    """Lead time of one vendor and part, in days: mean, standard deviation, receipts used, share on time
    (``None`` when no promise is known) and where the figures come from: "history", "prior" or
    "history+prior" (or "manual" for an override)."""

    mean: float
    std: float
    n: int = 0
    on_time_rate: float | None = None
    source: str = "manual"

    def __post_init__(self):
        if not (math.isfinite(self.mean) and self.mean >= 0):
            raise ValueError(f"lead time mean must be a finite number of days >= 0, got {self.mean!r}")
        if not (math.isfinite(self.std) and self.std >= 0):
            raise ValueError(f"lead time std must be a finite number of days >= 0, got {self.std!r}")

    def _lognormal(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.std / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def quantile(self, p: float | np.ndarray) -> float | np.ndarray:
        """Lead time (days) not exceeded with probability ``p`` in (0, 1), from the lognormal with this mean
        and std; a constant lead time when std or mean is 0. Arrays in, arrays out."""
        p_arr = np.asarray(p, dtype=float)
        if np.any((p_arr <= 0) | (p_arr >= 1)):
            raise ValueError("probability levels must lie strictly between 0 and 1")
        if self.std == 0 or self.mean == 0:
            out = np.full(p_arr.shape, float(self.mean))
        else:
            mu, sigma = self._lognormal()
            out = np.exp(mu + sigma * ndtri(p_arr))
        return float(out) if out.ndim == 0 else out

    def cdf(self, x: float | np.ndarray) -> float | np.ndarray:
        """P(lead time <= x days), lognormal with this mean and std (a step at the mean when std is 0)."""
        x_arr = np.asarray(x, dtype=float)
        if self.std == 0 or self.mean == 0:
            out = (x_arr >= self.mean).astype(float)
        else:
            mu, sigma = self._lognormal()
            with np.errstate(divide="ignore"):
                out = np.where(x_arr > 0, ndtr((np.log(np.maximum(x_arr, 1e-300)) - mu) / sigma), 0.0)
        return float(out) if out.ndim == 0 else out

    def scaled(self, factor: float) -> LeadTimeStats:
        """The same vendor with mean and std (days) times ``factor`` (risk mode: longer, less certain)."""
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"factor must be a positive number, got {factor!r}")
        return replace(self, mean=self.mean * factor, std=self.std * factor, source=f"{self.source} x{factor:g}")


def _check_samples(samples) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(samples, dtype=float))
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"samples[{i}] = {float(arr[i])!r}: lead times must be finite numbers of days >= 0")
    return arr


def lead_time_stats(
    samples: Sequence[float],
    promised: float | Sequence[float] | None = None,
    prior_mean: float | None = None,
    prior_std: float | None = None,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
    on_time_tolerance: float = 0.0,
) -> LeadTimeStats:
    """Lead-time statistics (days) from past lead times ``samples`` (days, order -> done receipt), shrunk
    toward ``prior_mean`` ± ``prior_std`` days with the weight of ``prior_weight`` receipts (see the module
    docstring). ``promised``: promised lead time in days, one for all or one per sample; a receipt is on
    time when ``sample <= promised + on_time_tolerance``. Raises ValueError without samples nor prior."""
    x = _check_samples(samples) if np.size(samples) else np.zeros(0)
    n = int(x.size)
    use_prior = prior_mean is not None and prior_weight > 0
    if prior_mean is not None:
        if not (math.isfinite(prior_mean) and prior_mean >= 0):
            raise ValueError(f"prior_mean must be a number of days >= 0, got {prior_mean!r}")
        if prior_std is None:
            prior_std = DEFAULT_PRIOR_CV * prior_mean
        if not (math.isfinite(prior_std) and prior_std >= 0):
            raise ValueError(f"prior_std must be a number of days >= 0, got {prior_std!r}")
    if not (math.isfinite(prior_weight) and prior_weight >= 0):
        raise ValueError(f"prior_weight must be a number of receipts >= 0, got {prior_weight!r}")

    on_time = None
    if promised is not None and n:
        due = np.atleast_1d(np.asarray(promised, dtype=float))  # a promise before the order date: always late
        if not np.all(np.isfinite(due)):
            raise ValueError("promised lead times must be finite numbers of days")
        if due.size not in (1, n):
            raise ValueError(f"promised has {due.size} values for {n} samples: give one, or one per sample")
        on_time = float(np.mean(x <= due + on_time_tolerance))

    if n == 0:
        if prior_mean is None:
            raise ValueError("no lead-time history and no prior (quoted delay): nothing to plan with")
        return LeadTimeStats(float(prior_mean), float(prior_std), 0, None, "prior")

    xbar = float(np.mean(x))
    ss = float(np.sum((x - xbar) ** 2))
    if not use_prior:
        std = math.sqrt(ss / (n - 1)) if n > 1 else DEFAULT_PRIOR_CV * xbar
        return LeadTimeStats(xbar, std, n, on_time, "history")

    k0 = float(prior_weight)
    kn = k0 + n
    mean = (k0 * prior_mean + n * xbar) / kn
    var = (k0 * prior_std**2 + ss + k0 * n / kn * (xbar - prior_mean) ** 2) / kn
    return LeadTimeStats(mean, math.sqrt(var), n, on_time, "history+prior")


def variance_score(stats: LeadTimeStats) -> float:
    """Vendor variance score 0..100 (higher = less dependable) from ``stats``: half from the coefficient of
    variation std/mean (full marks at ``CV_FULL_SCORE``), half from the late share 1 - on_time_rate; all of
    it from the CV when the on-time rate is unknown. 0 = steady and always on time."""
    cv = stats.std / stats.mean if stats.mean > 0 else (0.0 if stats.std == 0 else CV_FULL_SCORE)
    spread = min(cv / CV_FULL_SCORE, 1.0)
    if stats.on_time_rate is None:
        return 100.0 * spread
    return 100.0 * (0.5 * spread + 0.5 * (1.0 - stats.on_time_rate))
