"""Data-quality faults of a sensor's series, kept apart from machine faults."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .baseline import fast_median

#: A flat line this long (samples) with not the slightest change is a stuck sensor.
STUCK_SAMPLES = 12
#: A jump this many robust deviations from both neighbours is a spike.
SPIKE_SIGMAS = 12.0
#: A hole longer than this many sampling steps is a gap.
GAP_STEPS = 6.0


@dataclass
class Quality:
    """Codes ("stuck", "gap", "spike", "out_of_range", "no_data"), reasons, and the values fit to use."""

    codes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    t: np.ndarray = field(default_factory=lambda: np.empty(0))
    y: np.ndarray = field(default_factory=lambda: np.empty(0))

    def add(self, code: str, reason: str) -> None:
        if code not in self.codes:
            self.codes.append(code)
            self.reasons.append(reason)


def check_quality(
    t: np.ndarray,
    y: np.ndarray,
    step: float | None = None,
    physical_min: float | None = None,
    physical_max: float | None = None,
    now: float | None = None,
) -> Quality:
    """Find data-quality faults in (``t`` days, ``y``) and return the clean points.

    NaN/inf, out-of-range values and isolated spikes are removed from the clean series; a stuck
    (flat-lined) tail and gaps are reported (the values stay: they are real samples).
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    out = Quality()
    keep = np.isfinite(t) & np.isfinite(y)
    if physical_min is not None or physical_max is not None:
        low = -np.inf if physical_min is None else physical_min
        high = np.inf if physical_max is None else physical_max
        outside = keep & ((y < low) | (y > high))
        if outside.any():
            out.add("out_of_range", f"{int(outside.sum())} values outside the physical range [{low:g}, {high:g}]")
            keep &= ~outside
    t, y = t[keep], y[keep]
    if y.size == 0:
        out.add("no_data", "no usable values")
        return out
    if y.size >= 5:
        # Isolated spikes: far from both neighbours, judged against the typical neighbour difference.
        d = y[1:-1] - 0.5 * (y[:-2] + y[2:])
        # Robust scale of the neighbour differences (a sample of them is plenty, and 4x cheaper).
        sample = d[:: max(1, d.size // 500)]
        scale = 1.4826 * fast_median(np.abs(sample - fast_median(sample)))
        scale = max(scale, 1e-6 * max(abs(float(y[-1])), 1.0))
        spikes = np.zeros(y.size, dtype=bool)
        # Far from both neighbours, which agree with each other: a level step is not a spike.
        spikes[1:-1] = (np.abs(d) > SPIKE_SIGMAS * scale) & (np.abs(d) > 3.0 * np.abs(y[2:] - y[:-2]))
        if spikes.any():
            out.add("spike", f"{int(spikes.sum())} isolated spikes ignored")
            t, y = t[~spikes], y[~spikes]
    if y.size >= STUCK_SAMPLES and np.ptp(y[-STUCK_SAMPLES:]) == 0.0:
        run = int(np.argmax(np.diff(y[::-1]) != 0.0)) + 1 if np.ptp(y) > 0 else y.size
        out.add("stuck", f"the last {run} values are identical: the sensor looks stuck")
    if step and t.size >= 2:
        holes = np.diff(t) > GAP_STEPS * step
        late = now is not None and now - t[-1] > GAP_STEPS * step
        if holes.any() or late:
            longest = max(float(np.diff(t).max()) if t.size > 1 else 0.0, (now - t[-1]) if late else 0.0)
            out.add("gap", f"gap in the data: up to {longest * 24:.1f} h without a value")
    out.t, out.y = t, y
    return out
