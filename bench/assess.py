"""Micro-benchmark of the per-equipment analysis (``mro_analytics.assess_equipment``), without Odoo.

    .venv/bin/python bench/assess.py [--repeat 300]

Three equipment of three sensors each, 30 days of hourly means (the analysis window), as the cron hands them
to the engine: healthy (no anomaly, no RUL), wearing (one sensor rising toward its alarm limit: baseline,
anomaly and the stochastic wear model) and wearing with the failure history of its asset model (the same,
pooled with the time from the onset of wear to failure of 12 past failures). Prints the time per call of each
and last ``RESULT healthy_ms=<x> wearing_ms=<x> history_ms=<x>`` (the history case is skipped, ``nan``, by an
engine without failure histories).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time

import mro_analytics
import numpy as np
from mro_analytics import SensorInput, assess_equipment

STEP = 1 / 24


def equipment(wearing: bool, seed: int = 1) -> list[SensorInput]:
    rng = np.random.default_rng(seed)
    t = 20000.0 + np.arange(0.0, 30.0, STEP)
    vibration = 1.2 + rng.normal(0, 0.03, t.size)
    if wearing:  # wear from day 20, erratic, toward the alarm limit of 4.5
        days = np.clip(t - t[0] - 20.0, 0.0, None)
        vibration += np.exp(np.log(0.05) + 0.35 * days + np.cumsum(rng.normal(0, 0.03, t.size)) * (days > 0))
    temperature = 55 + rng.normal(0, 0.5, t.size)
    current = 30 + rng.normal(0, 0.3, t.size)
    return [
        SensorInput(1, t, vibration, 2.8, 4.5, step=STEP),
        SensorInput(2, t, temperature, 70, 85, step=STEP),
        SensorInput(3, t, current, 40, 48, step=STEP),
    ]


def per_call(sensors: list[SensorInput], repeat: int, **kw) -> float:
    assess_equipment(sensors, **kw)  # warm
    t0 = time.perf_counter()
    for _ in range(repeat):
        assess_equipment(sensors, **kw)
    return 1000.0 * (time.perf_counter() - t0) / repeat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    healthy, wearing = equipment(False), equipment(True)
    a = assess_equipment(wearing)
    print(f"wearing: {a.state}, anomaly {a.anomaly}, RUL {a.rul.rul:.2f} ({a.rul.model})")
    figures = {"healthy": per_call(healthy, args.repeat), "wearing": per_call(wearing, args.repeat)}
    figures["history"] = float("nan")
    if "onset_prior" in inspect.signature(assess_equipment).parameters:
        prior = mro_analytics.OnsetPrior(np.geomspace(2.0, 30.0, 12))
        a = assess_equipment(wearing, onset_prior=prior)
        print(f"wearing with a failure history: {a.state}, RUL {a.rul.rul:.2f} ({a.rul.model})")
        figures["history"] = per_call(wearing, args.repeat, onset_prior=prior)
    for name, ms in figures.items():
        print(f"{name:8s} {ms:7.3f} ms per equipment (3 sensors x 720 hourly means)")
    print("RESULT " + " ".join(f"{name}_ms={ms:.3f}" for name, ms in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
