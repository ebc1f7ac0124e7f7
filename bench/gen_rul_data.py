"""Generate C-MAPSS-like run-to-failure data sets for bench/rul_backtest.py.

Each unit starts with its own initial wear and degrades at its own rate (damage grows
exponentially until it reaches 1: failure). Measures react to the damage with different signs and
sensitivities and their own noise; some are uninformative noise and some constant; optionally the
unit runs in several operating regimes that shift every measure (three setting columns tell them).

    .venv/bin/python bench/gen_rul_data.py --out var/rul --units-train 100 --units-test 100
writes var/rul/train.csv, test.csv (units cut at a random point before failure) and truth.csv.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np


def simulate_unit(rng, n_measures: int, regimes: int, sens: np.ndarray, noise: np.ndarray, offsets: np.ndarray):
    """One unit's history until failure: rows of (t, settings..., measures...)."""
    wear0 = rng.uniform(0.0, 0.25)
    rate = rng.uniform(0.012, 0.03)
    # damage(t) = wear0 + c (exp(rate t) - 1) reaches 1 at a life of ~120-360 cycles
    life = int(rng.uniform(120, 360))
    c = (1.0 - wear0) / (np.exp(rate * life) - 1.0)
    t = np.arange(1, life + 1)
    damage = wear0 + c * (np.exp(rate * t) - 1.0)
    regime = rng.integers(0, regimes, size=life) if regimes > 1 else np.zeros(life, dtype=int)
    measures = 100.0 + offsets[regime] + damage[:, None] * sens[None, :] + rng.normal(0, 1, (life, n_measures)) * noise
    settings = np.stack([regime * 0.5, (regime % 2) * 10.0, regime * 7.0], axis=1).astype(float)
    return t, settings, measures


def write(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--units-train", type=int, default=100)
    parser.add_argument("--units-test", type=int, default=100)
    parser.add_argument("--measures", type=int, default=14)
    parser.add_argument("--regimes", type=int, default=1, help="operating regimes (6 mimics C-MAPSS FD002/FD004)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    m = args.measures
    sens = rng.uniform(2.0, 8.0, m) * rng.choice([-1.0, 1.0], m)
    sens[m - 3 :] = 0.0  # uninformative measures
    noise = rng.uniform(0.3, 1.5, m)
    noise[m - 2 :] = 0.0  # constant measures
    offsets = rng.normal(0, 20, (args.regimes, m))
    offsets[:, m - 2 :] = 0.0
    args.out.mkdir(parents=True, exist_ok=True)
    header = ["unit", "t", "setting1", "setting2", "setting3"] + [f"m{j + 1}" for j in range(m)]
    train, test, truth = [], [], []
    for unit in range(1, args.units_train + 1):
        t, settings, measures = simulate_unit(rng, m, args.regimes, sens, noise, offsets)
        train += [[unit, int(ti), *s.round(4), *x.round(4)] for ti, s, x in zip(t, settings, measures, strict=True)]
    for unit in range(1, args.units_test + 1):
        t, settings, measures = simulate_unit(rng, m, args.regimes, sens, noise, offsets)
        cut = int(len(t) * rng.uniform(0.3, 0.95))
        test += [
            [unit, int(ti), *s.round(4), *x.round(4)]
            for ti, s, x in zip(t[:cut], settings[:cut], measures[:cut], strict=True)
        ]
        truth.append([unit, int(len(t) - cut)])
    write(args.out / "train.csv", header, train)
    write(args.out / "test.csv", header, test)
    write(args.out / "truth.csv", ["unit", "rul"], truth)
    print(f"wrote {args.units_train} training and {args.units_test} test units to {args.out}")


if __name__ == "__main__":
    main()
