"""Back-test the single-equipment path on real run-to-failure vibration series, cut before the alarm crossing.

    .venv/bin/python bench/bearing_backtest.py IMS.csv... [--stretched FEMTO.csv... --stretch 60] [--alarm-factor 3]

Each SERIES is a CSV ``hours,rms`` (see bench/bearing_reduce.py), one snapshot per row. The series is reduced
to hourly means, as Odoo's hourly aggregates are; the alarm limit is ``--alarm-factor`` times the median of
the first fifth of the life (the healthy level), and the failure is the first hour whose mean reaches it.
At each cut-off (``--cutoffs``, hours before that crossing) the engine's equipment assessment
(``assess_equipment``, one vibration sensor with that alarm limit, the last ``--window`` days, baseline learned
from the window's oldest third) is run on what was known then, and its state, anomaly and RUL are compared
with the true remaining time. ``--stretch F`` multiplies the time of the ``--stretched`` series (accelerated
tests: PRONOSTIA/FEMTO runs last hours; x60 turns their 10 s snapshots into 10 min ones, as on the IMS rig).

Per series: at how many cut-offs the 80% interval held, whether a RUL was given at every cut-off where an
anomaly was detected, the widest interval (days) and the errors. Last line: ``RESULT series=<n>
held_3of4=<n> rul_when_anomaly=<n> max_width_days=<x> confident_misses=<n>``, where a confident miss is a
stated interval that does not hold the truth.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "addons" / "mro_predictive"))
from analytics import SensorInput, assess_equipment


def read_series(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return data[:, 0], data[:, 1]


def hourly(hours: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hourly means stamped at the end of their hour (hours since the start)."""
    slot = np.floor(hours).astype(int)
    keys, inverse = np.unique(slot, return_inverse=True)
    means = np.bincount(inverse, weights=values) / np.bincount(inverse)
    return keys + 1.0, means


def run_series(name, hours, values, args) -> dict:
    t, y = hourly(hours, values)
    healthy = float(np.median(y[: max(3, len(y) // 5)]))
    alarm = args.alarm_factor * healthy
    over = np.flatnonzero(y >= alarm)
    out = {"name": name, "cuts": [], "life_h": float(t[-1])}
    if not over.size:
        print(
            f"{name}: {len(t)} hours, alarm {alarm:.3g} "
            f"(x{args.alarm_factor:g} the healthy {healthy:.3g}) never reached"
        )
        return out
    fail = float(t[over[0]])
    print(
        f"{name}: {len(t)} hours of hourly means, healthy {healthy:.3g}, alarm {alarm:.3g}, "
        f"first reached at {fail:.0f} h (record ends at {t[-1]:.0f} h)"
    )
    for cut_h in args.cutoffs:
        now = fail - cut_h
        keep = (t <= now) & (t > now - 24 * args.window)
        truth = cut_h / 24.0
        if keep.sum() < 2:
            print(f"  {cut_h:>3g} h before: not enough history")
            continue
        days = t[keep] / 24.0
        sensor = SensorInput(key=1, t=days, y=y[keep], warning=0.5 * (healthy + alarm), alarm=alarm, step=1 / 24)
        a = assess_equipment([sensor], now=now / 24.0, horizon=args.horizon, confidence=args.confidence)
        r = a.rul
        # An anomaly that matters here is an upward one: the level above the baseline.
        upward = a.anomaly and (a.sensors[0].z or 0.0) > 0
        cut = {"cut_h": cut_h, "anomaly": upward, "state": a.state, "ok": r.ok, "truth": truth}
        if r.ok:
            held = r.lower <= truth <= r.upper
            cut.update(rul=r.rul, lower=r.lower, upper=r.upper, held=held, width=r.upper - r.lower)
            text = f"RUL {r.rul:.2f} d [{r.lower:.2f}, {r.upper:.2f}] {'holds' if held else 'MISSES'}"
        else:
            text = "no RUL (" + r.reason[:90] + ")"
        flag = "anomaly (up)" if upward else ("anomaly (down)" if a.anomaly else "no anomaly")
        print(f"  {cut_h:>3g} h before (truth {truth:.2f} d): {a.state}, {flag}, {text}")
        out["cuts"].append(cut)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("series", nargs="*", type=Path, help="series CSV files, in real time")
    parser.add_argument("--stretched", nargs="*", type=Path, default=[], help="series CSV files to stretch")
    parser.add_argument("--stretch", type=float, default=60.0, help="time factor of the --stretched series")
    parser.add_argument("--alarm-factor", type=float, default=3.0)
    parser.add_argument("--cutoffs", type=lambda s: [float(v) for v in s.split(",")], default=[72, 48, 24, 12])
    parser.add_argument("--window", type=float, default=30.0, help="analysis window, days (Odoo's default)")
    parser.add_argument("--horizon", type=float, default=30.0)
    parser.add_argument("--confidence", type=float, default=0.8)
    args, series = parser.parse_args(), []
    for stretch, paths in ((1.0, args.series), (args.stretch, args.stretched)):
        for path in paths:
            hours, values = read_series(path)
            series.append((path.stem + (f" x{stretch:g}" if stretch != 1 else ""), hours * stretch, values))
    t0 = time.perf_counter()
    results = [run_series(name, hours, values, args) for name, hours, values in series]
    elapsed = time.perf_counter() - t0
    tested = [r for r in results if r["cuts"]]
    held3 = rul_ok = misses = 0
    widths = []
    print("\nseries                     cut-offs  anomaly up  RUL given  held  silent  widest (d)  mean |error| (d)")
    for r in tested:
        cuts = r["cuts"]
        stated = [c for c in cuts if c["ok"]]
        held = sum(c["held"] for c in stated)
        anomalies = [c for c in cuts if c["anomaly"]]
        given = sum(c["ok"] for c in anomalies)
        silent = sum(not c["ok"] and not c["anomaly"] for c in cuts)
        misses += sum(not c["held"] for c in stated)
        widths += [c["width"] for c in stated]
        widest = max((c["width"] for c in stated), default=0.0)
        err = np.mean([abs(c["rul"] - c["truth"]) for c in stated]) if stated else float("nan")
        held3 += held >= 3
        rul_ok += given == len(anomalies)
        print(
            f"{r['name']:<26} {len(cuts):>8}  {len(anomalies):>10}  {len(stated):>9}  {held:>4}  {silent:>6}  "
            f"{widest:>10.2f}  {err:>16.2f}"
        )
    print(f"{len(tested)} series, {sum(len(r['cuts']) for r in tested)} cut-offs assessed in {elapsed:.2f} s")
    print(
        f"RESULT series={len(tested)} held_3of4={held3} rul_when_anomaly={rul_ok} "
        f"max_width_days={max(widths, default=0.0):.2f} confident_misses={misses}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
