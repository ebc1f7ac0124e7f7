"""Benchmark the bridge's spool: the processor time it takes for the readings of one second at ``--rate``.

The bridge's spool thread does three things per reading: the group commit puts it (``Spool.put``, one
transaction of the polls of about 10 ms: ``--put-size`` readings), the sender reads it back
(``Spool.peek_after``, ``--call-size`` readings at a time) and settles it once Odoo answered (``Spool.ack``).
This runs that cycle on a spool file in a temporary folder for ``--seconds`` simulated seconds of
``--rate`` readings from 2,100 sensors (the bridge benchmark's plant), with the readings built beforehand
(the sources build them, not the spool), and reports the process's CPU time per simulated second for each
step, the median of ``--runs`` runs. One simulated second costing 0.1 s of CPU means the spool takes a tenth
of a core at that rate.

Last line: ``RESULT spool_cpu_s_per_s=<put+peek+ack per simulated second> put=<x> peek=<x> ack=<x>``.

    .venv/bin/python bench/spool.py                  # 40,000 readings/s, 5 s, 3 runs
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from mro_bridge.model import Reading
from mro_bridge.spool import Spool

CODES = [f"L{k // 50}-T{k % 50}" for k in range(2100)]


def one_run(rate: int, seconds: int, put_size: int, call_size: int) -> dict[str, float]:
    """CPU seconds per simulated second for each step, over ``seconds`` simulated seconds."""
    puts_per_s = max(1, rate // put_size)
    cpu = {"put": 0.0, "peek": 0.0, "ack": 0.0}
    with tempfile.TemporaryDirectory() as folder:
        spool = Spool(Path(folder) / "spool.db")
        cursor, sequence = 0, 0
        for second in range(seconds):
            polls = []
            for _ in range(puts_per_s):
                polls.append(
                    [
                        Reading(CODES[(sequence + i) % len(CODES)], 1.7e9 + second + (sequence + i) * 1e-6, float(i))
                        for i in range(put_size)
                    ]
                )
                sequence += put_size
            start = time.process_time()
            for poll in polls:
                spool.put(poll)
            read = time.process_time()
            calls = []
            while rows := spool.peek_after(cursor, call_size):
                cursor = rows[-1].id
                calls.append(rows)
            settle = time.process_time()
            for rows in calls:
                spool.ack(sorted(row.id for row in rows))
            end = time.process_time()
            cpu["put"] += read - start
            cpu["peek"] += settle - read
            cpu["ack"] += end - settle
        if spool.depth():
            raise SystemExit(f"the spool still holds {spool.depth()} readings after the run: a bug")
        spool.close()
    return {step: total / seconds for step, total in cpu.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=40_000, help="readings per simulated second")
    parser.add_argument("--seconds", type=int, default=5, help="simulated seconds per run")
    parser.add_argument("--put-size", type=int, default=400, help="readings per spool transaction")
    parser.add_argument("--call-size", type=int, default=20_000, help="readings per ingest call read back")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for k in range(args.runs):
        run = one_run(args.rate, args.seconds, args.put_size, args.call_size)
        runs.append(run)
        print(
            f"run {k + 1}: CPU s per simulated second at {args.rate:,}/s: put {run['put']:.3f}, "
            f"peek {run['peek']:.3f}, ack {run['ack']:.3f}",
            flush=True,
        )
    median = {step: statistics.median(run[step] for run in runs) for step in ("put", "peek", "ack")}
    total = sum(median.values())
    print(f"spool: {total:.3f} s of CPU per second of readings at {args.rate:,}/s ({total:.0%} of a core)")
    steps = " ".join(f"{step}={value:.3f}" for step, value in median.items())
    print(f"RESULT spool_cpu_s_per_s={total:.3f} {steps}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
