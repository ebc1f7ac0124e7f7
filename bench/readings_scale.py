"""Benchmark the partitioned readings table at scale: ingest on an empty table versus a loaded one, a 30-day
read of one sensor, and retention dropping a month.

Starts an Odoo server with mro_sensor_bridge on a fresh database (or reuses --db), creates the sensors, then:

1. ingests ``--ingest`` readings over XML-RPC through ``mro.sensor.reading.ingest`` into the empty table;
2. empties it and bulk-loads ``--rows`` readings of history spread over ``--months`` months (set-based
   INSERT ... SELECT generate_series into the monthly partitions, with their hourly aggregates, as an import
   of history would; not through ingest);
3. ingests the same readings again, now next to the history: ``ingest_ratio`` is the loaded rate over the
   empty one;
4. reads one sensor's last 30 days in SQL (the plan is printed: an index scan of one or two partitions), and
   through ``mro.sensor.read_series`` over XML-RPC;
5. times retention taking a month that has expired whole out of the readings table
   (``_drop_expired_partitions``, a detach: ``drop_month_s``), and the next run's removal of the month's
   table (``_drop_detached_months``: a scan for readings without aggregate, rolled up, then its files), in
   ``odoo-bin shell``.

Last line: ``RESULT ingest_ratio=<loaded/empty> read_ms=<SQL, median> drop_month_s=<s>``.

    .venv/bin/python bench/readings_scale.py                    # 20 million rows (a few minutes)
    .venv/bin/python bench/readings_scale.py --rows 200000000   # the 200-million-row goal (~25 GB of disk)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import odoo_server
import psycopg2
from ingest import ADMIN, run_ingest, sensor_code, setup_sensors
from mro_ingestion.partitions import add_months, month_start, partition_name

ROOT = Path(__file__).resolve().parent.parent

TABLE = "mro_sensor_reading"


def utc_naive(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, timezone.utc).replace(tzinfo=None)


def ingest_rate(server, uid, n_readings, n_sensors, batch, start) -> float:
    elapsed, accepted, duplicates, rejected, _lat = run_ingest(server, uid, n_readings, n_sensors, batch, 1, start)
    if duplicates or rejected or accepted != n_readings // n_sensors * n_sensors:
        raise SystemExit(f"ingest did not take every reading: {accepted} accepted, {duplicates} dup, {rejected} rej")
    return accepted / elapsed


def ingest_rates(server, uid, n_readings, n_sensors, batch, start, repeat) -> list[float]:
    """``repeat`` rounds of ``n_readings`` each, one window of time after the other from ``start``: a round
    lasts seconds, so the median of a few is the figure (a checkpoint or an autovacuum can fall in one)."""
    per_sensor = n_readings // n_sensors
    return [ingest_rate(server, uid, n_readings, n_sensors, batch, start + r * per_sensor) for r in range(repeat)]


def empty_readings(conn) -> None:
    with conn.cursor() as cr:
        cr.execute(f"TRUNCATE {TABLE}, mro_sensor_reading_hourly")
        cr.execute("UPDATE mro_sensor SET last_ts = NULL, last_value = NULL, limit_state = 'normal'")


def create_months(conn, first: datetime, last: datetime) -> list:
    """The monthly partitions from ``first``'s month to ``last``'s (named as the addon's cron names them)."""
    months, month = [], month_start(first)
    with conn.cursor() as cr:
        while month <= month_start(last):
            name = partition_name(TABLE, month)
            cr.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)",
                (str(month), str(add_months(month, 1))),
            )
            months.append(month)
            month = add_months(month, 1)
    return months


