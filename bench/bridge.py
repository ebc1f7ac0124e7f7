"""Benchmark mro-bridge end to end: simulated Modbus devices and MQTT traffic into a real Odoo.

A separate process serves 10 Modbus TCP devices (pymodbus, one port each) with 200 holding registers each,
all read (200 int16 tags scaled by 0.01, or with ``--data-type float32`` 100 float32 tags), whose values
change several times per poll, and publishes MQTT messages (QoS 1, JSON with an ISO 8601 source timestamp, 10
values per message, 10 topics) to a private Mosquitto (scripts/odoo_server.py's broker set-up). A real
``mro-bridge run`` process reads them all with a generated TOML configuration and the bridge's default
batching, and writes through its durable spool (on a real disk, in var/bench) into an Odoo server with HTTP
workers on a database with mro_sensor_bridge. The sensors are created here, one per tag, on a "BENCH"
gateway, and the bridge logs in with that gateway's "Create bridge credentials" login and API key.

Two phases, each with a fresh bridge and spool:

1. throughput: the devices are polled (and MQTT published) fast enough to offer ``--rate`` readings/s
   (22,000 by default: the 2,100 tags at 10.5 Hz); after ``--warmup`` seconds, the readings committed in
   Odoo (new rows of mro_sensor_reading, counted in PostgreSQL) are counted over ``--duration`` seconds.
2. latency: ``--latency-rate`` readings/s offered (5,000); the latency of a reading is the time a poller
   first sees its row in PostgreSQL (a query every ``--poll`` seconds: an upper bound of its commit time)
   minus its source timestamp (when the bridge got the Modbus response, or the time in the MQTT payload).
   The bridge's own ``mro_bridge_latency_seconds`` (source time to Odoo's answer) is printed beside it.

Each phase prints the offered, received and committed rates, the poll intervals the devices saw, the spool
depth, errors, the ingest calls, and the CPU each part used (bridge, devices, broker, Odoo with its workers,
PostgreSQL backends of the database) with the machine's total, I/O wait and disk writes, to tell where the
time goes. The last line is ``RESULT readings_per_s=<n> p95_latency_s=<x>`` (committed readings/s of
phase 1, p95 latency of phase 2). Everything listens on 127.0.0.1; processes are stopped on exit (Ctrl-C
too) and the database is dropped unless ``--keep-db``. With ``--reuse-db`` the readings of earlier runs
stay: the figures then include the cost of a larger readings table. On a PostgreSQL server with autovacuum off
(as a CI image may have), the benchmark VACUUMs the few tables that ingest updates in place every
``--vacuum-every`` seconds, as autovacuum would; their dead rows would otherwise slow every later call.

    .venv/bin/python bench/bridge.py                          # both phases, about 3 minutes
    .venv/bin/python bench/bridge.py --keep-db                # then --reuse-db --keep-db next time
    .venv/bin/python bench/bridge.py --duration 20 --latency-duration 15   # a quick look
    .venv/bin/python bench/bridge.py --batch-size 20000 --rate 35000      # bigger batches, more load
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import logging
import multiprocessing as mp
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import odoo_server
import psutil
import psycopg2
from odoo_server import bridge_credentials, metrics, start_bridge, wait_for

from mro_bridge.config import load, to_toml, write_private
from mro_bridge.decode import RegisterField, register_count
from mro_bridge.pipeline import quantile

ROOT = Path(__file__).resolve().parent.parent

ADMIN = odoo_server.ADMIN
GATEWAY = "BENCH"
#: Register updates per poll period: every poll sees new values, so the deadband never filters them.
UPDATES_PER_POLL = 4


@dataclass
class Plant:
    """What the device process serves: Modbus devices (one port each) and MQTT topics, and their tags."""

    devices: int = 10
    registers: int = 200
    data_type: str = "int16"
    mqtt_topics: int = 10
    mqtt_values: int = 10
    ports: list[int] = field(default_factory=list)
    broker: tuple[str, int] = ("127.0.0.1", 1883)

    @property
    def tags_per_device(self) -> int:
        return self.registers // register_count(self.data_type)

    @property
    def scale(self) -> float:
        """Integer registers carry hundredths (a common PLC convention); floats are read as they are."""
        return 0.01 if self.data_type == "int16" else 1.0

    @property
    def tags(self) -> int:
        return self.devices * self.tags_per_device + self.mqtt_topics * self.mqtt_values

    def device(self, device: int) -> str:
        return f"dev{device:02d}"

    def modbus_code(self, device: int, tag: int) -> str:
        return f"BB-D{device:02d}-{tag:03d}"

    def mqtt_code(self, topic: int, value: int) -> str:
        return f"BB-Q{topic:02d}-{value:02d}"

    def topic(self, topic: int) -> str:
        return f"mro-bench/gw{topic:02d}/telemetry"

    def address(self, tag: int) -> int:
        return tag * register_count(self.data_type)

    def sensors(self) -> list[dict[str, Any]]:
        """Every tag as Odoo's mro.sensor values (equipment and gateway apart)."""
        out: list[dict[str, Any]] = [
            {"code": self.modbus_code(d, t), "protocol": "modbus", "source_device": self.device(d),
             "source_address": str(self.address(t)), "data_type": self.data_type, "scale": self.scale}
            for d in range(self.devices)
            for t in range(self.tags_per_device)
        ]  # fmt: skip
        out += [
            {"code": self.mqtt_code(q, v), "protocol": "mqtt", "source_device": "mqtt",
             "source_address": self.topic(q), "mqtt_value_path": f"v.t{v:02d}", "mqtt_ts_path": "ts"}
            for q in range(self.mqtt_topics)
            for v in range(self.mqtt_values)
        ]  # fmt: skip
        return out


