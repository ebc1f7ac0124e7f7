"""Reduce raw run-to-failure vibration snapshots to one RMS value per snapshot (input of bearing_backtest.py).

    .venv/bin/python bench/bearing_reduce.py femto DIR... --out OUT_DIR      # PRONOSTIA/FEMTO (PHM 2012)
    .venv/bin/python bench/bearing_reduce.py ims DIR --channel 1 --out OUT.csv  # IMS/NASA (one test folder)
    .venv/bin/python bench/bearing_reduce.py table FILE.csv --time-col date_time --value-col Bearing1_RMS --out OUT.csv

FEMTO: every ``DIR/acc_*.csv`` is one snapshot (0.1 s at 25.6 kHz, columns hour, minute, second, microsecond,
horizontal and vertical acceleration in g), taken every 10 s: the snapshot time is its index x 10 s (the
rig's clock jumps by 18 h inside Bearing1_1), the value the RMS of the horizontal acceleration. IMS: every
file of ``DIR`` is named by its timestamp (``2004.02.12.10.32.39``) and holds 20,480 rows of tab-separated
channels; the value is the RMS
of ``--channel`` (1-based). table: an RMS series already reduced by others, a CSV with an ISO timestamp
column and a value column. Output: CSV ``hours,rms`` (hours since the first snapshot), one per series.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import numpy as np


def femto_series(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(hours since the first snapshot, horizontal RMS in g) of one FEMTO bearing folder."""
    values = []
    for path in sorted(folder.glob("acc_*.csv")):
        raw = path.read_bytes().replace(b";", b",").replace(b"\r", b"").replace(b"\n", b",")
        data = np.array(raw.decode().strip(",").split(","), dtype=float).reshape(-1, 6)
        values.append(float(np.sqrt(np.mean(data[:, 4] ** 2))))
    return np.arange(len(values)) * 10.0 / 3600.0, np.asarray(values)


def ims_series(folder: Path, channel: int) -> tuple[np.ndarray, np.ndarray]:
    """(hours since the first snapshot, RMS) of one channel of an IMS test folder."""
    stamps, values = [], []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            stamp = datetime.strptime(path.name, "%Y.%m.%d.%H.%M.%S")
        except ValueError:
            continue
        data = np.loadtxt(path, usecols=[channel - 1])
        stamps.append(stamp)
        values.append(float(np.sqrt(np.mean(data**2))))
    hours = np.array([(s - stamps[0]).total_seconds() / 3600.0 for s in stamps])
    return hours, np.asarray(values)


def table_series(path: Path, time_col: str, value_col: str) -> tuple[np.ndarray, np.ndarray]:
    """(hours since the first row, value) from a CSV with a header, an ISO timestamp and a value column."""
    lines = path.read_text().strip().splitlines()
    header = lines[0].split(",")
    ti, vi = header.index(time_col), header.index(value_col)
    rows = [line.split(",") for line in lines[1:] if line]
    stamps = [datetime.fromisoformat(r[ti]) for r in rows]
    hours = np.array([(s - stamps[0]).total_seconds() / 3600.0 for s in stamps])
    return hours, np.array([float(r[vi]) for r in rows])


def write(path: Path, hours: np.ndarray, values: np.ndarray) -> None:
    lines = ["hours,rms"] + [f"{h:.6f},{v:.6g}" for h, v in zip(hours, values, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("femto", "ims", "table"))
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--channel", type=int, default=1, help="IMS: the channel (1-based)")
    parser.add_argument("--time-col", default="date_time", help="table: the timestamp column")
    parser.add_argument("--value-col", default="Bearing1_RMS", help="table: the value column")
    parser.add_argument("--out", type=Path, required=True, help="femto: a folder; ims, table: a CSV file")
    args = parser.parse_args()
    if args.kind == "femto":
        args.out.mkdir(parents=True, exist_ok=True)
        for folder in args.folders:
            hours, values = femto_series(folder)
            write(args.out / f"femto_{folder.name}.csv", hours, values)
            print(
                f"{folder.name}: {len(values)} snapshots over {hours[-1]:.2f} h, "
                f"RMS {values[0]:.3g} -> {values[-1]:.3g} g"
            )
    elif args.kind == "table":
        hours, values = table_series(args.folders[0], args.time_col, args.value_col)
        write(args.out, hours, values)
        print(f"{args.folders[0].name}: {len(values)} values over {hours[-1]:.1f} h")
    else:
        hours, values = ims_series(args.folders[0], args.channel)
        write(args.out, hours, values)
        print(f"{args.folders[0].name} channel {args.channel}: {len(values)} snapshots over {hours[-1]:.1f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
