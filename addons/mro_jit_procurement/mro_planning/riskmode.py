"""Risk mode: the company switch that raises every buffer by one factor when supply chains are shaky."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def risk_mode(values, factor: float):
    """Buffers times ``factor`` (> 0; 1.5 = half again): a number, an array or a mapping name -> number
    (units or days; safety stocks, lead-time quantiles) in, the same kind out, for applying or previewing
    the switch. Use ``LeadTimeStats.scaled`` for a lead-time distribution and ``min_max(risk_factor=)`` for
    a safety stock inside a min/max."""
    if not (isinstance(factor, (int, float)) and math.isfinite(factor) and factor > 0):
        raise ValueError(f"risk factor must be a positive number, got {factor!r}")
    if isinstance(values, Mapping):
        return {key: value * factor for key, value in values.items()}
    if isinstance(values, (int, float)):
        return float(values) * factor
    return np.asarray(values, dtype=float) * factor
