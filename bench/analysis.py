"""Benchmark the health analysis through the job queue, as production runs it: a full pass over a large fleet,
then an incremental pass.

Builds a database with mro_predictive and N equipment with 3 sensors each and D days of hourly
aggregates (10,000 x 3 x 90 days by default: 64.8 million hourly rows; a tenth of the fleet
degrading). Then starts Odoo with ``--workers=R`` and queue_job loaded server-wide (its job runner with
a capacity of R, the channel root.mro_analysis too), runs the analysis cron once (``odoo-bin shell``: it
queues the fleet in batches) and times until the runner has had every job done: the full pass. Then 1% of
the equipment gets new readings and the cron runs again: the incremental pass, from the cron's start to its
last job done.

    .venv/bin/python bench/analysis.py --runners 2           # RESULT equipment_per_s=<x> incremental_s=<x>
    .venv/bin/python bench/analysis.py --compare-runners 1,2  # RESULT speedup=<x> equipment_per_s=<x at 2>
    .venv/bin/python bench/analysis.py --equipment 1000 --days 30   # a quick look

Building the default fleet takes about 15 minutes; ``--keep-db`` then ``--reuse-db`` skip it next time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import odoo_server
import psycopg2

ROOT = Path(__file__).resolve().parent.parent

BUILD = """
import time, numpy as np
from odoo.tools import SQL
N, D, SEED = {n}, {days}, 7
env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True, mail_notrack=True))
Eq = env["maintenance.equipment"]
t0 = time.time()
equipment = Eq.browse()
for start in range(0, N, 1000):
    names = [f"Bench machine {{i}}" for i in range(start, min(N, start + 1000))]
    equipment |= Eq.create([{{"name": name, "mro_criticality": "B"}} for name in names])
    env.cr.commit()
vals = []
for k, e in enumerate(equipment):
    measures = (("vibration_velocity", 2.8, 4.5), ("temperature", 70, 85), ("current", 40, 48))
    for j, (kind, warn, alarm) in enumerate(measures):
        vals.append({{"code": f"B{{k:05d}}-{{j}}", "name": kind, "equipment_id": e.id, "measure_kind": kind,
                     "warning_limit": warn, "alarm_limit": alarm}})
Sensor = env["mro.sensor"]
for start in range(0, len(vals), 3000):
    Sensor.create(vals[start:start + 3000])
    env.cr.commit()
print("created", len(equipment), "equipment and", len(vals), "sensors in", round(time.time() - t0), "s", flush=True)
t0 = time.time()
ids = Sensor.search([("code", "=like", "B%")], order="id").ids
# A bulk load, as an import of history would be: constraints off, then rebuilt once at the end.
env.cr.execute("ALTER TABLE mro_sensor_reading_hourly DROP CONSTRAINT mro_sensor_reading_hourly_sensor_id_fkey")
env.cr.execute("ALTER TABLE mro_sensor_reading_hourly DROP CONSTRAINT mro_sensor_reading_hourly_sensor_hour_uniq")
env.cr.commit()
for start in range(0, len(ids), 1500):
    chunk = ids[start:start + 1500]
    # Healthy sensors hover at a level; every tenth equipment degrades exponentially.
    env.cr.execute(SQL('''
        INSERT INTO mro_sensor_reading_hourly (sensor_id, hour, value_count, value_sum, value_min, value_max,
                                               value_mean, first_ts, last_ts, last_value)
        SELECT s.id, h.hour, 60, 60 * v.x, v.x - 0.1, v.x + 0.1, v.x, h.hour, h.hour + interval '59 minutes', v.x
          FROM mro_sensor s
          CROSS JOIN generate_series(date_trunc('hour', now() AT TIME ZONE 'UTC') - %s * interval '1 day',
                                     date_trunc('hour', now() AT TIME ZONE 'UTC') - interval '1 hour',
                                     interval '1 hour') AS h(hour)
          CROSS JOIN LATERAL (SELECT CASE
                WHEN s.measure_kind = 'vibration_velocity' AND mod(s.equipment_id, 10) = 0
                THEN 1.0 + 0.05 * exp(0.045 * extract(epoch FROM
                     h.hour - (now() AT TIME ZONE 'UTC' - %s * interval '1 day')) / 86400)
                ELSE (CASE s.measure_kind WHEN 'temperature' THEN 55 WHEN 'current' THEN 30 ELSE 1.2 END)
                     * (1 + 0.02 * sin(s.id + extract(epoch FROM h.hour) / 7200.0))
                END + 0.02 * (random() - 0.5) AS x) v
         WHERE s.id = ANY(%s)
    ''', D, D, chunk))
    env.cr.commit()
