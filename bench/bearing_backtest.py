"""Back-test the single-equipment path on real run-to-failure vibration series, cut before the alarm crossing.

    .venv/bin/python bench/bearing_backtest.py IMS.csv... [--stretched FEMTO.csv... --stretch 60] [--no-prior]

Each SERIES is a CSV ``hours,rms`` (see bench/bearing_reduce.py), one snapshot per row. The series is reduced
to hourly means, as Odoo's hourly aggregates are; the alarm limit is ``--alarm-factor`` times the median of
the first fifth of the life (the healthy level), and the failure is the first hour whose mean reaches it.
At each cut-off (``--cutoffs``, hours before that crossing) the engine's equipment assessment
(``assess_equipment``, one vibration sensor with that alarm limit, the last ``--window`` days, baseline learned
from the window's oldest third) is run on what was known then, and its state, anomaly and RUL are compared
with the true remaining time. ``--stretch F`` multiplies the time of the ``--stretched`` series (accelerated
tests: PRONOSTIA/FEMTO runs last hours; x60 turns their 10 s snapshots into 10 min ones, as on the IMS rig).

The failure history (``mro_analytics.onset``, the time from the onset of wear to failure, as an asset model learns
it from its past failures in Odoo) is learned leaving one series out: each series is forecast with the
history of the other series' failures only (``--no-prior``: none, the wear model alone, as for a plant without
past failures).

Per series: at how many cut-offs the 80% interval held, whether a RUL was given at every cut-off where an
upward anomaly was detected, the widest interval (days), the errors, and whether the goals are met (the
interval held or the engine rightly said nothing, no upward anomaly and no RUL, at 3 of 4 cut-offs; a RUL at
every upward anomaly; no interval wider than ``--max-width`` days). Then a dense check: the same every
``--dense`` hours from 96 h before the alarm. Last line: ``RESULT series=<n> held_3of4=<n>
rul_when_anomaly=<n> max_width_days=<x> confident_misses=<n> goals_met=<n>``, where a confident miss is a
stated interval that does not hold the truth.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from mro_analytics import SensorInput, assess_equipment, learn_onset_prior


def read_series(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return data[:, 0], data[:, 1]


def hourly(hours: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hourly means stamped at the end of their hour (hours since the start)."""
    slot = np.floor(hours).astype(int)
    keys, inverse = np.unique(slot, return_inverse=True)
    means = np.bincount(inverse, weights=values) / np.bincount(inverse)
    return keys + 1.0, means


