"""Back-test the engine's fleet mode on a run-to-failure data set.

    .venv/bin/python bench/rul_backtest.py --train TRAIN.csv --test TEST.csv --truth TRUTH.csv

TRAIN: run-to-failure histories, columns ``unit,t,<one column per measure>`` (header row); TEST: the
same for units cut before failure; TRUTH: ``unit,rul``. Fits FleetModel on TRAIN, predicts each test
unit's RUL at its last row and prints the numbers of complete units, the times to fit and to predict,
and last, ``RESULT rmse=<x> phm08_score=<x> coverage80=<x> mean_width80=<x> n=<n>`` (PHM08: sum of
exp(-d/13)-1 for early and exp(d/10)-1 for late predictions, d = predicted - true). C-MAPSS files
(space-separated, no header) are read too: pass them as they are. A file cut short (a copy truncated
mid-line) loses its partial last line and its last unit, which may be incomplete; a C-MAPSS RUL file's
line i is unit i's RUL, so a test file cut short is scored on its complete units.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from mro_analytics import FleetModel


def read_table(path: Path) -> tuple[np.ndarray, bool]:
    """A numeric table from CSV with a header, or from whitespace-separated text without one, and whether
    the file was cut short (no final newline, or a last line shorter than the first): its partial last line
    is dropped."""
    raw = path.read_text()
    text = raw.strip().splitlines()
    first = text[0].replace(",", " ").split()
    has_header = any(not _is_number(v) for v in first)
    sep = "," if "," in text[0] else None
    rows = [line.split(sep) if sep else line.split() for line in text[int(has_header) :] if line.strip()]
    width = len(rows[0])
    cut = not raw.endswith("\n") or len(rows[-1]) != width
    if len(rows[-1]) != width:
        rows = rows[:-1]
    return np.array([[float(v) for v in row] for row in rows], dtype=float), cut


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def by_unit(table: np.ndarray, cut: bool = False) -> dict[int, np.ndarray]:
    """unit -> rows (t, measures...) in time order; from a file cut short, the last unit (partial) is left out."""
    units = {}
    for unit in np.unique(table[:, 0]):
        rows = table[table[:, 0] == unit][:, 1:]
        units[int(unit)] = rows[np.argsort(rows[:, 0], kind="stable")]
    if cut:
        units.pop(max(units))
    return units


def load(path: Path, what: str) -> dict[int, np.ndarray]:
    table, cut = read_table(path)
    units = by_unit(table, cut)
    rows = sum(len(u) for u in units.values())
    note = f" (file cut short: partial unit {int(table[-1, 0])} left out)" if cut else ""
    print(f"{what}: {len(units)} complete units, {rows} rows, from {path.name}{note}")
    return units


def phm08(d: np.ndarray) -> float:
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1.0, np.exp(d / 10.0) - 1.0)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--confidence", type=float, default=0.8)
    args = parser.parse_args()

    train = load(args.train, "train")
    test = load(args.test, "test")
    truth_table, _cut = read_table(args.truth)
    if truth_table.ndim == 1 or truth_table.shape[1] == 1:  # C-MAPSS RUL files: line i is unit i's RUL
        values = truth_table.ravel()
        truth = {unit: float(values[unit - 1]) for unit in test}
    else:
        truth = {int(u): float(r) for u, r in truth_table[:, :2]}
    t0 = time.perf_counter()
    model = FleetModel().fit(list(train.values()))
    fit_s = time.perf_counter() - t0
    regimes = f"{len(model.regimes)} regimes" if model.regimes is not None else "one regime"
    weights = "/".join(f"{w:.2f}" for w in model.weights) if model.weights else "-"
    print(
        f"fitted on {len(train)} units in {fit_s:.2f} s: {len(model.keep)} measures vary, "
        f"{len(model.use)} informative used, {regimes}, RUL cap {model.cap:.0f} (chosen by cross-validation), "
        f"ensemble kernel/linear/similarity {weights}"
    )
    preds, trues, lows, highs = [], [], [], []
    t0 = time.perf_counter()
    for unit, history in test.items():
        result = model.predict(history, confidence=args.confidence)
        preds.append(result.rul)
        lows.append(result.lower)
        highs.append(result.upper)
        trues.append(truth[unit])
    pred, true, low, high = map(np.asarray, (preds, trues, lows, highs))
    predict_s = time.perf_counter() - t0
    print(f"predicted {len(pred)} units in {predict_s:.2f} s")
    d = pred - true
    rmse = float(np.sqrt(np.mean(d**2)))
    coverage = float(np.mean((true >= low) & (true <= high)))
    width = float(np.mean(high - low))
    print(f"early {int((d < 0).sum())}, late {int((d > 0).sum())}, mean error {d.mean():+.1f}")
    print(f"train_units={len(train)} test_units={len(pred)} fit_s={fit_s:.1f} predict_s={predict_s:.2f}")
    print(
        f"RESULT rmse={rmse:.2f} phm08_score={phm08(d):.1f} coverage80={coverage:.3f} "
        f"mean_width80={width:.1f} n={len(pred)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
