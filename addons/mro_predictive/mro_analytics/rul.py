"""Remaining useful life against a known failure threshold: linear and Bayesian exponential models.

The exponential model follows Gebraeel et al. (2005): log(y - phi) = theta + beta * t + eps, with a
conjugate normal prior on (theta, beta) updated by the data; the failure time T is the first time the
latent path reaches log(D - phi), and P(T <= t) = Phi(g(t)) with g the standardised distance to the
threshold. The linear model is the same machinery on y itself. Both are solved in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

from .baseline import Baseline, fast_median
from .onset import OnsetPrior
from .wear import LEVEL_POINTS, WEAR_SIGMAS, wear_cdf

#: Probability levels of the stored RUL quantiles.
PROBS = np.round(np.linspace(0.01, 0.99, 99), 2)
#: Longest RUL the engine will state (days): beyond, "no crossing expected".
MAX_RUL = 3650.0
#: Smallest relative model error assumed for any extrapolation (10% of the RUL, one sigma).
MIN_MODEL_ERROR = 0.10
MIN_POINTS = 10
#: No prediction when the newest value is older than this share of the data's time span.
STALE_SHARE = 0.5
#: A hole longer than this share of the time span splits the data: only what follows it is used.
GAP_SHARE = 0.5
#: Prior weight of the machine's own wear trend against the failure history of similar machines, before the
#: survival so far updates it (rul._with_history).
TREND_WEIGHT = 0.3
HEALTHY_NOW = "the level now is within the healthy band of the baseline"
_GRID = np.concatenate([[0.0], np.geomspace(1e-3, MAX_RUL, 600)])


@dataclass
class RulResult:
    """Remaining useful life, or the reason there is none. Times in the input's unit (days in Odoo)."""

    ok: bool
    reason: str
    model: str = ""
    rul: float | None = None
    lower: float | None = None
    upper: float | None = None
    confidence: float = 0.8
    quantiles: np.ndarray | None = field(default=None, repr=False)

    def p_fail_within(self, horizon: float) -> float:
        """P(RUL <= horizon), read off the stored quantiles; 0.0 without a prediction."""
        if not self.ok or self.quantiles is None:
            return 0.0
        q = np.asarray(self.quantiles, dtype=float)
        if horizon < q[0]:
            return float(PROBS[0] * horizon / q[0]) if q[0] > 0 else 1.0
        if horizon >= q[-1]:
            return float(PROBS[-1] + (1 - PROBS[-1]) * min(1.0, (horizon - q[-1]) / max(q[-1], 1e-9)))
        return float(np.interp(horizon, q, PROBS))

    def to_dict(self) -> dict:
        data = {k: getattr(self, k) for k in ("ok", "reason", "model", "rul", "lower", "upper", "confidence")}
        data["quantiles"] = None if self.quantiles is None else [float(v) for v in self.quantiles]
        return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: dict) -> RulResult:
        q = data.get("quantiles")
        return cls(**{**data, "quantiles": None if q is None else np.asarray(q, dtype=float)})


def no_prediction(reason: str, confidence: float = 0.8) -> RulResult:
    return RulResult(ok=False, reason=reason, confidence=confidence)


def from_cdf(grid: np.ndarray, cdf: np.ndarray, model: str, reason: str, confidence: float) -> RulResult:
    """A RulResult from a CDF of the RUL evaluated on ``grid`` (made non-decreasing here)."""
    cdf = np.maximum.accumulate(np.clip(cdf, 0.0, 1.0))
    if cdf[-1] < 0.5:
        return no_prediction(f"{reason}; no threshold crossing expected within {MAX_RUL:.0f} days", confidence)
    # Quantiles past the end of the grid are clamped to it.
    quantiles = np.interp(PROBS, cdf + np.arange(cdf.size) * 1e-12, grid)
    lo_p, hi_p = (1 - confidence) / 2, (1 + confidence) / 2
    lower, median, upper = np.interp([lo_p, 0.5, hi_p], PROBS, quantiles)
    return RulResult(True, reason, model, float(median), float(lower), float(upper), confidence, quantiles)


