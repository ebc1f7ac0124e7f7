"""Robust per-sensor baselines: median and MAD of a healthy period."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: MAD -> standard deviation for normal data.
MAD_TO_SIGMA = 1.4826


def fast_median(values) -> float:
    """Median of a 1-D array of finite values; several times cheaper than ``np.median`` on the short
    arrays the engine takes medians of thousands of times per pass (no NaN handling, no copies)."""
    values = np.asarray(values, dtype=float)
    n = values.size
    if n <= 16:
        ordered = sorted(values.tolist())
        return 0.5 * (ordered[(n - 1) // 2] + ordered[n // 2])
    lo, hi = (n - 1) // 2, n // 2
    part = np.partition(values, (lo, hi))
    return 0.5 * float(part[lo] + part[hi])


@dataclass
class Baseline:
    """A sensor's healthy level: median, median absolute deviation, and how many values it rests on."""

    median: float
    mad: float
    n: int

    @property
    def scale(self) -> float:
        """Robust standard deviation, floored so that a perfectly quiet baseline never divides by zero."""
        return max(MAD_TO_SIGMA * self.mad, 1e-3 * abs(self.median), 1e-9)

    def z(self, values: np.ndarray | float) -> np.ndarray | float:
        """Robust z-score of ``values`` against this baseline."""
        return (values - self.median) / self.scale

    def to_dict(self) -> dict:
        return {k: (int(v) if k == "n" else float(v)) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> Baseline:
        return cls(median=float(data["median"]), mad=float(data["mad"]), n=int(data["n"]))


def learn_baseline(values: np.ndarray, min_samples: int = 24) -> Baseline | None:
    """Median/MAD of the finite ``values``; ``None`` when fewer than ``min_samples`` are finite."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size < min_samples:
        return None
    median = fast_median(finite)
    mad = fast_median(np.abs(finite - median))
    return Baseline(median=median, mad=mad, n=int(finite.size))


#: How many samples of its own a sensor's baseline counts the population's for, when the two are blended.
POPULATION_WEIGHT = 24


def population_baseline(baselines: list[Baseline]) -> Baseline | None:
    """The healthy level of a population of similar sensors (the same measure on the same asset model): the
    median of their medians, and a spread that covers both a sensor's own noise and the spread between
    sensors (MAD = sqrt(median own MAD^2 + MAD of the medians^2)), so that a new sensor is judged against what
    is normal for its kind. ``n``: how many sensors it rests on. None for an empty population."""
    if not baselines:
        return None
    medians = np.array([b.median for b in baselines], dtype=float)
    mads = np.array([b.mad for b in baselines], dtype=float)
    centre = fast_median(medians)
    between = fast_median(np.abs(medians - centre)) if medians.size > 1 else 0.0
    return Baseline(median=centre, mad=float(np.hypot(fast_median(mads), between)), n=int(medians.size))


def shrink_baseline(population: Baseline, values: np.ndarray, weight: int = POPULATION_WEIGHT) -> Baseline:
    """A sensor's baseline while its own is not learned: the population's, shrunk toward the sensor's own
    ``values`` as they arrive (each counting as one sample, the population as ``weight``): with a few hours of
    data the population decides, with days of it the sensor does. ``n`` is the number of own values."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Baseline(population.median, population.mad, 0)
    own_median = fast_median(finite)
    own_mad = fast_median(np.abs(finite - own_median))
    k = finite.size
    share = k / (k + weight)
    median = (1.0 - share) * population.median + share * own_median
    # The own spread is unreliable on a handful of values: it enters with the same share, never below a
    # fraction of the population's (a few flat values must not make every wobble an anomaly).
    mad = max((1.0 - share) * population.mad + share * own_mad, 0.5 * population.mad)
    return Baseline(median=float(median), mad=float(mad), n=int(k))
