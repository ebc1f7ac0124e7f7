"""mro-bridge against a real Odoo server and the real Mosquitto broker, on a bad day.

A publisher sends 50 tags at 10 Hz over MQTT (QoS 1, known values and source timestamps) through a private
Mosquitto configured as the README advises for sites (no cap on a session's queue); `mro-bridge run`
(a real process) maps them to Odoo sensors. Checked in Odoo's database: every reading exactly once (count
and sum), after Odoo was stopped for 60 s, and after the bridge was killed with SIGKILL mid-batch; and the
spool's overflow policy and counter when it reaches its cap.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import odoo_server
import paho.mqtt.client as mqtt
import pytest
from odoo_server import ADMIN, bridge_credentials, metrics, start_bridge, wait_for

TAGS = 50
RATE_HZ = 10


def make_sensors(odoo, prefix: str) -> list[str]:
    uid = odoo.login(*ADMIN)
    [gateway] = odoo.call(uid, ADMIN[1], "mro.sensor.gateway", "search", [("code", "=", "LINE1")])
    equipment = odoo.call(uid, ADMIN[1], "maintenance.equipment", "create", {"name": f"Bridge test {prefix}"})
    codes = [f"{prefix}-{i:02d}" for i in range(TAGS)]
    odoo.call(
        uid,
        ADMIN[1],
        "mro.sensor",
        "create",
        [{"code": c, "name": c, "equipment_id": equipment, "gateway_id": gateway, "protocol": "mqtt"} for c in codes],
    )
    return codes


def bridge_config(tmp_path: Path, odoo, broker, login: str, key: str, codes: list[str], topic: str, **spool) -> Path:
    lines = [
        "[odoo]",
        f'url = "{odoo.url}"',
        f'database = "{odoo.db}"',
        f'user = "{login}"',
        f'api_key = "{key}"',
        "timeout = 10",
        "[spool]",
        f'path = "{tmp_path / "spool.db"}"',
        f"max_rows = {spool.get('max_rows', 1_000_000)}",
        "[batch]",
        "size = 2000",
        "flush_interval = 0.5",
        "[http]",
        f'listen = "127.0.0.1:{spool.get("http_port", odoo_server.free_port())}"',
        "[supervisor]",
        "backoff_initial = 0.2",
        "backoff_max = 2",
        "[[mqtt]]",
        'name = "broker"',
        f'host = "{broker[0]}"',
        f"port = {broker[1]}",
        f'client_id = "mro-bridge-test-{uuid.uuid4().hex[:8]}"',
    ]
    for code in codes:
        lines += ["[[mqtt.tags]]", f'code = "{code}"', f'topic = "{topic}/{code}"', 'value_path = "v"',
                  'timestamp_path = "ts"']  # fmt: skip
    path = tmp_path / "bridge.toml"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)  # it holds the API key: the bridge takes it only if private
    return path


class Publisher(threading.Thread):
    """Publishes every tag at RATE_HZ with QoS 1; remembers exactly what it sent."""

    def __init__(self, codes: list[str], topic: str, broker):
        super().__init__(daemon=True)
        self.codes, self.topic = codes, topic
        self.sent: list[tuple[str, float, float]] = []
        self.running = threading.Event()
        self.running.set()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
        self.client.connect(*broker)
        self.client.loop_start()

    def run(self):
        k = 0
        start = time.time()
        while self.running.is_set():
            ts = round(start + k / RATE_HZ, 3)
            for i, code in enumerate(self.codes):
                value = float(k % 1000) + i / 100.0
                info = self.client.publish(f"{self.topic}/{code}", json.dumps({"v": value, "ts": ts}), qos=1)
                info.wait_for_publish(5)
                self.sent.append((code, ts, value))
            k += 1
            time.sleep(max(0.0, start + k / RATE_HZ - time.time()))

    def stop(self):
        self.running.clear()
        self.join(10)
        self.client.loop_stop()
        self.client.disconnect()


def stored(odoo, codes: list[str]) -> tuple[int, float]:
    row = odoo_server.psql(
        "SELECT count(*), COALESCE(sum(r.value), 0) FROM mro_sensor_reading r JOIN mro_sensor s ON s.id = r.sensor_id "
        f"WHERE s.code IN ({', '.join(repr(c) for c in codes)})",
        db=odoo.db,
    )
    count, total = row.split("|")
    return int(count), float(total)


def expected(sent) -> tuple[int, float]:
    return len(sent), sum(value for _code, _ts, value in sent)


@pytest.fixture
def bridge_setup(odoo, broker, tmp_path):
    gateway, login, key = bridge_credentials(odoo)
    prefix = f"BT{uuid.uuid4().hex[:4].upper()}"
    codes = make_sensors(odoo, prefix)
    return odoo, broker, login, key, codes, f"mro-test/{prefix}"


def test_odoo_down_for_60_s_loses_nothing_and_stores_nothing_twice(bridge_setup, tmp_path):
    odoo, broker, login, key, codes, topic = bridge_setup
    config = bridge_config(tmp_path, odoo, broker, login, key, codes, topic)
    bridge = start_bridge(config, tmp_path / "bridge.log")
    publisher = None
    try:
        time.sleep(3)  # subscribed
        publisher = Publisher(codes, topic, broker)
        publisher.start()
        wait_for(lambda: stored(odoo, codes)[0] > 1000, 60, "readings flowing into Odoo")
        odoo.stop()
        time.sleep(60)  # 50 tags x 10 Hz keep flowing into the bridge's spool
        odoo.start()
        time.sleep(5)
        publisher.stop()
        want = expected(publisher.sent)
        wait_for(lambda: stored(odoo, codes)[0] >= want[0], 120, "the spool to drain into Odoo")
        time.sleep(3)
        count, total = stored(odoo, codes)
        assert count == want[0], (count, want[0])
        assert total == pytest.approx(want[1], rel=1e-12)
        assert want[0] > TAGS * RATE_HZ * 60  # the outage really was covered
    finally:
        if publisher and publisher.is_alive():
            publisher.stop()
        os.killpg(bridge.pid, signal.SIGTERM)
        bridge.wait(30)


def test_bridge_killed_mid_batch_loses_nothing_and_stores_nothing_twice(bridge_setup, tmp_path):
    odoo, broker, login, key, codes, topic = bridge_setup
    config = bridge_config(tmp_path, odoo, broker, login, key, codes, topic)
    bridge = start_bridge(config, tmp_path / "bridge.log")
    time.sleep(3)
    publisher = Publisher(codes, topic, broker)
    publisher.start()
    try:
        for _ in range(3):
            wait_for(lambda: stored(odoo, codes)[0] > 0, 60, "readings flowing into Odoo")
            time.sleep(4.3)  # somewhere in the middle of a batch
            os.killpg(bridge.pid, signal.SIGKILL)
            bridge.wait(10)
            time.sleep(2)  # the broker keeps the session's messages meanwhile
            bridge = start_bridge(config, tmp_path / "bridge.log")
        time.sleep(5)
        publisher.stop()
        want = expected(publisher.sent)
        wait_for(lambda: stored(odoo, codes)[0] >= want[0], 120, "every reading in Odoo")
        time.sleep(3)
        count, total = stored(odoo, codes)
        assert count == want[0], (count, want[0])
        assert total == pytest.approx(want[1], rel=1e-12)
    finally:
        if publisher.is_alive():
            publisher.stop()
        os.killpg(bridge.pid, signal.SIGTERM)
        bridge.wait(30)


def test_spool_at_its_cap_drops_the_oldest_and_counts_them(bridge_setup, tmp_path):
    odoo, broker, login, key, codes, topic = bridge_setup
    port = odoo_server.free_port()
    config = bridge_config(tmp_path, odoo, broker, login, key, codes, topic, max_rows=1000, http_port=port)
    odoo.stop()  # nothing leaves the spool
    bridge = start_bridge(config, tmp_path / "bridge.log")
    try:
        time.sleep(3)
        publisher = Publisher(codes, topic, broker)
        publisher.start()
        time.sleep(6)
        publisher.stop()
        sent = len(publisher.sent)
        wait_for(lambda: metrics(port)["mro_bridge_received_total"] >= sent, 30, "the bridge to take every reading")
        m = metrics(port)
        assert m["mro_bridge_spool_depth"] == 1000
        assert m["mro_bridge_spool_dropped_total"] == sent - 1000
        log = (tmp_path / "bridge.log").read_text()
        assert '"event": "spool_overflow"' in log
        # The newest readings are the ones kept: once Odoo is back, they arrive.
        odoo.start()
        wait_for(lambda: stored(odoo, codes)[0] >= 1000, 60, "the kept readings in Odoo")
        newest = max(ts for _c, ts, _v in publisher.sent)
        top = odoo_server.psql(
            "SELECT extract(epoch FROM max(r.ts)) FROM mro_sensor_reading r JOIN mro_sensor s ON s.id = r.sensor_id "
            f"WHERE s.code = '{codes[0]}'",
            db=odoo.db,
        )
        assert abs(float(top) - newest) < 0.01
        assert stored(odoo, codes)[0] == 1000
    finally:
        os.killpg(bridge.pid, signal.SIGTERM)
        bridge.wait(30)
