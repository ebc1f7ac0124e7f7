"""The real bridge (`mro-bridge run`, a process) between a real Mosquitto and a real Odoo, under attack.

Before: one MQTT payload the JSON decoder chokes on (deep nesting, a 5,000-digit integer, 1e400 as a value)
crashed the MQTT source without acknowledging the message: the broker sent it again at every reconnection and
no reading of that connection reached Odoo again. A batch Odoo failed as a whole (two 1.6e308 in one
sensor-hour) was retried forever and the gateway's data stopped behind it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
import uuid

import odoo_server
import paho.mqtt.client as mqtt
from odoo_server import metrics, start_bridge, wait_for
from test_bridge_odoo import bridge_config, make_sensors, stored

from .conftest import admin


def publish(broker, topic: str, payloads: list[bytes]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"attacker-{uuid.uuid4().hex[:8]}")
    client.connect(*broker)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


def dead_letters(spool) -> list[tuple[str, str]]:
    with sqlite3.connect(spool) as db:
        return db.execute("SELECT code, reason FROM dead_letters ORDER BY id").fetchall()


def stop(bridge) -> None:
    os.killpg(bridge.pid, signal.SIGTERM)
    bridge.wait(30)


def test_poison_payloads_do_not_stop_the_flow(odoo, broker, gateway, tmp_path):
    prefix = f"SP{uuid.uuid4().hex[:4].upper()}"
    codes = make_sensors(odoo, prefix)[:2]
    topic = f"mro-sec/{prefix}"
    port = odoo_server.free_port()
    config = bridge_config(tmp_path, odoo, broker, gateway.login, gateway.password, codes, topic, http_port=port)
    bridge = start_bridge(config, tmp_path / "bridge.log")
    try:
        time.sleep(3)  # subscribed
        now = time.time()
        poison = [
            b"[" * 30_000 + b"]" * 30_000,  # RecursionError in the decoder
            b'{"v": ' + b"9" * 5000 + b', "ts": 1}',  # ValueError: more digits than Python converts
            b'{"v": 1e400, "ts": 1}',  # inf
            b'{"v": 1' + b"0" * 400 + b', "ts": 1}',  # OverflowError: an int too large for a float
            b'{"v": 1, "ts": 1' + b"0" * 400 + b"}",  # the same, as the timestamp
        ]
        good = [json.dumps({"v": float(i), "ts": now - 10 + i}).encode() for i in range(5)]
        publish(broker, f"{topic}/{codes[0]}", [p for pair in zip(poison, good, strict=True) for p in pair])
        wait_for(lambda: stored(odoo, codes)[0] >= 5, 60, "the good readings in Odoo")
        time.sleep(2)
        assert stored(odoo, codes) == (5, 10.0)
        letters = dead_letters(tmp_path / "spool.db")
        assert len(letters) == len(poison)
        reasons = " | ".join(reason for _code, reason in letters)
        for fragment in ("nested too deep", "digits", "not a finite number", "too large for a float"):
            assert fragment in reasons
        m = metrics(port)
        assert m["mro_bridge_dead_letters_total"] == len(poison)
        assert m['mro_bridge_errors_total{device="broker",kind="mqtt"}'] == 0  # the source never went down
    finally:
        stop(bridge)
    # acknowledged: a new bridge on the same session gets none of them again
    bridge = start_bridge(config, tmp_path / "bridge.log")
    try:
        time.sleep(5)
        assert len(dead_letters(tmp_path / "spool.db")) == len(poison)
    finally:
        stop(bridge)


def test_the_overflow_batch_is_dead_lettered_by_odoo_and_the_rest_flows(odoo, broker, gateway, tmp_path):
    """Two 1.6e308 in one sensor-hour, among good readings, as one batch of the real bridge."""
    prefix = f"SO{uuid.uuid4().hex[:4].upper()}"
    codes = make_sensors(odoo, prefix)[:2]
    topic = f"mro-sec/{prefix}"
    config = bridge_config(tmp_path, odoo, broker, gateway.login, gateway.password, codes, topic)
    bridge = start_bridge(config, tmp_path / "bridge.log")
    try:
        time.sleep(3)
        now = time.time()
        values = [1.0, 1.6e308, 2.0, 1.6e308, 3.0]
        publish(broker, f"{topic}/{codes[0]}", [json.dumps({"v": v, "ts": now - 10 + i}).encode()
                                                for i, v in enumerate(values)])  # fmt: skip
        publish(broker, f"{topic}/{codes[1]}", [json.dumps({"v": 4.0, "ts": now}).encode()])
        wait_for(lambda: stored(odoo, codes)[0] >= 4, 60, "the good readings in Odoo")
        time.sleep(2)
        assert stored(odoo, codes) == (4, 10.0)
        letters = dead_letters(tmp_path / "spool.db")
        assert [code for code, _reason in letters] == [codes[0], codes[0]]
        assert all("beyond ±1e+15" in reason for _code, reason in letters)  # Odoo's reason, item by item
    finally:
        stop(bridge)


def test_a_batch_odoo_fails_as_a_whole_is_split_and_the_rest_flows(odoo, broker, gateway, tmp_path):
    """Whatever makes Odoo fail a whole call, the bridge splits the batch: the reading that makes it fail goes
    to the dead letters with Odoo's error, the others of the batch and everything after it reach Odoo. (Ingest
    now refuses the values that overflowed an hourly sum; here a corrupt hourly aggregate, with a count of -1,
    makes PostgreSQL fail the statement for any reading of its hour.)"""
    prefix = f"SB{uuid.uuid4().hex[:4].upper()}"
    codes = make_sensors(odoo, prefix)[:3]
    topic = f"mro-sec/{prefix}"
    hour = int(time.time() // 3600 * 3600) - 3600  # last hour
    [sensor] = admin(odoo).xmlrpc("mro.sensor", "search", [("code", "=", codes[0])])
    at = f"to_timestamp({hour}) AT TIME ZONE 'UTC'"
    odoo_server.psql(
        "INSERT INTO mro_sensor_reading_hourly (sensor_id, hour, value_count, value_sum, value_min, value_max, "
        f"value_mean, first_ts, last_ts, last_value) VALUES ({sensor}, {at}, -1, 0, 0, 0, 0, {at}, {at}, 0)",
        db=odoo.db,
    )
    port = odoo_server.free_port()
    config = bridge_config(tmp_path, odoo, broker, gateway.login, gateway.password, codes, topic, http_port=port)
    bridge = start_bridge(config, tmp_path / "bridge.log")
    try:
        time.sleep(3)
        # one batch: the reading Odoo fails on, among good ones of three sensors
        messages = [(codes[0], {"v": 1.0, "ts": hour + 60})]
        messages += [(code, {"v": float(i), "ts": time.time() - 30 + i}) for i in range(20) for code in codes]
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
        client.connect(*broker)
        client.loop_start()
        for code, payload in messages:
            client.publish(f"{topic}/{code}", json.dumps(payload), qos=1).wait_for_publish(10)
        wait_for(lambda: stored(odoo, codes)[0] >= 60, 60, "the batch's good readings in Odoo")
        # ... and what comes after it
        later = time.time()
        for code in codes:
            client.publish(f"{topic}/{code}", json.dumps({"v": 7.0, "ts": later}), qos=1).wait_for_publish(10)
        client.loop_stop()
        client.disconnect()
        wait_for(lambda: stored(odoo, codes)[0] >= 63, 60, "the readings after the batch in Odoo")
        [(code, reason)] = dead_letters(tmp_path / "spool.db")
        assert code == codes[0]
        assert reason.startswith("Odoo failed on this reading alone") and "division by zero" in reason
        m = metrics(port)
        assert m["mro_bridge_odoo_bisections_total"] >= 1 and m["mro_bridge_spool_depth"] == 0
    finally:
        stop(bridge)