def bulk_load(conn, sensor_ids: list[int], rows: int, first_s: float, last_s: float) -> float:
    """``rows`` readings, evenly spaced per sensor between ``first_s`` and ``last_s`` (epoch s), and their
    hourly aggregates; set-based, a few sensors per statement. Returns the seconds taken."""
    per_sensor = rows // len(sensor_ids)
    step = (last_s - first_s) / per_sensor
    chunk = max(1, 2_000_000 // per_sensor)
    t0 = time.perf_counter()
    with conn.cursor() as cr:
        for i in range(0, len(sensor_ids), chunk):
            ids = sensor_ids[i : i + chunk]
            cr.execute(
                f"""
                INSERT INTO {TABLE} (sensor_id, ts, value)
                SELECT s, %s::timestamp - (k * %s) * interval '1 second', 2.0 + sin(k / 300.0) + (s %% 7) / 10.0
                  FROM unnest(%s::int4[]) s, generate_series(0, %s - 1) k
                """,
                (utc_naive(last_s), step, ids, per_sensor),
            )
            cr.execute(
                f"""
                INSERT INTO mro_sensor_reading_hourly (sensor_id, hour, value_count, value_sum, value_min,
                       value_max, value_mean, first_ts, last_ts, last_value)
                SELECT sensor_id, date_trunc('hour', ts), count(*), sum(value), min(value), max(value), avg(value),
                       min(ts), max(ts), (array_agg(value ORDER BY ts DESC))[1]
                  FROM {TABLE} WHERE sensor_id = ANY(%s::int4[]) GROUP BY 1, 2
                """,
                (ids,),
            )
            done = min(i + chunk, len(sensor_ids)) * per_sensor
            print(f"  {done:,} rows loaded ({time.perf_counter() - t0:.0f} s)", flush=True)
        cr.execute(
            "UPDATE mro_sensor s SET last_ts = h.last_ts, last_value = h.last_value FROM ("
            " SELECT DISTINCT ON (sensor_id) sensor_id, last_ts, last_value FROM mro_sensor_reading_hourly"
            " ORDER BY sensor_id, hour DESC) h WHERE h.sensor_id = s.id"
        )
        cr.execute(f"VACUUM ANALYZE {TABLE}")
        cr.execute("VACUUM ANALYZE mro_sensor_reading_hourly")
    return time.perf_counter() - t0


def read_30_days(conn, sensor_id: int, now_s: float, repeat: int = 9) -> tuple[float, int, str]:
    """Median ms of one sensor's last 30 days in SQL, its row count and its plan."""
    query = f"SELECT ts, value FROM {TABLE} WHERE sensor_id = %s AND ts >= %s AND ts < %s ORDER BY ts"
    params = (sensor_id, utc_naive(now_s - 30 * 86400), utc_naive(now_s))
    timings = []
    with conn.cursor() as cr:
        cr.execute("EXPLAIN " + query, params)
        plan = "\n".join(row[0] for row in cr.fetchall())
        for _ in range(repeat):
            t0 = time.perf_counter()
            cr.execute(query, params)
            rows = len(cr.fetchall())
            timings.append(time.perf_counter() - t0)
    return statistics.median(timings) * 1000, rows, plan


def read_series_ms(server, uid, sensor_id: int, now_s: float, repeat: int = 5) -> float:
    models = server.models()
    timings = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        models.execute_kw(server.db, uid, ADMIN[1], "mro.sensor", "read_series", [[sensor_id], now_s - 30 * 86400])
        timings.append(time.perf_counter() - t0)
    return statistics.median(timings) * 1000


DROP = """
import time
from datetime import datetime
Reading = env["mro.sensor.reading"]
Reading._drop_expired_partitions(datetime.fromisoformat({warm!r}))  # the partly filled oldest month
env.cr.commit()
Reading._drop_detached_months()
env.cr.commit()
# The hourly cron once the next month, a full one, has expired: out of the readings table (its commit ends the run).
t0 = time.perf_counter()
names = Reading._drop_expired_partitions(datetime.fromisoformat({cutoff!r}))
env.cr.commit()
print("DROPPED", len(names), time.perf_counter() - t0)
# What the next run does first: roll up the month's readings that have no aggregate, remove its table.
t0 = time.perf_counter()
rows = Reading._drop_detached_months()
env.cr.commit()
print("REMOVED", rows, time.perf_counter() - t0)
"""


def drop_one_month(db: str, months: list, log: Path) -> tuple[int, float, float]:
    """Drop the oldest (partly filled) month untimed, then time retention taking the next, a full one, out of
    the readings table, and the next run's removal of its table (a scan for readings without aggregate, then
    the files). Returns (rows removed, retention s, removal s)."""
    script = DROP.format(warm=str(months[1]), cutoff=str(months[2]))
    out = subprocess.run(
        [*odoo_server.odoo_cmd("shell", "-d", db, "--no-http", "--log-level=warn")],
        input=script,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    log.write_text(out)
    said = {w[0]: w[1:] for w in map(str.split, out.splitlines()) if w[:1] in (["DROPPED"], ["REMOVED"])}
    if said.get("DROPPED", ["0"])[0] != "1":
        raise SystemExit(f"retention did not take the month out; see {log}")
    return int(said["REMOVED"][0]), float(said["DROPPED"][1]), float(said["REMOVED"][1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="mro_bench_scale")
    parser.add_argument("--reuse-db", action="store_true", help="keep an existing --db instead of recreating it")
    parser.add_argument("--rows", type=int, default=20_000_000, help="readings of history to bulk-load")
    parser.add_argument("--months", type=int, default=6, help="months the history spans")
    parser.add_argument("--sensors", type=int, default=1000)
    parser.add_argument("--ingest", type=int, default=300_000, help="readings ingested on each table")
    parser.add_argument("--batch", type=int, default=20_000, help="readings per ingest call")
    parser.add_argument("--repeat", type=int, default=3, help="ingest rounds on each table (the median counts)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    disk = shutil.disk_usage(ROOT)
    need = args.rows * 130  # heap, primary key and (sensor_id, ts) index, aggregates: ~130 bytes a row
    print(f"disk: {disk.free / 1e9:.0f} GB free, about {need / 1e9:.1f} GB needed", flush=True)
    if need > disk.free * 0.8:
        raise SystemExit("not enough disk space for --rows; run a smaller --rows")

    log = ROOT / "var" / "bench"
    log.mkdir(parents=True, exist_ok=True)
    if not (args.reuse_db and odoo_server.db_exists(args.db)):
        print(f"creating database {args.db} with mro_sensor_bridge ...", flush=True)
        odoo_server.create_db(args.db, ["mro_sensor_bridge"], demo=False, log=log / "create.log")

    server = odoo_server.OdooServer(db=args.db, workers=2, log_path=log / "odoo_scale.log")
    server.start()
    conn = psycopg2.connect(dbname=args.db)
    conn.autocommit = True
    try:
        uid, ids = setup_sensors(server, args.sensors)
        sensor_ids = [ids[sensor_code(i)] for i in range(args.sensors)]
        with conn.cursor() as cr:  # history may be older than the retention: keep it
            cr.execute("UPDATE ir_config_parameter SET value = '0' WHERE key = 'mro_sensor_bridge.retention_days'")
        now = time.time()
        per_sensor = args.ingest // args.sensors
        # The ingested windows: the last minutes, after all the history.
        start = now - args.repeat * per_sensor - 120

        empty_readings(conn)
        print(
            f"ingest into the empty table: {args.repeat} rounds of {args.ingest:,} readings, batches of {args.batch:,}",
            flush=True,
        )
        ingest_rate(server, uid, args.batch, args.sensors, args.batch, start - 86400)  # warm-up
        empty_readings(conn)
        rates = ingest_rates(server, uid, args.ingest, args.sensors, args.batch, start, args.repeat)
        empty = statistics.median(rates)
        print(f"  rounds: {', '.join(f'{r:,.0f}' for r in rates)} readings/s", flush=True)
        print(f"  {empty:,.0f} readings/s, median", flush=True)

        empty_readings(conn)
        last = start - 60
        first = last - args.months * 30.4 * 86400
        months = create_months(conn, utc_naive(first), utc_naive(now))
        print(f"bulk load: {args.rows:,} rows over {len(months)} monthly partitions ...", flush=True)
        loaded = bulk_load(conn, sensor_ids, args.rows, first, last)
        # The load leaves gigabytes of dirty pages: write them out now, so that the ingest measured next runs
        # beside a settled table, not beside the checkpoint of the load.
        t0 = time.perf_counter()
        with conn.cursor() as cr:
            cr.execute("CHECKPOINT")
        print(f"  checkpoint after the load: {time.perf_counter() - t0:.0f} s", flush=True)
        with conn.cursor() as cr:
            cr.execute(f"SELECT count(*) FROM {TABLE}")
            total = cr.fetchone()[0]
            cr.execute(
                "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits"
                f" WHERE inhparent = '{TABLE}'::regclass"
            )
            size = cr.fetchone()[0]
        print(f"  {total:,} rows, {size} on disk, loaded in {loaded:.0f} s", flush=True)

        rates = ingest_rates(server, uid, args.ingest, args.sensors, args.batch, start, args.repeat)
        big = statistics.median(rates)
        print(f"  rounds: {', '.join(f'{r:,.0f}' for r in rates)} readings/s", flush=True)
        print(f"ingest next to {total:,} rows: {big:,.0f} readings/s, median ({big / empty:.2f} x the empty table's)")

        sensor = sensor_ids[len(sensor_ids) // 2]
        read_ms, read_rows, plan = read_30_days(conn, sensor, now)
        print(f"one sensor, last 30 days in SQL: {read_rows:,} rows in {read_ms:.1f} ms (median); plan:")
        print("    " + plan.replace("\n", "\n    "))
        api_ms = read_series_ms(server, uid, sensor, now)
        print(f"  the same through mro.sensor.read_series over XML-RPC: {api_ms:.1f} ms", flush=True)

        rows, drop_s, removal_s = drop_one_month(args.db, months, log / "drop_month.log")
        print(
            f"retention took a month ({rows:,} rows) out of the readings table in {drop_s:.3f} s (a detach, no row "
            f"read); the next run rolled up its readings without aggregate and removed its table (its files) in "
            f"{removal_s:.3f} s, without a lock on the readings table"
        )
        print(f"RESULT ingest_ratio={big / empty:.3f} read_ms={read_ms:.1f} drop_month_s={drop_s:.3f}")
    finally:
        conn.close()
        server.stop()
        if not args.keep_db:
            subprocess.run(["dropdb", "--if-exists", "--force", args.db], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