def failure_of(hours, values, args) -> dict:
    """The hourly series, its healthy level, alarm limit and failure hour (None if the alarm is never reached),
    and the history before the failure as the analysis window would hold it (days, value)."""
    t, y = hourly(hours, values)
    healthy = float(np.median(y[: max(3, len(y) // 5)]))
    alarm = args.alarm_factor * healthy
    over = np.flatnonzero(y >= alarm)
    run = {"t": t, "y": y, "healthy": healthy, "alarm": alarm, "fail": None, "history": None}
    if over.size:
        run["fail"] = fail = float(t[over[0]])
        keep = (t <= fail) & (t > fail - 24 * args.window)
        run["history"] = np.column_stack([t[keep] / 24.0, y[keep]])
    return run


def run_series(name, run, prior, args, cutoffs) -> dict:
    t, y, healthy, alarm, fail = run["t"], run["y"], run["healthy"], run["alarm"], run["fail"]
    out = {"name": name, "cuts": [], "life_h": float(t[-1])}
    quiet = cutoffs is not args.cutoffs
    if fail is None:
        if not quiet:
            print(
                f"{name}: {len(t)} hours, alarm {alarm:.3g} "
                f"(x{args.alarm_factor:g} the healthy {healthy:.3g}) never reached"
            )
        return out
    if not quiet:
        told = "no prior" if prior is None else f"prior from {prior.durations.size} other runs"
        print(
            f"{name}: {len(t)} hours of hourly means, healthy {healthy:.3g}, alarm {alarm:.3g}, "
            f"first reached at {fail:.0f} h (record ends at {t[-1]:.0f} h); {told}"
        )
    for cut_h in cutoffs:
        now = fail - cut_h
        keep = (t <= now) & (t > now - 24 * args.window)
        truth = cut_h / 24.0
        if keep.sum() < 2:
            if not quiet:
                print(f"  {cut_h:>3g} h before: not enough history")
            continue
        days = t[keep] / 24.0
        sensor = SensorInput(key=1, t=days, y=y[keep], warning=0.5 * (healthy + alarm), alarm=alarm, step=1 / 24)
        a = assess_equipment(
            [sensor], now=now / 24.0, horizon=args.horizon, confidence=args.confidence, onset_prior=prior
        )
        r = a.rul
        # An anomaly that matters here is an upward one (the level above the baseline, or an upward drift).
        upward = a.sensors[0].up
        cut = {"cut_h": cut_h, "anomaly": upward, "state": a.state, "ok": r.ok, "truth": truth}
        if r.ok:
            held = r.lower <= truth <= r.upper
            cut.update(rul=r.rul, lower=r.lower, upper=r.upper, held=held, width=r.upper - r.lower)
            text = f"RUL {r.rul:.2f} d [{r.lower:.2f}, {r.upper:.2f}] {'holds' if held else 'MISSES'}"
        else:
            text = "no RUL (" + r.reason[:90] + ")"
        flag = "anomaly (up)" if upward else ("anomaly (down)" if a.anomaly else "no anomaly")
        if not quiet:
            print(f"  {cut_h:>3g} h before (truth {truth:.2f} d): {a.state}, {flag}, {text}")
        out["cuts"].append(cut)
    return out


def summarise(results: list[dict], args) -> dict:
    """Per-series and overall figures of the cut-offs in ``results``."""
    tested = [r for r in results if r["cuts"]]
    total = {"series": len(tested), "held3": 0, "rul_ok": 0, "goals": 0, "misses": 0, "widths": [], "rows": []}
    total.update(stated=0, held=0, anomalies=0, given=0)
    for r in tested:
        cuts = r["cuts"]
        stated = [c for c in cuts if c["ok"]]
        held = sum(c["held"] for c in stated)
        anomalies = [c for c in cuts if c["anomaly"]]
        given = sum(c["ok"] for c in anomalies)
        silent = sum(not c["ok"] and not c["anomaly"] for c in cuts)
        widest = max((c["width"] for c in stated), default=0.0)
        err = np.mean([abs(c["rul"] - c["truth"]) for c in stated]) if stated else float("nan")
        goal = held + silent >= math.ceil(0.75 * len(cuts)) and given == len(anomalies) and widest <= args.max_width
        total["held3"] += held >= 3
        total["rul_ok"] += given == len(anomalies)
        total["goals"] += goal
        total["misses"] += len(stated) - held
        total["widths"] += [c["width"] for c in stated]
        total["stated"] += len(stated)
        total["held"] += held
        total["anomalies"] += len(anomalies)
        total["given"] += given
        total["rows"].append((r["name"], len(cuts), len(anomalies), len(stated), held, silent, widest, err, goal))
    return total


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
    parser.add_argument("--max-width", type=float, default=7.0, help="widest interval a buyer can act on, days")
    parser.add_argument("--no-prior", action="store_true", help="no failure history: the wear model alone")
    parser.add_argument("--dense", type=float, default=3.0, help="step (h) of the dense check from 96 h to the end")
    args, runs = parser.parse_args(), {}
    for stretch, paths in ((1.0, args.series), (args.stretch, args.stretched)):
        for path in paths:
            hours, values = read_series(path)
            name = path.stem + (f" x{stretch:g}" if stretch != 1 else "")
            runs[name] = failure_of(hours * stretch, values, args)
    # Leave one series out: each series is forecast with the prior of the other series' failures only.
    priors = {
        name: None
        if args.no_prior
        else learn_onset_prior([r["history"] for other, r in runs.items() if other != name and r["fail"] is not None])
        for name in runs
    }
    t0 = time.perf_counter()
    results = [run_series(name, run, priors[name], args, args.cutoffs) for name, run in runs.items()]
    elapsed = time.perf_counter() - t0
    dense_cuts = list(np.arange(96.0, 0.0, -args.dense))
    dense = summarise([run_series(name, run, priors[name], args, dense_cuts) for name, run in runs.items()], args)
    total = summarise(results, args)
    print(f"\n{'series':<26} cut-offs  anomaly up  RUL given  held  silent  widest (d)  mean |error| (d)  goals")
    for name, n, anomalies, stated, held, silent, widest, err, goal in total["rows"]:
        print(
            f"{name:<26} {n:>8}  {anomalies:>10}  {stated:>9}  {held:>4}  {silent:>6}  {widest:>10.2f}  "
            f"{err:>16.2f}  {'met' if goal else 'NOT met'}"
        )
    print(
        f"{total['series']} series, {sum(r[1] for r in total['rows'])} cut-offs assessed in {elapsed:.2f} s; "
        f"dense check (every {args.dense:g} h from 96 h before the alarm): {dense['held']} of {dense['stated']} "
        f"intervals held ({dense['held'] / max(dense['stated'], 1):.2f}), a RUL at {dense['given']} of "
        f"{dense['anomalies']} upward anomalies, widest {max(dense['widths'], default=0.0):.2f} d"
    )
    print(
        f"RESULT series={total['series']} held_3of4={total['held3']} rul_when_anomaly={total['rul_ok']} "
        f"max_width_days={max(total['widths'], default=0.0):.2f} confident_misses={total['misses']} "
        f"goals_met={total['goals']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