def _ols(x: np.ndarray, y: np.ndarray):
    """Least squares y = a + b x; returns (a, b, cov(a, b), residual sd, lag-1 autocorrelation)."""
    n = x.size
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    b = float(((x - xm) * (y - ym)).sum() / sxx)
    a = float(ym - b * xm)
    resid = y - (a + b * x)
    s2 = float((resid**2).sum() / max(n - 2, 1))
    rho = float((resid[1:] * resid[:-1]).sum() / max((resid**2).sum(), 1e-300)) if n > 2 else 0.0
    rho = min(max(rho, 0.0), 0.95)
    # Correlated residuals carry less information: shrink the sample to its effective size.
    inflate = (1 + rho) / (1 - rho)
    var_b = s2 / sxx * inflate
    var_a = s2 * (1 / n + xm**2 / sxx) * inflate
    cov_ab = -xm * s2 / sxx * inflate
    return a, b, np.array([[var_a, cov_ab], [cov_ab, var_b]]), float(np.sqrt(s2)), rho


def _posterior(mean, cov, prior: dict | None, now: float = 0.0):
    """Combine the data's (mean, cov) of (theta, beta), theta taken at ``now``, with a normal prior
    {"mean": [theta, beta], "cov": [[...]]} whose theta is at time 0 of the input's time origin."""
    if not prior:
        return mean, cov
    shift = np.array([[1.0, now], [0.0, 1.0]])  # theta(now) = theta(0) + beta * now
    p_mean = shift @ np.asarray(prior["mean"], dtype=float)
    p_prec = np.linalg.inv(shift @ np.asarray(prior["cov"], dtype=float) @ shift.T)
    d_prec = np.linalg.inv(cov)
    post_cov = np.linalg.inv(p_prec + d_prec)
    return post_cov @ (p_prec @ p_mean + d_prec @ mean), post_cov


def _crossing_cdf(mean, cov, level: float) -> np.ndarray:
    """P(theta + beta x >= level) on the grid of x (days from now): the first-passage approximation."""
    mu = mean[0] + mean[1] * _GRID
    var = cov[0, 0] + 2 * _GRID * cov[0, 1] + _GRID**2 * cov[1, 1]
    return ndtr((mu - level) / np.sqrt(np.maximum(var, 1e-300)))


