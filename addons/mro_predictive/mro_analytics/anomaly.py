"""Machine anomalies against a baseline: a level shift (robust z-score) and a slow drift (CUSUM)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .baseline import Baseline, fast_median

#: Robust z of the recent level beyond which the machine is not behaving as in its baseline.
LEVEL_Z = 5.0
#: CUSUM reference (allowance) and decision interval, in baseline sigmas.
CUSUM_K = 1.0
CUSUM_H = 24.0
#: Samples that make "the recent level".
RECENT = 6


@dataclass
class Anomaly:
    z: float | None = None
    drift: bool = False
    anomaly: bool = False
    #: The anomaly is upward (the level above the baseline, or an upward drift): what wear looks like.
    up: bool = False
    reasons: list[str] = field(default_factory=list)


def detect(y: np.ndarray, baseline: Baseline | None, since: int = 0) -> Anomaly:
    """Compare the clean series ``y`` with ``baseline``; ``since`` is the first index after the
    baseline period (the CUSUM runs from there). Level: median of the last samples; drift: an upper
    or lower CUSUM of the z-scores that crossed its decision interval while the level z is small."""
    out = Anomaly()
    if baseline is None or y.size == 0:
        return out
    z_all = baseline.z(y)
    out.z = fast_median(z_all[-RECENT:])
    if abs(out.z) >= LEVEL_Z:
        out.anomaly = True
        out.up = out.z > 0
        out.reasons.append(f"level {out.z:+.1f} sigma from the baseline median {baseline.median:.3g}")
    z = z_all[since:]
    if z.size:
        # CUSUM S_t = max(0, S_t-1 + z_t - k), vectorised: C_t - min(0, min_{s<=t} C_s) with C = cumsum.
        for sign, word in ((1.0, "upward"), (-1.0, "downward")):
            c = np.cumsum(sign * z - CUSUM_K)
            s = c - np.minimum(0.0, np.minimum.accumulate(c))
            if s[-1] > CUSUM_H:
                out.drift = True
                if not out.anomaly:
                    out.anomaly = True
                    out.up = sign > 0
                    out.reasons.append(f"slow {word} drift from the baseline (CUSUM {s[-1]:.0f} > {CUSUM_H:g})")
                break
    return out