# -- the simulated devices (their own process) -------------------------------------------------------------


@dataclass
class DeviceControl:
    """How the benchmark talks to the device process: started, stop, and the poll times the devices saw."""

    ready: Any = field(default_factory=mp.Event)
    stop: Any = field(default_factory=mp.Event)
    asks: Any = field(default_factory=mp.Queue)  # (t0, t1): the window to report on
    answers: Any = field(default_factory=mp.Queue)  # [seconds between two polls of a device, ...]

    def poll_intervals(self, t0: float, t1: float) -> list[float]:
        self.asks.put((t0, t1))
        return self.answers.get(timeout=30)


def serve_devices(plant: Plant, hz: float, control: DeviceControl) -> None:
    """Process entry point: serve the Modbus devices and publish MQTT at ``hz`` until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us through `control`, also on Ctrl-C
    # pymodbus dumps its last frames to stderr when a client goes away mid-request (the bridge reconnecting).
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    asyncio.run(_serve_devices(plant, hz, control))


def _registers(plant: Plant, step: int) -> list[int]:
    """One device's registers at update ``step``: float32 tag i shows i + 0.01 * (step mod 1000), int16 tag i
    the raw value (step + i) mod 30000."""
    n = plant.tags_per_device
    if plant.data_type == "int16":
        return [(step + i) % 30000 for i in range(n)]
    values = struct.pack(f">{n}f", *(i + 0.01 * (step % 1000) for i in range(n)))  # float32 ABCD
    return list(struct.unpack(f">{2 * n}H", values))


def _poll_tracer(times: list[float]):
    """A pymodbus ``trace_pdu`` hook noting when each poll of a device begins (its read at address 0)."""

    def trace(sending: bool, pdu):
        if not sending and getattr(pdu, "address", None) == 0:
            times.append(time.time())
        return pdu

    return trace


async def _serve_devices(plant: Plant, hz: float, control: DeviceControl) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from mro_bridge_sim.simulate import Asset, ModbusServer, SimSensor

    asset = Asset(0, "pump", 1)
    servers = []
    polls: list[list[float]] = []
    for d, port in enumerate(plant.ports):
        specs = [
            SimSensor(
                plant.modbus_code(d, t),
                asset,
                "custom",
                "modbus",
                register=RegisterField("holding", plant.address(t), plant.data_type),
            )
            for t in range(plant.tags_per_device)
        ]
        server = ModbusServer(specs, "127.0.0.1", port)
        await server.start()
        polls.append([])
        server.server.trace_pdu = _poll_tracer(polls[-1])  # taken by each new connection
        servers.append(server)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"mro-bench-devices-{uuid.uuid4().hex[:8]}")
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(100)
    client.connect(*plant.broker)
    client.loop_start()
    control.ready.set()
    loop = asyncio.get_running_loop()
    period = 1.0 / (UPDATES_PER_POLL * hz)
    start = next_publish = loop.time()
    step = 0
    try:
        while not control.stop.is_set():
            for server in servers:
                await server.server.async_setValues(1, 16, 0, _registers(plant, step))
            if loop.time() >= next_publish:
                next_publish = max(next_publish + 1 / hz, loop.time())
                stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
                for q in range(plant.mqtt_topics):
                    values = {f"t{v:02d}": q * 100 + v + 0.01 * (step % 1000) for v in range(plant.mqtt_values)}
                    client.publish(plant.topic(q), json.dumps({"ts": stamp, "v": values}), qos=1)
            if not control.asks.empty():
                t0, t1 = control.asks.get_nowait()
                window = [[t for t in times if t0 <= t <= t1] for times in polls]
                control.answers.put([b - a for times in window for a, b in itertools.pairwise(times)])
            step += 1
            due = start + step * period
            if due < loop.time():  # behind: skip, as a device's clock would
                step += int((loop.time() - due) / period) + 1
                due = start + step * period
            await asyncio.sleep(due - loop.time())
    finally:
        client.disconnect()
        client.loop_stop()
        for server in servers:
            with contextlib.suppress(Exception):
                await server.stop()


# -- Odoo side -----------------------------------------------------------------------------------------------


def setup_odoo(server: odoo_server.OdooServer, plant: Plant, hz: float) -> tuple[str, str]:
    """The BENCH gateway, a sensor for every tag (created in bulk where missing) and bridge credentials."""
    uid = server.login(*ADMIN)
    pw = ADMIN[1]
    gateways = server.call(uid, pw, "mro.sensor.gateway", "search", [("code", "=", GATEWAY)])
    if gateways:
        gateway = gateways[0]
    else:
        gateway = server.call(uid, pw, "mro.sensor.gateway", "create", {"code": GATEWAY, "name": "Bridge benchmark"})
    existing = server.call(uid, pw, "mro.sensor", "search_read", [("code", "=like", "BB-%")], fields=["code"])
    have = {r["code"] for r in existing}
    missing = [sensor for sensor in plant.sensors() if sensor["code"] not in have]
    if missing:
        devices = sorted({sensor["source_device"] for sensor in missing})
        equipment = server.call(
            uid, pw, "maintenance.equipment", "create", [{"name": f"Bridge bench {d}"} for d in devices]
        )
        equipment_of = dict(zip(devices, equipment, strict=True))
        vals = [
            {**sensor, "name": sensor["code"], "equipment_id": equipment_of[sensor["source_device"]],
             "gateway_id": gateway, "measure_kind": "custom", "poll_interval": 1 / hz}
            for sensor in missing
        ]  # fmt: skip
        server.call(uid, pw, "mro.sensor", "create", vals, context={"tracking_disable": True})
    _gateway, login, key = bridge_credentials(server, GATEWAY)
    return login, key


def bridge_config(path: Path, server, login: str, key: str, plant: Plant, hz: float, args, http_port: int) -> Path:
    """The bridge's TOML file reading ``plant``'s sensors, polled at ``hz``."""
    tags: dict[str, list[dict[str, Any]]] = {}
    for sensor in plant.sensors():
        tag = {"code": sensor["code"]} | ({"deadband": args.deadband} if args.deadband else {})
        if sensor["protocol"] == "modbus":
            tag.update(address=int(sensor["source_address"]), data_type=sensor["data_type"])
            tag.update({"scale": sensor["scale"]} if sensor["scale"] != 1.0 else {})
        else:
            tag.update(topic=sensor["source_address"], value_path=sensor["mqtt_value_path"])
            tag.update(timestamp_path=sensor["mqtt_ts_path"])
        tags.setdefault(sensor["source_device"], []).append(tag)
    data = {
        "odoo": {"url": server.url, "database": server.db, "user": login, "api_key": key, "timeout": 60},
        "spool": {
            "path": str(args.spool_dir / f"{path.stem}-spool.db"),
            "max_rows": 5_000_000,
            "commit_interval": args.commit_interval,
        },
        "batch": {"size": args.batch_size, "flush_interval": args.flush_interval, "in_flight": args.in_flight},
        "http": {"listen": f"127.0.0.1:{http_port}"},
        "modbus": [
            {"name": name, "host": "127.0.0.1", "port": port, "poll_interval": 1 / hz, "tags": tags[name]}
            for name, port in zip(map(plant.device, range(plant.devices)), plant.ports, strict=True)
        ],
        "mqtt": [
            {"name": "mqtt", "host": plant.broker[0], "port": plant.broker[1],
             "client_id": f"mro-bench-bridge-{uuid.uuid4().hex[:8]}", "tags": tags["mqtt"]}
        ],
    }  # fmt: skip
    write_private(path, to_toml(data))  # it holds the API key: the bridge takes it only 0600
    load(path)  # what the bridge will read must be valid
    return path


# -- measuring -----------------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds used by each part of the set-up: processes by pid with their children (Odoo's workers),
    PostgreSQL as the backends of the benchmark database plus its writer processes, and the whole machine.
    Snapshots are per pid, so a process that existed before a window counts only what it used in it."""

    def __init__(self, db: str, parts: dict[str, int]):
        self.db = db
        self.parts = parts  # name -> pid

    @staticmethod
    def _seconds(proc: psutil.Process) -> float:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            return t.user + t.system
        return 0.0

    def _postgres(self) -> list[psutil.Process]:
        rows = odoo_server.psql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "UNION SELECT pid FROM pg_stat_activity WHERE backend_type IN ('walwriter', 'checkpointer', "
            "'background writer')",
            db=self.db,
        )
        out = []
        for pid in rows.split():
            with contextlib.suppress(psutil.Error):
                out.append(psutil.Process(int(pid)))
        return out

    def snapshot(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for name, pid in self.parts.items():
            try:
                proc = psutil.Process(pid)
                family = [proc, *proc.children(recursive=True)]
            except psutil.Error:
                family = []
            out[name] = {p.pid: self._seconds(p) for p in family}
            if name == "bridge" and family:
                with contextlib.suppress(psutil.Error):
                    main = [t.user_time + t.system_time for t in family[0].threads() if t.id == pid]
                    out["bridge loop"] = {pid: sum(main)}
        out["postgres"] = {p.pid: self._seconds(p) for p in self._postgres()}
        out["bench"] = {os.getpid(): self._seconds(psutil.Process())}
        t = psutil.cpu_times()
        out["machine"] = {0: t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)}
        out["iowait"] = {0: getattr(t, "iowait", 0.0)}
        disk = psutil.disk_io_counters()
        out["disk MB written"] = {0: disk.write_bytes / 1e6}
        out["disk busy"] = {0: getattr(disk, "busy_time", 0) / 1000}
        out["wall"] = {0: time.monotonic()}
        return out

    @staticmethod
    def report(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> str:
        """Cores each part used between the two snapshots, as one line."""
        wall = after["wall"][0] - before["wall"][0]
        used = {
            name: sum(s - before.get(name, {}).get(pid, 0.0) for pid, s in after[name].items()) / wall
            for name in after
            if name != "wall"
        }
        known = sum(used[k] for k in ("bridge", "devices", "mosquitto", "odoo", "postgres", "bench"))
        parts = [
            f"bridge {used['bridge']:.2f} (its event loop thread {used.get('bridge loop', 0):.2f})",
            *(f"{k} {used[k]:.2f}" for k in ("devices", "mosquitto", "odoo", "postgres", "bench")),
            f"other {max(0.0, used['machine'] - known):.2f}",
        ]
        return (
            f"CPU in cores: {', '.join(parts)}; machine {used['machine']:.2f} of {psutil.cpu_count()} (I/O wait "
            f"{used['iowait']:.2f}); disk {used['disk MB written']:.1f} MB/s written, busy "
            f"{100 * min(1.0, used['disk busy']):.0f}% of the time"
        )


class CommitWatcher(threading.Thread):
    """Polls PostgreSQL every ``interval`` s for new readings; a row's latency is the time of the first query
    that sees it minus its source timestamp (an upper bound of commit time − source time by ``interval``)."""

    def __init__(self, db: str, interval: float):
        super().__init__(daemon=True)
        self.interval = interval
        self.conn = psycopg2.connect(dbname=db)
        self.conn.autocommit = True
        with self.conn.cursor() as cr:
            cr.execute("SELECT COALESCE(max(id), 0) FROM mro_sensor_reading")
            self.last_id = self.first_id = cr.fetchone()[0]
        self.stopped = 0.0
        self.seen: list[tuple[float, float]] = []  # (source ts, seen at)
        self.running = threading.Event()
        self.running.set()

    def run(self) -> None:
        with self.conn.cursor() as cr:
            while self.running.is_set():
                seen_at = time.time()
                cr.execute(
                    "SELECT id, extract(epoch FROM ts)::float8 FROM mro_sensor_reading WHERE id > %s ORDER BY id",
                    (self.last_id,),
                )
                rows = cr.fetchall()
                if rows:
                    self.last_id = rows[-1][0]
                    self.seen.extend((ts, seen_at) for _id, ts in rows)
                time.sleep(max(0.0, seen_at + self.interval - time.time()))

    def stop(self) -> None:
        self.running.clear()
        self.join(10)
        self.stopped = time.time()
        self.conn.close()


class Vacuumer(threading.Thread):
    """Stands in for autovacuum where the server has it off: every ``interval`` s, VACUUM the tables that each
    ingest call updates in place (a row per sensor in mro_sensor and in the hourly aggregates, the gateway), so
    their dead rows do not pile up and slow every later call, as they would not on a server with autovacuum."""

    TABLES = ("mro_sensor", "mro_sensor_reading_hourly", "mro_sensor_gateway")

    def __init__(self, db: str, interval: float):
        super().__init__(daemon=True)
        self.interval = interval
        self.stopping = threading.Event()
        # One connection throughout: its backend's CPU counts with PostgreSQL's in the CPU figures.
        self.conn = psycopg2.connect(dbname=db)
        self.conn.autocommit = True  # VACUUM cannot run in a transaction

    def vacuum(self) -> None:
        with self.conn.cursor() as cr:
            cr.execute(f"VACUUM (ANALYZE) {', '.join(self.TABLES)}")

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.vacuum()

    def stop(self) -> None:
        self.stopping.set()
        self.join(60)
        self.conn.close()


def committed_since(db: str, last_id: int) -> int:
    return int(odoo_server.psql(f"SELECT count(*) FROM mro_sensor_reading WHERE id > {int(last_id)}", db=db))


def max_id(db: str) -> int:
    return int(odoo_server.psql("SELECT COALESCE(max(id), 0) FROM mro_sensor_reading", db=db))


def metric_sum(m: dict[str, float], name: str, label: str = "") -> float:
    """The sum of metric ``name`` over its label sets (those containing ``label``, e.g. 'kind="mqtt"')."""
    return sum(v for k, v in m.items() if (k == name or k.startswith(name + "{")) and label in k)


# -- one phase -----------------------------------------------------------------------------------------------


@dataclass
class Setup:
    """What every phase runs against."""

    args: argparse.Namespace
    plant: Plant
    server: odoo_server.OdooServer
    login: str
    key: str
    workdir: Path
    broker_pid: int


@dataclass
class PhaseResult:
    offered: float
    committed: float
    spool_depth: int
    latencies: list[float] = field(default_factory=list)


@dataclass
class Window:
    """Metrics and counts at both ends of a measurement window."""

    m0: dict[str, float]
    m1: dict[str, float]
    seconds: float  # between the two metric snapshots
    committed: int  # rows committed in Odoo between t0 and t1
    t0: float
    t1: float

    def delta(self, metric: str, label: str = "") -> float:
        return metric_sum(self.m1, metric, label) - metric_sum(self.m0, metric, label)

    def rate(self, metric: str, label: str = "") -> float:
        return self.delta(metric, label) / self.seconds


def run_phase(setup: Setup, name: str, rate: float, duration: float, latency: bool = False) -> PhaseResult:
    """Serve the devices and run the bridge at ``rate`` readings/s offered; measure over ``duration`` s."""
    args, plant = setup.args, setup.plant
    hz = rate / plant.tags
    plant.ports = [odoo_server.free_port() for _ in range(plant.devices)]
    http_port = odoo_server.free_port()
    config = bridge_config(setup.workdir / f"{name}.toml", setup.server, setup.login, setup.key, plant, hz, args,
                           http_port)  # fmt: skip
    print(
        f"{name}: offered {plant.tags * hz:,.0f} readings/s — {plant.devices} Modbus devices x "
        f"{plant.tags_per_device} {plant.data_type} tags ({plant.registers} holding registers each) and "
        f"{plant.mqtt_topics} MQTT topics x {plant.mqtt_values} values, all at {hz:.2f} Hz; "
        f"bridge batches of {args.batch_size}, flush every {args.flush_interval:g} s, {args.in_flight} calls at once",
        flush=True,
    )
    control = DeviceControl()
    devices = mp.Process(target=serve_devices, args=(plant, hz, control), name="devices", daemon=True)
    devices.start()
    bridge = watcher = None
    try:
        if not control.ready.wait(30):
            raise RuntimeError("the simulated devices did not start")
        log = args.log_dir / f"bridge-{name}.log"
        log.unlink(missing_ok=True)
        bridge = start_bridge(config, log)
        parts = {"bridge": bridge.pid, "devices": devices.pid, "mosquitto": setup.broker_pid,
                 "odoo": setup.server.proc.pid}  # fmt: skip
        meter = CpuMeter(setup.server.db, parts)

        def flowing() -> bool:
            with contextlib.suppress(OSError):
                return metrics(http_port).get("mro_bridge_sent_total", 0) > 0
            return False

        wait_for(flowing, 60, "readings flowing into Odoo")
        time.sleep(args.warmup)
        if latency:
            watcher = CommitWatcher(setup.server.db, args.poll)
            watcher.start()
        m0, tm0 = metrics(http_port), time.time()
        cpu0 = meter.snapshot()
        first_id, t0 = max_id(setup.server.db), time.time()
        time.sleep(duration)
        committed, t1 = committed_since(setup.server.db, first_id), time.time()
        m1, tm1 = metrics(http_port), time.time()
        cpu1 = meter.snapshot()
        window = Window(m0, m1, tm1 - tm0, committed, t0, t1)
        result = PhaseResult(plant.tags * hz, committed / (t1 - t0), int(m1["mro_bridge_spool_depth"]))
        report_window(plant, hz, window, control.poll_intervals(t0, t1), args.warmup)
        print(f"  {CpuMeter.report(cpu0, cpu1)}", flush=True)
        if watcher is not None:
            result.latencies = measure_latency(watcher, http_port, setup.server.db, window, args.poll)
        return result
    finally:
        if watcher is not None and watcher.is_alive():
            watcher.stop()
        if bridge is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(bridge.pid, signal.SIGTERM)
            try:
                bridge.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(bridge.pid, signal.SIGKILL)
                bridge.wait(10)
        control.stop.set()
        devices.join(10)
        if devices.is_alive():
            devices.kill()


def report_window(plant: Plant, hz: float, w: Window, gaps: list[float], warmup: float) -> None:
    """Print what the bridge received and Odoo committed, how regularly the devices were polled, the spool, the
    errors and the ingest calls over the window."""
    modbus, mqtt = w.rate("mro_bridge_reads_total", 'kind="modbus"'), w.rate("mro_bridge_reads_total", 'kind="mqtt"')
    print(
        f"  {w.t1 - w.t0:.0f} s after {warmup:g} s of warm-up: received by the bridge "
        f"{w.rate('mro_bridge_received_total'):,.0f}/s (Modbus {modbus:,.0f}/s of "
        f"{plant.devices * plant.tags_per_device * hz:,.0f} offered, MQTT {mqtt:,.0f}/s of "
        f"{plant.mqtt_topics * plant.mqtt_values * hz:,.0f}); committed in Odoo {w.committed / (w.t1 - w.t0):,.0f}/s",
        flush=True,
    )
    if gaps:
        gaps = sorted(gaps)
        slots = [max(1, round(gap * hz)) for gap in gaps]  # a gap of n poll periods: n - 1 polls skipped
        p50, p99 = 1000 * quantile(gaps, 0.5), 1000 * quantile(gaps, 0.99)
        print(
            f"  the devices saw a poll every {p50:.0f} ms (p99 {p99:.0f} ms, max {1000 * gaps[-1]:.0f} ms; due every "
            f"{1000 / hz:.0f} ms): {len(gaps) / sum(gaps):.2f} polls/s per device, "
            f"{100 * (1 - len(slots) / sum(slots)):.1f}% of the poll slots skipped",
            flush=True,
        )
    print(
        f"  spool depth {w.m0['mro_bridge_spool_depth']:,.0f} at the start of the window, "
        f"{w.m1['mro_bridge_spool_depth']:,.0f} at the end (oldest unsent "
        f"{w.m1['mro_bridge_spool_oldest_age_seconds']:.1f} s old); inside the deadband "
        f"{w.delta('mro_bridge_filtered_total'):,.0f}; device errors {w.delta('mro_bridge_errors_total'):.0f}, "
        f"Odoo errors {w.delta('mro_bridge_odoo_errors_total'):.0f}",
        flush=True,
    )
    batches = w.delta("mro_bridge_odoo_write_seconds_count")
    if batches:
        busy = w.delta("mro_bridge_odoo_write_seconds_sum")
        p95 = w.m1['mro_bridge_odoo_write_seconds{quantile="0.95"}']
        print(
            f"  ingest calls: {batches / w.seconds:.1f}/s of {w.delta('mro_bridge_sent_total') / batches:,.0f} "
            f"readings on average, {busy / batches:.3f} s each (p95 {p95:.3f} s); the bridge's sender waited on them "
            f"{100 * busy / w.seconds:.0f}% of the time",
            flush=True,
        )


def measure_latency(watcher: CommitWatcher, http_port: int, db: str, w: Window, poll: float) -> list[float]:
    """Seconds from source timestamp to row seen in PostgreSQL of every reading stamped in the window; printed
    with the bridge's own figure."""
    # Until the bridge has sent all it took in the window (the oldest reading still in its spool is newer).
    with contextlib.suppress(AssertionError):
        wait_for(lambda: time.time() - metrics(http_port)["mro_bridge_spool_oldest_age_seconds"] > w.t1 + 0.5, 60,
                 "the window's readings to leave the spool")  # fmt: skip
    time.sleep(2 * poll + 0.2)
    watcher.stop()
    lat = [seen_at - ts for ts, seen_at in watcher.seen if w.t0 <= ts <= w.t1]
    stored = int(
        odoo_server.psql(
            f"SELECT count(*) FROM mro_sensor_reading WHERE id > {watcher.first_id} "
            f"AND extract(epoch FROM ts) BETWEEN {w.t0} AND {w.t1}",
            db=db,
        )
    )
    late = max(0, stored - len(lat))  # committed after the watcher's last look: at least this late
    lat += [watcher.stopped - w.t1] * late
    print(
        f"  latency, source timestamp -> row visible in PostgreSQL (polled every {poll:g} s, so up to {poll:g} s "
        f"high): p50 {quantile(lat, 0.5):.3f} s, p95 {quantile(lat, 0.95):.3f} s, max {max(lat, default=0):.3f} s "
        f"over the {len(lat):,} readings stamped in the window"
        + (f" ({late:,} committed after the watch ended, counted as {watcher.stopped - w.t1:.1f} s)" if late else ""),
        flush=True,
    )
    own = [w.m1[f'mro_bridge_latency_seconds{{quantile="{q}"}}'] for q in ("0.5", "0.95")]
    print(
        "  the bridge's own mro_bridge_latency_seconds (source -> Odoo answered, its last 20,000 readings): "
        f"p50 {own[0]:.3f} s, p95 {own[1]:.3f} s",
        flush=True,
    )
    return lat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="mro_bench_bridge")
    parser.add_argument("--reuse-db", action="store_true", help="keep an existing --db instead of recreating it")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="Odoo HTTP worker processes")
    parser.add_argument("--devices", type=int, default=10, help="Modbus devices")
    parser.add_argument("--registers", type=int, default=200, help="holding registers per device, all read")
    parser.add_argument(
        "--data-type", default="int16", choices=("int16", "float32"), help="int16: a tag per register; float32: two"
    )
    parser.add_argument("--mqtt-topics", type=int, default=10)
    parser.add_argument("--mqtt-values", type=int, default=10, help="values per MQTT message")
    parser.add_argument("--rate", type=float, default=22_000, help="offered readings/s in the throughput phase")
    parser.add_argument("--latency-rate", type=float, default=5_000, help="offered readings/s in the latency phase")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before each measurement window")
    parser.add_argument("--duration", type=float, default=60.0, help="throughput window, seconds")
    parser.add_argument("--latency-duration", type=float, default=30.0, help="latency window, seconds")
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between the latency poller's queries")
    parser.add_argument("--batch-size", type=int, default=5000, help="the bridge's [batch] size")
    parser.add_argument("--flush-interval", type=float, default=0.5, help="the bridge's [batch] flush_interval")
    parser.add_argument("--in-flight", type=int, default=2, help="the bridge's [batch] in_flight (calls at once)")
    parser.add_argument(
        "--commit-interval", type=float, default=0.01, help="the bridge's [spool] commit_interval (group commit)"
    )
    parser.add_argument(
        "--spool-dir",
        type=Path,
        help="folder for the bridge's spool (default: var/bench, a real disk; /dev/shm takes the fsyncs out)",
    )
    parser.add_argument(
        "--vacuum-every", type=float, default=10.0, help="seconds between VACUUMs when the server has autovacuum off"
    )
    parser.add_argument("--deadband", type=float, default=0.001, help="every tag's deadband; the values move more")
    args = parser.parse_args()
    args.log_dir = ROOT / "var" / "bench"
    args.log_dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C

    plant = Plant(args.devices, args.registers, args.data_type, args.mqtt_topics, args.mqtt_values)
    with contextlib.ExitStack() as stack:
        if not args.keep_db:
            stack.callback(odoo_server.drop_db, args.db)
        if not (args.reuse_db and odoo_server.db_exists(args.db)):
            print(f"creating database {args.db} with mro_sensor_bridge ...", flush=True)
            t0 = time.perf_counter()
            odoo_server.create_db(args.db, ["mro_sensor_bridge"], demo=True, log=args.log_dir / "bridge-create.log")
            print(f"  created in {time.perf_counter() - t0:.0f} s", flush=True)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bridge-", dir=args.log_dir)))
        if args.spool_dir:
            args.spool_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.spool_dir)))
        else:
            args.spool_dir = workdir
        broker = stack.enter_context(odoo_server.private_broker(workdir))
        plant.broker = broker
        mosquitto = next(p for p in psutil.Process().children() if p.name() == "mosquitto")
        odoo_log = args.log_dir / "bridge-odoo.log"
        odoo_log.unlink(missing_ok=True)
        server = odoo_server.OdooServer(db=args.db, workers=args.workers, log_path=odoo_log)
        stack.callback(server.stop)
        server.start()
        t0 = time.perf_counter()
        login, key = setup_odoo(server, plant, args.rate / plant.tags)
        stored = int(odoo_server.psql("SELECT count(*) FROM mro_sensor_reading", db=args.db))
        print(
            f"Odoo {server.url} with {args.workers} workers; {plant.tags:,} sensors on gateway {GATEWAY} "
            f"(set up in {time.perf_counter() - t0:.1f} s), {stored:,} readings stored; Mosquitto on port "
            f"{broker[1]}",
            flush=True,
        )
        autovacuum = odoo_server.psql("SHOW autovacuum", db=args.db)
        if autovacuum == "off" and args.vacuum_every:
            print(
                f"PostgreSQL runs with autovacuum off: the benchmark VACUUMs {', '.join(Vacuumer.TABLES)} every "
                f"{args.vacuum_every:g} s in its place (--vacuum-every 0: never)",
                flush=True,
            )
            vacuumer = Vacuumer(args.db, args.vacuum_every)
            vacuumer.vacuum()  # what earlier runs left (--reuse-db)
            vacuumer.start()
            stack.callback(vacuumer.stop)
        setup = Setup(args, plant, server, login, key, workdir, mosquitto.pid)
        throughput = run_phase(setup, "throughput", args.rate, args.duration)
        latency = run_phase(setup, "latency", args.latency_rate, args.latency_duration, latency=True)
        if latency.latencies:
            p50, p95 = quantile(latency.latencies, 0.5), quantile(latency.latencies, 0.95)
        else:  # no reading committed in the window: no figure, rather than a flattering 0
            p50 = p95 = float("nan")
        print(
            f"summary: offered {throughput.offered:,.0f}/s, committed {throughput.committed:,.0f}/s, spool depth at "
            f"the end {throughput.spool_depth:,}; at {latency.offered:,.0f}/s offered ({latency.committed:,.0f}/s "
            f"committed, spool depth {latency.spool_depth:,}) latency p50 {p50:.3f} s, p95 {p95:.3f} s "
            "(source timestamp -> row seen in PostgreSQL)"
        )
        print(f"RESULT readings_per_s={throughput.committed:.0f} p95_latency_s={p95:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # everything started is stopped by then
        print("interrupted", file=sys.stderr)
        sys.exit(130)
