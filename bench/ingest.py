"""Benchmark the ingest API end to end, against a raw PostgreSQL COPY of the same rows.

Starts an Odoo server with mro_sensor_bridge on a fresh database (or --reuse-db), creates
1,000 sensors, and sends 1,000,000 readings over XML-RPC in batches from several client
processes, as several bridges would, in ``--rounds`` rounds (3), each a later second of the same
sensors. Each round first COPYs the same rows into a bare table with the same unique key: the
ratio of a round is its ingest rate against the COPY just before it, and the figures are the
medians of the rounds (this machine's speed drifts by a factor of two within minutes, so a
COPY timed once, apart from the ingest, made the ratio anything from 0.48 to 0.88). Round 1 is
replayed (the idempotent path). On a server with autovacuum off, the tables ingest updates in
place are VACUUMed between rounds, as autovacuum would keep them. With --stored (default 10
million) readings in the table, it also times reading one sensor's last 7 days of raw readings
and its last year of hourly aggregates: with the series API (mro.sensor.read_series) over
JSON-RPC and XML-RPC, with the generic ORM search_read, and in plain SQL.

Last line: ``RESULT readings_per_s=<n> copy_rows_per_s=<n> ratio=<n>``.

With ``--clients 1,4`` (a list) it measures concurrent bridges instead: for each count, that many client
processes, each logged in as its own gateway's bridge user (API key) and sending its own sensors' readings,
against Odoo in multi-process mode (``--workers``, at least one per client plus one); then it counts the rows
stored for the round and checks that no reading was lost or stored twice. Last line:
``RESULT readings_per_s=<at the largest count> speedup=<largest vs smallest> lost=<n> duplicated=<n>``.

    .venv/bin/python bench/ingest.py                 # the full run
    .venv/bin/python bench/ingest.py --readings 100000 --stored 0   # a quick look
    .venv/bin/python bench/ingest.py --clients 1,4   # 1 bridge, then 4 concurrent bridges
    .venv/bin/python bench/ingest.py --stored 0 --form list   # the list form (ingest) instead of the packed one

The calls are in the form mro-bridge sends (``--form packed``: ``ingest_packed``, three binary columns), or
with ``--form list`` in the list form (``ingest``, one XML array per reading).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import xmlrpc.client
from pathlib import Path

import odoo_server
import psycopg2

from mro_bridge.odoo import ingest_request, packed_ingest_request

ROOT = Path(__file__).resolve().parent.parent

ADMIN = ("admin", "admin")
#: The tables each ingest call updates in place (a row per sensor): VACUUMed between rounds when the server has
#: autovacuum off, as autovacuum would keep them.
UPDATED_TABLES = ("mro_sensor", "mro_sensor_reading_hourly", "mro_sensor_gateway")


def sensor_code(i: int) -> str:
    return f"BENCH-{i:05d}"


def make_batches(n_readings: int, sensors: list[int], batch: int, start: float):
    """Yield batches of [code, epoch_s, value] for ``sensors`` (indexes), one reading/s per sensor."""
    per_sensor = n_readings // len(sensors)
    items = []
    for k in range(per_sensor):
        ts = start + k
        for i in sensors:
            items.append([sensor_code(i), ts, 1.0 + ((i * 7 + k) % 1000) / 100.0])
            if len(items) == batch:
                yield items
                items = []
    if items:
        yield items


#: The ingest call's body in each form (``--form``): the packed one mro-bridge sends, or the list form.
BODIES = {"packed": packed_ingest_request, "list": ingest_request}


def client(url: str, db: str, uid: int, password: str, batches: list, go, out: mp.Queue, form: str) -> None:
    """One bridge: each batch written as mro-bridge writes it (its ingest body, one kept connection)."""
    host = urllib.parse.urlsplit(url).netloc
    transport = xmlrpc.client.Transport()
    body = BODIES[form]

    def ingest(batch):
        return transport.request(host, "/xmlrpc/2/object", body(db, uid, password, batch))[0]

    ingest([])  # warm up a worker
    out.put("ready")
    go.wait()
    accepted = duplicates = rejected = 0
    latencies = []
    for batch in batches:
        t0 = time.perf_counter()
        result = ingest(batch)
        latencies.append(time.perf_counter() - t0)
        accepted += result["accepted"]
        duplicates += result["duplicates"]
        rejected += len(result["rejected"])
    out.put((accepted, duplicates, rejected, latencies))


def setup_sensors(server: odoo_server.OdooServer, n_sensors: int) -> tuple[int, dict[str, int]]:
    uid = server.login(*ADMIN)
    pw = ADMIN[1]
    existing = server.call(uid, pw, "mro.sensor", "search_read", [("code", "=like", "BENCH-%")], fields=["code"])
    ids = {r["code"]: r["id"] for r in existing}
    missing = [i for i in range(n_sensors) if sensor_code(i) not in ids]
    if missing:
        equipment = server.call(
            uid, pw, "maintenance.equipment", "create", [{"name": f"Bench machine {j}"} for j in range(100)]
        )
        vals = [
            {"code": sensor_code(i), "name": f"Bench sensor {i}", "equipment_id": equipment[i % 100]} for i in missing
        ]
        new_ids = server.call(uid, pw, "mro.sensor", "create", vals)
        ids.update({v["code"]: new_id for v, new_id in zip(vals, new_ids, strict=True)})
    return uid, ids


def run_ingest(server, uid, n_readings, n_sensors, batch, clients, start, form):
    # Each client is one bridge with its own sensors, as gateways own disjoint sensor sets.
    shares = [
        list(make_batches(n_readings // clients, list(range(k, n_sensors, clients)), batch, start))
        for k in range(clients)
    ]
    return run_clients(server, [(uid, ADMIN[1])] * clients, shares, form)


def run_clients(server, credentials, shares, form):
    """Run one client process per (uid, password) and share of batches, all started at once; returns
    (elapsed s, accepted, duplicates, rejected, sorted call latencies)."""
    queue: mp.Queue = mp.Queue()
    go = mp.Event()
    procs = [
        mp.Process(target=client, args=(server.url, server.db, uid, password, share, go, queue, form))
        for (uid, password), share in zip(credentials, shares, strict=True)
    ]
    for p in procs:
        p.start()
    assert [queue.get() for _ in procs] == ["ready"] * len(procs)
    t0 = time.perf_counter()
    go.set()
    results = [queue.get() for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    accepted = sum(r[0] for r in results)
    duplicates = sum(r[1] for r in results)
    rejected = sum(r[2] for r in results)
    latencies = sorted(lat for r in results for lat in r[3])
    return elapsed, accepted, duplicates, rejected, latencies


def gateway_code(k: int) -> str:
    return f"BENCH-GW{k}"


def setup_gateways(server, uid, ids: dict[str, int], n_sensors: int, n_gateways: int) -> list[tuple[int, str]]:
    """One gateway per bridge, each with every n_gateways-th sensor, and its bridge user's credentials (as
    "Create bridge credentials" issues them). Returns [(uid, API key)] by gateway."""
    pw = ADMIN[1]
    credentials = []
    for k in range(n_gateways):
        code = gateway_code(k)
        found = server.call(uid, pw, "mro.sensor.gateway", "search", [("code", "=", code)])
        gateway = (
            found[0] if found else server.call(uid, pw, "mro.sensor.gateway", "create", {"code": code, "name": code})
        )
        mine = [ids[sensor_code(i)] for i in range(k, n_sensors, n_gateways)]
        server.call(uid, pw, "mro.sensor", "write", mine, {"gateway_id": gateway})
        action = server.call(uid, pw, "mro.sensor.gateway", "action_create_bridge_credentials", [gateway])
        wizard = server.call(uid, pw, action["res_model"], "create", {"gateway_id": gateway})
        shown = server.call(uid, pw, action["res_model"], "action_generate", [wizard])
        login, key = shown["context"]["default_login"], shown["context"]["default_api_key"]
        credentials.append((server.login(login, key), key))
    return credentials


def stored_between(db: str, sensor_ids: list[int], start: float, end: float) -> tuple[int, int]:
    """(rows, distinct (sensor, time) pairs) stored for ``sensor_ids`` in [start, end) (epoch s)."""
    conn = psycopg2.connect(dbname=db)
    with conn, conn.cursor() as cr:
        cr.execute(
            """SELECT count(*), count(DISTINCT (sensor_id, ts)) FROM mro_sensor_reading
                WHERE sensor_id = ANY(%s) AND ts >= to_timestamp(%s) AT TIME ZONE 'UTC'
                  AND ts < to_timestamp(%s) AT TIME ZONE 'UTC'""",
            (sensor_ids, start, end),
        )
        rows = cr.fetchone()
    conn.close()
    return rows


def run_concurrency(server, uid, ids, args, counts: list[int]) -> str:
    """Each count of concurrent bridges in turn, on its own time window; returns the RESULT line."""
    most = max(counts)
    credentials = setup_gateways(server, uid, ids, args.sensors, most)
    print(f"{most} gateways, {args.sensors // most} sensors each, {args.workers} Odoo workers", flush=True)
    n_mine = len(range(0, args.sensors, most))  # sensors of one gateway
    # Every round sends ``--readings`` readings (each of its bridges 1/count of them), one reading/s per sensor,
    # in time windows that follow one another: each round is the streaming case, as live bridges are.
    spans = {count: args.readings // count // n_mine for count in counts}
    start = time.time() - 600 - sum(spans.values()) - 60 * len(counts)
    rates, lost, duplicated = {}, 0, 0
    for count in counts:
        per_client_sensor = spans[count]
        shares, sensors = [], []
        for k in range(count):
            mine = list(range(k, args.sensors, most))
            sensors += [ids[sensor_code(i)] for i in mine]
            shares.append(list(make_batches(per_client_sensor * len(mine), mine, args.batch, start)))
        sent = sum(len(b) for share in shares for b in share)
        elapsed, accepted, dups, rejected, lat = run_clients(server, credentials[:count], shares, args.form)
        rows, distinct = stored_between(server.db, sensors, start, start + per_client_sensor)
        round_lost = sent - distinct
        # Stored twice (the unique key forbids it) or counted as accepted twice.
        round_dup = (rows - distinct) + max(0, accepted - sent)
        lost += round_lost
        duplicated += round_dup
        rates[count] = accepted / elapsed
        print(
            f"  {count} bridge(s): {sent:,} readings sent, {accepted:,} accepted, {dups} reported duplicates, "
            f"{rejected} rejected, "
            f"{rows:,} stored in {elapsed:.2f} s = {rates[count]:,.0f} readings/s; call latency "
            f"p50={statistics.median(lat):.3f} s max={lat[-1]:.3f} s; lost={round_lost} duplicated={round_dup}",
            flush=True,
        )
        start += per_client_sensor + 60
    low, high = min(counts), max(counts)
    return (
        f"RESULT readings_per_s={rates[high]:.0f} speedup={rates[high] / rates[low]:.2f} "
        f"lost={lost} duplicated={duplicated}"
    )


def run_copy(db: str, sensor_ids: list[int], n_readings: int, start: float) -> float:
    """COPY the same rows into a bare table with the same unique key; return rows/s."""
    per_sensor = n_readings // len(sensor_ids)
    buf = io.StringIO()
    for k in range(per_sensor):
        ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start + k))
        for i, sid in enumerate(sensor_ids):
            buf.write(f"{sid}\t{ts}\t{1.0 + ((i * 7 + k) % 1000) / 100.0}\n")
    rows = per_sensor * len(sensor_ids)
    conn = psycopg2.connect(dbname=db)
    with conn, conn.cursor() as cr:
        cr.execute("DROP TABLE IF EXISTS bench_copy")
        cr.execute(
            "CREATE TABLE bench_copy (id serial PRIMARY KEY, sensor_id int4 NOT NULL, "
            "ts timestamp NOT NULL, value float8 NOT NULL, UNIQUE (sensor_id, ts))"
        )
    buf.seek(0)
    t0 = time.perf_counter()
    with conn, conn.cursor() as cr:
        cr.copy_expert("COPY bench_copy (sensor_id, ts, value) FROM STDIN", buf)
    elapsed = time.perf_counter() - t0
    with conn, conn.cursor() as cr:
        cr.execute("DROP TABLE bench_copy")
    conn.close()
    return rows / elapsed


def fill_history(db: str, sensor_ids: list[int], total: int) -> tuple[int, int]:
    """Store ``total`` raw readings of history (10-minute period, newest now) and their aggregates.

    Written with set-based SQL, as an import of history would be; returns (readings, hourly rows).
    """
    per_sensor = total // len(sensor_ids)
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute("SELECT count(*) FROM mro_sensor_reading")
        have = cr.fetchone()[0]
        if have < total:
            chunk = 20
            for i in range(0, len(sensor_ids), chunk):
                ids = sensor_ids[i : i + chunk]
                cr.execute(
                    """
                    INSERT INTO mro_sensor_reading (sensor_id, ts, value)
                    SELECT s, date_trunc('minute', now() AT TIME ZONE 'UTC') - (k * interval '10 minutes'),
                           2.0 + sin(k / 300.0) + (s %% 7) / 10.0
                      FROM unnest(%s::int4[]) s, generate_series(1, %s) k
                    ON CONFLICT DO NOTHING
                    """,
                    (ids, per_sensor),
                )
            cr.execute(
                """
                INSERT INTO mro_sensor_reading_hourly (sensor_id, hour, value_count, value_sum, value_min,
                       value_max, value_mean, first_ts, last_ts, last_value)
                SELECT sensor_id, date_trunc('hour', ts), count(*), sum(value), min(value), max(value), avg(value),
                       min(ts), max(ts), (array_agg(value ORDER BY ts DESC))[1]
                  FROM mro_sensor_reading GROUP BY 1, 2
                ON CONFLICT (sensor_id, hour) DO NOTHING
                """
            )
            cr.execute("VACUUM ANALYZE mro_sensor_reading")
            cr.execute("VACUUM ANALYZE mro_sensor_reading_hourly")
        cr.execute("SELECT count(*) FROM mro_sensor_reading")
        readings = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM mro_sensor_reading_hourly")
        hourly = cr.fetchone()[0]
    conn.close()
    return readings, hourly


def jsonrpc(server, uid, password, model, method, args, kwargs):
    """One call on Odoo's JSON-RPC endpoint (what the web client and many integrations use)."""
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": [server.db, uid, password, model, method, args, kwargs],
            },
        }
    ).encode()
    request = urllib.request.Request(f"{server.url}/jsonrpc", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())["result"]