env.cr.execute("ALTER TABLE mro_sensor_reading_hourly ADD CONSTRAINT mro_sensor_reading_hourly_sensor_hour_uniq "
               "UNIQUE (sensor_id, hour) INCLUDE (value_mean)")
env.cr.execute("ALTER TABLE mro_sensor_reading_hourly ADD CONSTRAINT mro_sensor_reading_hourly_sensor_id_fkey "
               "FOREIGN KEY (sensor_id) REFERENCES mro_sensor(id) ON DELETE CASCADE")
env.cr.execute("ANALYZE mro_sensor_reading_hourly")
env.cr.commit()
env.cr.execute('''UPDATE mro_sensor s SET last_ts = h.last_ts, last_value = h.last_value
                    FROM (SELECT DISTINCT ON (sensor_id) sensor_id, last_ts, last_value
                            FROM mro_sensor_reading_hourly ORDER BY sensor_id, hour DESC) h
                   WHERE h.sensor_id = s.id''')
env.cr.commit()
env.cr.execute("SELECT count(*) FROM mro_sensor_reading_hourly")
print("hourly aggregates:", env.cr.fetchone()[0], "rows in", round(time.time() - t0), "s", flush=True)
"""

# Queue the analysis as the cron does, in one transaction; the bench's clock starts when the cron starts.
QUEUE = """
import json, time
A = env["mro.health.analysis"]
print("QUEUE_START", time.time(), flush=True)
n = A._cron_analyze()
env.cr.commit()
print("RESULT_JSON", json.dumps({"n": n}), flush=True)
"""

# Forget every analysis result and job, so that each pass (and a kept database, --reuse-db) starts from nothing.
RESET = """
env.cr.execute("DELETE FROM queue_job")
env.cr.execute("DELETE FROM mail_activity WHERE res_model = 'mro.health.alert'")
env.cr.execute("DELETE FROM mro_health_alert")
env.cr.execute("DELETE FROM mro_prediction")
env.cr.execute(
    "UPDATE mro_sensor SET mro_baseline_median = NULL, mro_baseline_mad = NULL, mro_baseline_n = NULL,"
    " mro_baseline_learned_at = NULL,"
    " mro_anomaly = FALSE, mro_anomaly_z = NULL, mro_data_quality = NULL, mro_analysis_note = NULL"
)
env.cr.execute(
    "UPDATE maintenance_equipment SET mro_last_analysis = NULL, mro_analysis_data_ts = NULL, mro_health_score = NULL,"
    " mro_health_state = NULL, mro_anomaly = FALSE, mro_rul_days = NULL, mro_predicted_failure_date = NULL,"
    " mro_analysis_queued = NULL"
)
env.cr.execute("UPDATE queue_job_channel SET capacity = {runners} WHERE complete_name = 'root.mro_analysis'")
env.cr.commit()
print("RESULT_JSON {{}}", flush=True)
"""

# 1% of the equipment gets a new reading (one sensor each).
TOUCH = """
import time, json, random
env.cr.execute("SELECT id FROM mro_sensor WHERE code LIKE 'B%%' ORDER BY id")
sensors = [r[0] for r in env.cr.fetchall()]
random.seed(3)
touched = random.sample(sensors[::3], max(1, len(sensors) // 300))
now = time.time()
env["mro.sensor.reading"]._insert_readings(touched, [round(now * 1e6)] * len(touched), [1.3] * len(touched))
env.cr.commit()
print("RESULT_JSON", json.dumps({"touched": len(touched)}), flush=True)
"""


def shell(db: str, code: str, log: Path) -> subprocess.Popen:
    cmd = odoo_server.odoo_cmd("shell", "-d", db, "--log-level=warn", "--no-http")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(log, "ab"), text=True)  # noqa: SIM115
    proc.stdin.write(code)
    proc.stdin.close()
    return proc


def result_of(proc: subprocess.Popen, marks: dict | None = None) -> dict:
    found = None
    for line in proc.stdout:
        if line.startswith("RESULT_JSON "):
            found = json.loads(line.split(" ", 1)[1])
        elif line.startswith("QUEUE_START ") and marks is not None:
            marks["start"] = float(line.split()[1])
        elif line.strip():
            print("  " + line.rstrip(), flush=True)
    if proc.wait() != 0 or found is None:
        raise RuntimeError("the Odoo shell failed; see var/bench/analysis.log")
    return found


def wait_for_jobs(db: str, timeout: float = 3600.0) -> float:
    """Wait until every analysis job is done (polling every 50 ms); returns the time it was seen done."""
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    deadline = time.time() + timeout
    try:
        with conn.cursor() as cr:
            while time.time() < deadline:
                cr.execute(
                    "SELECT count(*) FILTER (WHERE state NOT IN ('done', 'failed')),"
                    " count(*) FILTER (WHERE state = 'failed') FROM queue_job WHERE method_name = '_job_analyze'"
                )
                waiting, failed = cr.fetchone()
                if failed:
                    raise RuntimeError(f"{failed} analysis jobs failed; see the Jobs menu of {db}")
                if not waiting:
                    return time.time()
                time.sleep(0.05)
    finally:
        conn.close()
    raise TimeoutError("the analysis jobs did not finish")


def run_pass(args, runners: int, log: Path, incremental: bool) -> tuple[float, float | None]:
    """One full pass through the job queue with ``runners`` job runners (Odoo workers); then, if asked, an
    incremental pass. Returns (equipment/s, incremental seconds)."""
    result_of(shell(args.db, RESET.format(runners=runners), log))
    server = odoo_server.OdooServer(
        db=args.db,
        workers=runners,
        log_path=log,
        extra_args=("--load=base,web,queue_job",),
        env={"ODOO_QUEUE_JOB_MAX_CAPACITY": str(runners)},
    )
    with server:
        marks: dict = {}
        queued = result_of(shell(args.db, QUEUE, log), marks)
        done = wait_for_jobs(args.db)
        full = done - marks["start"]
        rate = queued["n"] / full
        print(
            f"full pass with {runners} job runner(s): {queued['n']:,} equipment queued and analysed in "
            f"{full:.1f} s: {rate:,.0f} equipment/s",
            flush=True,
        )
        inc = None
        if incremental:
            touched = result_of(shell(args.db, TOUCH, log))["touched"]
            marks = {}
            queued = result_of(shell(args.db, QUEUE, log), marks)
            inc = wait_for_jobs(args.db) - marks["start"]
            print(
                f"incremental pass: {touched} equipment with new readings, {queued['n']} queued and analysed "
                f"in {inc:.2f} s",
                flush=True,
            )
    return rate, inc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="mro_bench_analysis")
    parser.add_argument("--equipment", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runners", "--workers", type=int, default=2, help="job runners (Odoo workers)")
    parser.add_argument("--compare-runners", help="e.g. 1,2: one full pass with each; prints the speed-up")
    parser.add_argument("--reuse-db", action="store_true", help="keep an existing --db (already filled)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    log = ROOT / "var" / "bench" / "analysis.log"
    log.parent.mkdir(parents=True, exist_ok=True)

    if not (args.reuse_db and odoo_server.db_exists(args.db)):
        print(f"creating {args.db}: mro_predictive, {args.equipment:,} equipment x 3 sensors x {args.days} days hourly")
        t0 = time.perf_counter()
        odoo_server.create_db(args.db, ["mro_predictive"], demo=False, log=log)
        proc = shell(args.db, BUILD.format(n=args.equipment, days=args.days), log)
        for line in proc.stdout:
            print("  " + line.rstrip(), flush=True)
        if proc.wait() != 0:
            raise RuntimeError(f"building the fleet failed; see {log}")
        # What autovacuum does to a table after a bulk load (visibility map, statistics), done now.
        odoo_server.psql("VACUUM ANALYZE mro_sensor_reading_hourly", db=args.db)
        print(f"  built in {time.perf_counter() - t0:.0f} s", flush=True)
    else:
        print(f"reusing {args.db}")
    try:
        if args.compare_runners:
            counts = [int(n) for n in args.compare_runners.split(",")]
            rates = [run_pass(args, n, log, incremental=False)[0] for n in counts]
            print(f"RESULT speedup={rates[-1] / rates[0]:.2f} equipment_per_s={rates[-1]:.0f}")
        else:
            rate, inc = run_pass(args, args.runners, log, incremental=True)
            print(f"RESULT equipment_per_s={rate:.0f} incremental_s={inc:.2f}")
    finally:
        if not args.keep_db:
            odoo_server.drop_db(args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
