"""Back-test the engine's fleet mode on a run-to-failure data set.

    .venv/bin/python bench/rul_backtest.py --train TRAIN.csv --test TEST.csv --truth TRUTH.csv

TRAIN: run-to-failure histories, columns ``unit,t,<one column per measure>`` (header row); TEST: the
same for units cut before failure; TRUTH: ``unit,rul``. Fits FleetModel on TRAIN, predicts each test
unit's RUL at its last row and prints, last, ``RESULT rmse=<x> phm08_score=<x> coverage80=<x>
mean_width80=<x> n=<n>`` (PHM08: sum of exp(-d/13)-1 for early and exp(d/10)-1 for late predictions,
d = predicted - true). C-MAPSS files (space-separated, no header) are read too: pass them as they are.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "addons" / "mro_predictive"))
from analytics import FleetModel


def read_table(path: Path) -> np.ndarray:
    """A numeric table from CSV with a header, or from whitespace-separated text without one."""
    text = path.read_text().strip().splitlines()
    first = text[0].replace(",", " ").split()
    has_header = any(not _is_number(v) for v in first)
    sep = "," if "," in text[0] else None
    rows = [[float(v) for v in (line.split(sep) if sep else line.split())] for line in text[int(has_header) :] if line]
    return np.array(rows, dtype=float)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def by_unit(table: np.ndarray) -> dict[int, np.ndarray]:
    """unit -> rows (t, measures...) in time order."""
    units = {}
    for unit in np.unique(table[:, 0]):
        rows = table[table[:, 0] == unit][:, 1:]
        units[int(unit)] = rows[np.argsort(rows[:, 0], kind="stable")]
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

    train = by_unit(read_table(args.train))
    test = by_unit(read_table(args.test))
    truth_table = read_table(args.truth)
    if truth_table.ndim == 1 or truth_table.shape[1] == 1:  # C-MAPSS RUL files: one value per line
        truth = {unit: float(v) for unit, v in zip(sorted(test), truth_table.ravel(), strict=True)}
    else:
        truth = {int(u): float(r) for u, r in truth_table[:, :2]}
    t0 = time.perf_counter()
    model = FleetModel().fit(list(train.values()))
    fit_s = time.perf_counter() - t0
    regimes = f"{len(model.regimes)} regimes" if model.regimes is not None else "one regime"
    print(
        f"fitted on {len(train)} units in {fit_s:.2f} s: {len(model.keep)} measures vary, "
        f"{len(model.use)} informative used, "
        f"{regimes}, RUL cap {model.cap:.0f}"
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
    print(f"predicted {len(pred)} units in {time.perf_counter() - t0:.2f} s")
    d = pred - true
    rmse = float(np.sqrt(np.mean(d**2)))
    coverage = float(np.mean((true >= low) & (true <= high)))
    width = float(np.mean(high - low))
    print(f"early {int((d < 0).sum())}, late {int((d > 0).sum())}, mean error {d.mean():+.1f}")
    print(
        f"RESULT rmse={rmse:.2f} phm08_score={phm08(d):.1f} coverage80={coverage:.3f} "
        f"mean_width80={width:.1f} n={len(pred)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