def time_reads(server, uid, sensor_id: int, repeat: int = 7) -> dict[str, float]:
    """Median seconds to read one sensor's history: over XML-RPC with the series API
    (mro.sensor.read_series), over XML-RPC with the generic ORM search_read, and in plain SQL."""
    now = time.time()
    week_ago = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - 7 * 86400))
    year_ago = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - 365 * 86400))
    models = server.models()
    pw = ADMIN[1]
    keys = ("raw7d_json", "hourly1y_json", "raw7d_api", "hourly1y_api", "raw7d_rpc", "hourly1y_rpc")
    keys += ("raw7d_sql", "hourly1y_sql")
    timings: dict[str, list[float]] = {k: [] for k in keys}
    counts = {}
    conn = psycopg2.connect(dbname=server.db)
    for _ in range(repeat):
        for key, since, resolution in (("raw7d", now - 7 * 86400, "raw"), ("hourly1y", now - 365 * 86400, "hour")):
            t0 = time.perf_counter()
            jsonrpc(server, uid, pw, "mro.sensor", "read_series", [[sensor_id], since], {"resolution": resolution})
            timings[f"{key}_json"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        series = models.execute_kw(server.db, uid, pw, "mro.sensor", "read_series", [[sensor_id], now - 7 * 86400])
        timings["raw7d_api"].append(time.perf_counter() - t0)
        counts["raw7d_api"] = len(series["ts"])
        t0 = time.perf_counter()
        series = models.execute_kw(
            server.db, uid, pw, "mro.sensor", "read_series", [[sensor_id], now - 365 * 86400], {"resolution": "hour"}
        )
        timings["hourly1y_api"].append(time.perf_counter() - t0)
        counts["hourly1y_api"] = len(series["ts"])
        t0 = time.perf_counter()
        rows = models.execute_kw(
            server.db,
            uid,
            pw,
            "mro.sensor.reading",
            "search_read",
            [[("sensor_id", "=", sensor_id), ("ts", ">=", week_ago)]],
            {"fields": ["ts", "value"], "order": "ts"},
        )
        timings["raw7d_rpc"].append(time.perf_counter() - t0)
        counts["raw7d"] = len(rows)
        t0 = time.perf_counter()
        rows = models.execute_kw(
            server.db,
            uid,
            pw,
            "mro.sensor.reading.hourly",
            "search_read",
            [[("sensor_id", "=", sensor_id), ("hour", ">=", year_ago)]],
            {"fields": ["hour", "value_min", "value_mean", "value_max", "value_count"], "order": "hour"},
        )
        timings["hourly1y_rpc"].append(time.perf_counter() - t0)
        counts["hourly1y"] = len(rows)
        with conn.cursor() as cr:
            t0 = time.perf_counter()
            cr.execute(
                "SELECT ts, value FROM mro_sensor_reading WHERE sensor_id = %s AND ts >= %s ORDER BY ts",
                (sensor_id, week_ago),
            )
            cr.fetchall()
            timings["raw7d_sql"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            cr.execute(
                "SELECT hour, value_min, value_mean, value_max, value_count FROM mro_sensor_reading_hourly "
                "WHERE sensor_id = %s AND hour >= %s ORDER BY hour",
                (sensor_id, year_ago),
            )
            cr.fetchall()
            timings["hourly1y_sql"].append(time.perf_counter() - t0)
    conn.close()
    result = {k: statistics.median(v) for k, v in timings.items()}
    result.update({f"rows_{k}": v for k, v in counts.items()})
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="mro_bench")
    parser.add_argument("--reuse-db", action="store_true", help="keep an existing --db instead of recreating it")
    parser.add_argument("--sensors", type=int, default=1000)
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000, help="readings per ingest call")
    parser.add_argument(
        "--form",
        choices=sorted(BODIES),
        default="packed",
        help="the ingest calls' form: packed (ingest_packed, what mro-bridge sends) or list (ingest)",
    )
    parser.add_argument(
        "--clients",
        default=None,
        help="a list of concurrent bridge counts (1,4): one round each, every bridge its own gateway; "
        "without it, 2 client processes as admin and the comparison with COPY",
    )
    parser.add_argument("--workers", type=int, default=2, help="Odoo HTTP worker processes")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of COPY then ingest of the same rows; the figures are medians"
    )
    parser.add_argument("--stored", type=int, default=10_000_000, help="history size for read timings; 0 skips")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    log = ROOT / "var" / "bench"
    log.mkdir(parents=True, exist_ok=True)
    if not (args.reuse_db and odoo_server.db_exists(args.db)):
        print(f"creating database {args.db} with mro_sensor_bridge ...", flush=True)
        t0 = time.perf_counter()
        odoo_server.create_db(args.db, ["mro_sensor_bridge"], demo=True, log=log / "create.log")
        print(f"  created in {time.perf_counter() - t0:.0f} s", flush=True)

    counts = sorted({int(n) for n in args.clients.split(",")}) if args.clients else None
    if counts:
        args.workers = max(args.workers, max(counts) + 1)  # a worker for each bridge, and one to spare
    args.clients = 2  # without --clients: today's run
    server = odoo_server.OdooServer(db=args.db, workers=args.workers, log_path=log / "odoo.log")
    server.start()
    try:
        uid, ids = setup_sensors(server, args.sensors)
        if counts:
            print(run_concurrency(server, uid, ids, args, counts))
            return 0
        sensor_ids = [ids[sensor_code(i)] for i in range(args.sensors)]
        per_sensor = args.readings // args.sensors
        start = time.time() - args.rounds * (per_sensor + 60)
        print(
            f"ingest: {args.readings:,} readings a round, {args.sensors} sensors, batches of {args.batch:,}, "
            f"{args.clients} clients, {args.workers} Odoo workers, {args.form} calls; each round first COPYs the "
            "same rows into a bare table with the same unique key",
            flush=True,
        )
        vacuum = odoo_server.psql("SHOW autovacuum", db=args.db) == "off"
        if vacuum:
            print(
                f"PostgreSQL runs with autovacuum off: {', '.join(UPDATED_TABLES)} VACUUMed between rounds", flush=True
            )
        rates, copy_rates, ratios = [], [], []
        for round_ in range(1, args.rounds + 1):
            copy_rate = run_copy(args.db, sensor_ids, args.readings, start)
            elapsed, accepted, duplicates, rejected, lat = run_ingest(
                server, uid, args.readings, args.sensors, args.batch, args.clients, start, args.form
            )
            rate = accepted / elapsed
            rates.append(rate)
            copy_rates.append(copy_rate)
            ratios.append(rate / copy_rate)
            print(
                f"  round {round_}: COPY {copy_rate:,.0f} rows/s; ingest {accepted:,} accepted, {duplicates:,} "
                f"duplicates, {rejected:,} rejected in {elapsed:.2f} s: {rate:,.0f}/s, {rate / copy_rate:.3f} of "
                f"COPY; call latency p50={statistics.median(lat):.3f} s max={lat[-1]:.3f} s",
                flush=True,
            )
            if accepted != per_sensor * args.sensors:
                print("  WARNING: not every reading was accepted (re-run without --reuse-db)", flush=True)
            if round_ == 1:
                # The same batches again: the idempotent path a replaying bridge takes.
                r_elapsed, r_acc, r_dup, _, _ = run_ingest(
                    server, uid, args.readings, args.sensors, args.batch, args.clients, start, args.form
                )
                print(f"  replay of round 1's batches: {r_acc} accepted, {r_dup:,} duplicates in {r_elapsed:.2f} s")
            if vacuum:
                odoo_server.psql(f"VACUUM (ANALYZE) {', '.join(UPDATED_TABLES)}", db=args.db)
            start += per_sensor + 60
        rate, copy_rate, ratio = (statistics.median(x) for x in (rates, copy_rates, ratios))
        print(
            f"median of {args.rounds} rounds: ingest {rate:,.0f} readings/s, COPY {copy_rate:,.0f} rows/s, "
            f"ratio {ratio:.3f} (each round's ingest against the COPY just before it)",
            flush=True,
        )

        if args.stored:
            t0 = time.perf_counter()
            readings, hourly = fill_history(args.db, sensor_ids, args.stored)
            filled = time.perf_counter() - t0
            print(f"history: {readings:,} raw readings, {hourly:,} hourly aggregates (filled in {filled:.0f} s)")
            reads = time_reads(server, uid, sensor_ids[len(sensor_ids) // 2])
            for key, label in (("raw7d", "last 7 days raw"), ("hourly1y", "last year hourly")):
                print(
                    f"  one sensor, {label} ({reads[f'rows_{key}_api']} points): read_series "
                    f"{reads[f'{key}_json'] * 1000:.1f} ms over JSON-RPC, {reads[f'{key}_api'] * 1000:.1f} ms over "
                    f"XML-RPC; ORM search_read {reads[f'{key}_rpc'] * 1000:.1f} ms over XML-RPC; "
                    f"SQL {reads[f'{key}_sql'] * 1000:.1f} ms"
                )
        print(f"RESULT readings_per_s={rate:.0f} copy_rows_per_s={copy_rate:.0f} ratio={ratio:.3f}")
    finally:
        server.stop()
        if not args.keep_db:
            subprocess.run(["dropdb", "--if-exists", "--force", args.db], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