def estimate_rul(
    t: np.ndarray,
    y: np.ndarray,
    threshold: float,
    confidence: float = 0.8,
    now: float | None = None,
    prior: dict | None = None,
    baseline: Baseline | None = None,
    anomaly: bool = False,
    onset_prior: OnsetPrior | None = None,
    onset_elapsed: float | None = None,
) -> RulResult:
    """RUL of a rising health signal ``y`` (at times ``t``, days) until it reaches ``threshold``.

    Fits a linear and a Bayesian exponential degradation model on the recent trend, keeps the one
    with the smaller residual error (saying so), and returns the median RUL from ``now`` (default:
    the last time) with a central ``confidence`` interval and quantiles. Poor data (too few points,
    a constant or falling signal, no significant trend, stale data) gives ``ok=False`` with the reason.
    ``prior`` (Gebraeel's conjugate normal prior, e.g. from the fleet's past failures):
    {"mean": [theta, beta], "cov": [[2x2]], "phi": offset or None} for log(y - phi) = theta + beta * t,
    t in the input's time origin; the posterior of the exponential model combines it with the data.
    ``baseline`` (the sensor's healthy level) enables the stochastic wear model (``wear.py``): when the level
    now stands clearly above the baseline and the wear phase rises, significantly or with an ``anomaly``
    already found by the caller, its RUL distribution is the answer (an interval as wide as the wear is
    erratic, rather than none); otherwise the smooth fits above decide.
    ``onset_prior`` (the time from the onset of wear to failure of past failures, ``onset.py``) and
    ``onset_elapsed`` (days since the current wear episode began, given by the caller with an upward
    anomaly): when the prior speaks at that age, the answer is the wear model pooled with it, or the prior
    alone when there is no wear trend toward the limit (a flat or falling level, or a drift still inside the
    healthy band), rather than a smooth fit of a few hours of noise.
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(t) & np.isfinite(y)
    t, y = t[keep], y[keep]
    dropped = int(keep.size - t.size)
    if t.size < MIN_POINTS:
        why = f"too few points for a trend ({t.size} < {MIN_POINTS}"
        return no_prediction(why + (f", {dropped} NaN dropped)" if dropped else ")"), confidence)
    now = float(t[-1] if now is None else now)
    span = float(t[-1] - t[0])
    if now - t[-1] > STALE_SHARE * span:
        return no_prediction(f"the newest value is {now - t[-1]:.1f} days old: too stale for a trend", confidence)
    steps = np.diff(t)
    longest = int(np.argmax(steps)) if steps.size else 0
    if steps.size and steps[longest] > GAP_SHARE * span:
        # Only what follows the long gap describes the machine now.
        t, y = t[longest + 1 :], y[longest + 1 :]
        if t.size < MIN_POINTS:
            return no_prediction(
                f"a gap of {steps[longest]:.1f} days leaves too few recent points ({t.size} < {MIN_POINTS})",
                confidence,
            )
    level = fast_median(y[-min(6, y.size) :])
    if level >= threshold:
        q = np.zeros(PROBS.size)
        return RulResult(
            True,
            f"failure threshold reached: level {level:.3g} at or over {threshold:g} now",
            "threshold",
            0.0,
            0.0,
            0.0,
            confidence,
            q,
        )
    if np.ptp(y) == 0.0:
        return no_prediction("constant signal: no trend", confidence)
    wear_note = ""
    if baseline is not None:
        worn = _wear(t, y, threshold, now, baseline, anomaly)
        if onset_prior is not None and onset_elapsed is not None:
            history = onset_prior.remaining_cdf(onset_elapsed, _GRID)
            if history is not None:
                return _with_history(worn, history, onset_prior, onset_elapsed, confidence)
        if not isinstance(worn, str):
            return from_cdf(_GRID, worn[0], "exponential", worn[1], confidence)
        if not anomaly and worn == HEALTHY_NOW:
            # No anomaly and a healthy level: a failure date extrapolated from noise would only mislead.
            return no_prediction(f"no wear: {HEALTHY_NOW} ({baseline.median:.3g})", confidence)
        wear_note = f" (wear model: {worn})"
    # The recent trend: the last half of the points (at least MIN_POINTS), or what follows a later onset of
    # wear (a machine healthy for weeks, then degrading), times relative to now.
    window = t.size - _trend_start(t, y)
    x, yw = t[-window:] - now, y[-window:]
    a, b, cov, sd, rho = _ols(x, yw)
    if b <= 0 or b / np.sqrt(cov[1, 1]) < 3.0:
        trend = "falling" if b < 0 else "flat"
        why = f"no significant rising trend ({trend}, slope {b:.3g}/day): no failure date{wear_note}"
        return no_prediction(why, confidence)
    candidates = []
    lin_cdf = _crossing_cdf(np.array([a, b]), cov, threshold)
    lin_sse = float(((yw - (a + b * x)) ** 2).sum())
    candidates.append((lin_sse, "linear", lin_cdf, f"linear trend {b:.3g}/day", None))
    # Exponential: try a few offsets phi below the signal, keep the straightest log-line.
    floor = float(np.min(yw))
    best = None
    offsets = (0.0, 0.5 * floor, 0.8 * floor, floor - 0.5 * max(sd, 1e-9), floor - 2 * max(sd, 1e-9))
    if prior and prior.get("phi") is not None:
        offsets = (float(prior["phi"]),)  # the prior is stated for this offset: keep it
    for phi in offsets:
        if phi >= floor or threshold <= phi:
            continue
        ly = np.log(yw - phi)
        ea, eb, ecov, _esd, _ = _ols(x, ly)
        fit = phi + np.exp(ea + eb * x)
        sse = float(((yw - fit) ** 2).sum())
        if eb > 0 and (best is None or sse < best[0]):
            best = (sse, phi, ea, eb, ecov)
    if best is not None:
        sse, phi, ea, eb, ecov = best
        mean, post_cov = _posterior(np.array([ea, eb]), ecov, prior, now)
        exp_cdf = _crossing_cdf(mean, post_cov, float(np.log(threshold - phi)))
        label = "Bayesian exponential" if prior else "exponential"
        what = f"{label} growth {100 * mean[1]:.3g}%/day above {phi:.3g}"
        candidates.append((sse, "exponential", exp_cdf, what, phi))
    candidates.sort(key=lambda c: c[0])
    sse, model, cdf, what, phi = candidates[0]
    others = "; ".join(f"{m} residual {s / window:.3g}" for s, m, _c, _w, _p in candidates[1:])
    reason = f"{model}: {what}, mean squared residual {sse / window:.3g} over the last {window} points"
    reason += f" (vs {others})" if others else ""
    param = from_cdf(_GRID, cdf, model, reason, confidence)
    if not param.ok:
        return param
    error = _holdout_error(x, yw, phi)
    return _widen(param, error, confidence)


def _wear(
    t: np.ndarray, y: np.ndarray, threshold: float, now: float, baseline: Baseline, anomaly: bool
) -> tuple[np.ndarray, str] | str:
    """The stochastic wear model's RUL (its CDF on _GRID and the reason) when the machine is worn now (the
    recent level WEAR_SIGMAS above the baseline) and the wear rises (a drift of at least one standard error
    with an anomaly, two without); else why not."""
    phi, scale = baseline.median, baseline.scale
    if fast_median(y[-LEVEL_POINTS:]) - phi <= WEAR_SIGMAS * scale:
        return HEALTHY_NOW
    got = wear_cdf(t, y, threshold, phi, scale, now, _trend_start(t, y), _GRID)
    if isinstance(got, str):
        return got
    cdf, what, significance = got
    needed = 1.0 if anomaly else 2.0  # an anomaly already says the machine left its baseline
    if significance < needed:
        return f"a wear rate of {significance:.1f} standard errors (< {needed:g})"
    return cdf, f"exponential: stochastic wear model, {what}"


def _with_history(
    worn: tuple[np.ndarray, str] | str,
    history: tuple[np.ndarray, float, int],
    prior: OnsetPrior,
    elapsed: float,
    confidence: float,
) -> RulResult:
    """The RUL of a machine whose wear began ``elapsed`` days ago, from its wear model ``worn`` (or the reason
    there is none) and the remaining life ``history`` that the prior's past failures give at that age.

    With a wear model, a mixture: the trend has the prior weight TREND_WEIGHT, the past failures the rest
    times the share of them that lasted this long (Bayes' rule on the survival so far: a wear episode that
    outlasts most past failures is better told by its own trend). Without one, the past failures alone."""
    cdf, survival, longer = history
    told = (
        f"{longer} of {prior.durations.size} past failures came more than {elapsed:.1f} days after the onset of "
        f"wear, {np.min(prior.durations):.2g}-{np.max(prior.durations):.2g} days after it"
    )
    if isinstance(worn, str):
        reason = f"failure history: wear began {elapsed:.1f} days ago; {told}; no trend toward the limit ({worn})"
        return from_cdf(_GRID, cdf, "history", reason, confidence)
    weight = TREND_WEIGHT / (TREND_WEIGHT + (1.0 - TREND_WEIGHT) * survival)
    reason = f"{worn[1]}; pooled with the failure history ({told}), {100 * weight:.0f}% on the trend"
    return from_cdf(_GRID, weight * worn[0] + (1.0 - weight) * cdf, "exponential+history", reason, confidence)


def _trend_start(t: np.ndarray, y: np.ndarray) -> int:
    """Index where the recent trend starts: the start of the last half of the points, or later when the
    signal was flat and then began to rise (the onset of a P-F curve), keeping at least MIN_POINTS.

    The onset is the knee of the hinge fit y = c + b * max(0, t - t[k]) with the least squared error (b > 0)
    over every k of the last half (closed form from suffix sums, O(n)); a knee at the first one means the
    whole last half is rising, which is the default window. When a step (two flat levels) fits better than
    the hinge, the change is a level shift, not wear: the default window too.
    """
    n = t.size
    half = n - max(MIN_POINTS, n // 2)
    last = n - MIN_POINTS
    if last - half < 2:
        return half
    k = np.arange(half, last + 1)
    tau, m = t[k], (n - k).astype(float)

    def suffix(v: np.ndarray) -> np.ndarray:  # sum of v[i] for i >= k
        return np.cumsum(v[::-1])[::-1][k]

    st, stt, sy, sty = suffix(t), suffix(t * t), suffix(y), suffix(t * y)
    mean = float(y.mean())
    total = float(((y - mean) ** 2).sum())
    sh = st - m * tau  # sum of h = max(0, t - tau), which is 0 before k
    shh = stt - 2 * tau * st + m * tau * tau
    shy = sty - tau * sy
    sxx = shh - sh * sh / n
    sxy = shy - mean * sh
    slope = np.divide(sxy, sxx, out=np.zeros_like(sxy), where=sxx > 0)
    hinge = np.where(slope > 0, total - slope * sxy, np.inf)
    at = int(np.argmin(hinge))
    if not np.isfinite(hinge[at]):
        return half
    j = np.arange(half, n - 1)  # a step between j - 1 and j, anywhere in the last half
    cs = np.cumsum(y)
    left, right = cs[j - 1] / j, (cs[-1] - cs[j - 1]) / (n - j)
    step = total - j * (left - mean) ** 2 - (n - j) * (right - mean) ** 2
    return half if float(step.min()) < float(hinge[at]) else int(k[at])


def _holdout_error(x: np.ndarray, y: np.ndarray, phi: float | None) -> float:
    """Relative timing error of the model on the data itself: fit on the first two thirds of the
    window, find when that fit reaches the level seen at the end, compare with when it was seen."""
    cut = (2 * x.size) // 3
    if cut < MIN_POINTS or x.size - cut < 3:
        return MIN_MODEL_ERROR
    end_level = fast_median(y[-3:])
    lead = float(x[-1] - x[cut - 1])
    if phi is None:
        a, b, *_ = _ols(x[:cut], y[:cut])
        reach = (end_level - a) / b if b > 0 else np.inf
    else:
        if end_level <= phi:
            return MIN_MODEL_ERROR
        a, b, *_ = _ols(x[:cut], np.log(np.maximum(y[:cut] - phi, 1e-12)))
        reach = (np.log(end_level - phi) - a) / b if b > 0 else np.inf
    if not np.isfinite(reach) or lead <= 0:
        return 1.0
    return float(min(1.0, abs(reach - x[-1]) / lead))


def _widen(param: RulResult, model_error: float, confidence: float) -> RulResult:
    """Lognormal RUL around the parametric median: the parametric spread combined with the model
    error (relative, one sigma, at least MIN_MODEL_ERROR)."""
    if param.rul <= 0:
        return param
    q = np.asarray(param.quantiles)
    i16, i84 = np.searchsorted(PROBS, 0.16), np.searchsorted(PROBS, 0.84)
    s_param = 0.5 * (np.log(max(q[i84], 1e-9)) - np.log(max(q[i16], 1e-9)))
    s_model = max(MIN_MODEL_ERROR, model_error)
    s = float(np.hypot(s_param, s_model))
    quantiles = np.minimum(param.rul * np.exp(ndtri(PROBS) * s), MAX_RUL)
    lower, upper = np.interp([(1 - confidence) / 2, (1 + confidence) / 2], PROBS, quantiles)
    reason = f"{param.reason}; interval from the fit and a {100 * s_model:.0f}% model error (holdout)"
    return RulResult(True, reason, param.model, param.rul, float(lower), float(upper), confidence, quantiles)


#: Fewest past failures with a rising wear phase for a degradation prior.
PRIOR_MIN_FAILURES = 3


def learn_exponential_prior(histories: list[tuple[np.ndarray, np.ndarray]]) -> dict | None:
    """Gebraeel's conjugate prior of the exponential degradation model, from past failures of similar machines.

    ``histories``: (times in days, values of the measure), each ending at a failure. Each history's wear phase
    (from its onset: the knee of a hinge fit, as ``estimate_rul`` finds it) is fitted by log(y - phi) =
    theta + beta t with the offset phi that fits it best; what past failures say of a new machine is their
    growth rate beta: its prior is their mean rate, with their spread plus the average uncertainty of one fit
    (a handful of failures must not make it overconfident). The level theta is left to the machine's own data
    (a flat prior), so the prior needs no common time origin. Returns ``estimate_rul``'s ``prior``
    ({"mean", "cov", "phi": None, "failures": n}), or None with fewer than PRIOR_MIN_FAILURES rising histories."""
    rates, variances = [], []
    for t, y in histories:
        t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
        keep = np.isfinite(t) & np.isfinite(y)
        t, y = t[keep], y[keep]
        if t.size < 2 * MIN_POINTS:
            continue
        start = _trend_start(t, y)
        x, yw = t[start:], y[start:]
        if x.size < MIN_POINTS:
            continue
        floor, sd = float(np.min(yw)), float(np.std(yw))
        best = None
        for phi in (0.0, 0.5 * floor, 0.8 * floor, floor - 0.5 * max(sd, 1e-9), floor - 2 * max(sd, 1e-9)):
            if phi >= floor:
                continue
            ly = np.log(yw - phi)
            a, b, cov, _sd, _rho = _ols(x, ly)
            sse = float(((yw - (phi + np.exp(a + b * x))) ** 2).sum())
            if b > 0 and np.isfinite(cov[1, 1]) and (best is None or sse < best[0]):
                best = (sse, b, cov[1, 1])
        if best is not None:
            rates.append(best[1])
            variances.append(best[2])
    if len(rates) < PRIOR_MIN_FAILURES:
        return None
    rates_arr = np.array(rates)
    spread = float(np.var(rates_arr, ddof=1)) if rates_arr.size > 1 else 0.0
    return {
        "mean": [0.0, float(rates_arr.mean())],
        # theta: a flat prior (the machine's own level decides); beta: the fleet's rate and its spread.
        "cov": [[1e6, 0.0], [0.0, spread + float(np.mean(variances))]],
        "phi": None,
        "failures": len(rates),
    }
