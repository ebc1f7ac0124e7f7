"""Series helpers for display: thin out long hourly histories."""

from __future__ import annotations

import numpy as np


def daily_before_recent(
    ts: np.ndarray, values: np.ndarray, recent_days: float = 14.0, max_points: int = 400
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the last ``recent_days`` as they are and replace older points by one mean per UTC day
    (stamped at noon); ``ts`` in epoch seconds. Series of at most ``max_points`` come back unchanged."""
    ts, values = np.asarray(ts, dtype=float), np.asarray(values, dtype=float)
    if ts.size <= max_points:
        return ts, values
    recent = ts >= ts[-1] - recent_days * 86400
    days, inverse = np.unique(np.floor(ts[~recent] / 86400), return_inverse=True)
    means = np.bincount(inverse, weights=values[~recent]) / np.bincount(inverse)
    return np.concatenate([days * 86400 + 43200, ts[recent]]), np.concatenate([means, values[recent]])
