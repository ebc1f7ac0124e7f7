"""Time from the onset of wear to failure, learned from past failures: the history a single machine's RUL
leans on when its own trend cannot be trusted.

Real wear is not a smooth curve: a bearing may drift for days and then fail within the hour, or rise, fall
back and jump. Its own trend then says "weeks" the day before it fails, or "hours" three days ahead. What
does hold is the record of similar machines: how long they lasted once their wear had begun. This module

- finds the onset of the current wear episode: where the upward CUSUM of the sensor's z-scores against its
  baseline, with an allowance of WEAR_SIGMAS (the level at which a point counts as wear), last left zero
  (Page's change-point estimate; the same detector that raised the anomaly, less sensitive to noise);
- measures, on a past run-to-failure history, the time from that onset to the failure (the end of the
  history), the same way, so that a machine seen now and a machine seen at its failure are measured alike;
- gives the distribution of the remaining life of a machine whose wear began ``elapsed`` days ago: the past
  durations D longer than ``elapsed``, as D - elapsed, each smoothed by a lognormal kernel (so a handful of
  failures make a distribution, not a staircase), with the share of past failures that lasted that long.

``rul.py`` pools this with the wear model (a mixture in which the trend's weight grows as the wear outlasts
the past failures: a trend that has held longer than most failures took is worth more than their record).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .baseline import Baseline, learn_baseline
from .wear import WEAR_SIGMAS

#: Fewest past failures with an onset of wear for a prior.
MIN_FAILURES = 3
#: Fewest past failures that lasted longer than the current wear has lasted, for the prior to speak.
MIN_LONGER = 2
#: Width of the lognormal kernel around each past remaining life (log-days).
BANDWIDTH = 0.3
#: Baselines of past histories: the oldest third, at least this many samples (as assess.BASELINE_MIN).
BASELINE_MIN = 24
#: Shortest time from onset to failure recorded (days): one hourly aggregate.
SHORTEST = 1.0 / 24.0


def onset_index(z: np.ndarray, allowance: float = WEAR_SIGMAS) -> int | None:
    """Index into ``z`` (z-scores against the baseline, oldest first) where the current wear episode began:
    the first point after the upward CUSUM S_t = max(0, S_t-1 + z_t - ``allowance``) last stood at zero;
    ``None`` when S is zero at the end (no wear episode under way)."""
    if z.size == 0:
        return None
    c = np.cumsum(z - allowance)
    s = c - np.minimum(0.0, np.minimum.accumulate(c))
    if s[-1] <= 0.0:
        return None
    zero = np.flatnonzero(s <= 0.0)
    return int(zero[-1] + 1) if zero.size else 0


def onset_to_failure(t: np.ndarray, y: np.ndarray, baseline: Baseline | None = None) -> float | None:
    """Days from the onset of the last wear episode to the end of a run-to-failure history (times ``t`` in
    days, values ``y``, ending at the failure). The baseline is learned from the oldest third (at least
    BASELINE_MIN values) unless given, as the analysis does; ``None`` without a baseline or an onset."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(t) & np.isfinite(y)
    t, y = t[keep], y[keep]
    since = 0
    if baseline is None:
        since = max(BASELINE_MIN, y.size // 3)
        if y.size < 2 * BASELINE_MIN:
            return None
        baseline = learn_baseline(y[:since], min_samples=BASELINE_MIN)
        if baseline is None:
            return None
    start = onset_index(baseline.z(y[since:]))
    if start is None:
        return None
    return max(float(t[-1] - t[since + start]), SHORTEST)


@dataclass
class OnsetPrior:
    """Durations (days) from the onset of wear to failure of past failures of similar machines."""

    durations: np.ndarray

    def __post_init__(self):
        self.durations = np.sort(np.asarray(self.durations, dtype=float))

    @property
    def usable(self) -> bool:
        return self.durations.size >= MIN_FAILURES

    def remaining_cdf(self, elapsed: float, grid: np.ndarray) -> tuple[np.ndarray, float, int] | None:
        """CDF on ``grid`` (days from now, grid[0] = 0) of the remaining life of a machine whose wear began
        ``elapsed`` days ago, the share of past failures that lasted longer (their survival at ``elapsed``)
        and their number; ``None`` when fewer than MIN_LONGER lasted that long or the prior is too small."""
        if not self.usable:
            return None
        remaining = self.durations[self.durations > elapsed] - max(elapsed, 0.0)
        if remaining.size < MIN_LONGER:
            return None
        log_grid = np.log(np.maximum(grid[1:], 1e-12))
        cdf = ndtr((log_grid[:, None] - np.log(remaining)[None, :]) / BANDWIDTH).mean(axis=1)
        return np.concatenate([[0.0], cdf]), remaining.size / self.durations.size, int(remaining.size)

    def to_dict(self) -> dict:
        return {"durations": [round(float(d), 4) for d in self.durations]}

    @classmethod
    def from_dict(cls, data: dict | None) -> OnsetPrior | None:
        if not data or not data.get("durations"):
            return None
        return cls(np.asarray(data["durations"], dtype=float))


def learn_onset_prior(histories: list[np.ndarray]) -> OnsetPrior | None:
    """The prior from past run-to-failure histories: 2-D arrays, column 0 the time (days), then one column
    per measure, each ending at its failure. A history's duration is from the earliest onset among its
    measures; histories without an onset are left out; ``None`` with fewer than MIN_FAILURES durations."""
    durations = []
    for history in histories:
        history = np.asarray(history, dtype=float)
        found = [onset_to_failure(history[:, 0], history[:, j]) for j in range(1, history.shape[1])]
        found = [d for d in found if d is not None]
        if found:
            durations.append(max(found))
    return OnsetPrior(np.asarray(durations)) if len(durations) >= MIN_FAILURES else None
