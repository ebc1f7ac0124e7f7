"""The plant simulator: its wear model, the configuration it writes, and the bridge's sources reading it."""

import asyncio
import getpass
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import paho.mqtt.client as paho
import pytest
import tomllib
from paho.mqtt.enums import CallbackAPIVersion
from source_helpers import collect, free_port

from mro_bridge.sources import modbus, mqtt, opcua
from mro_bridge_sim import simulate
from mro_bridge_sim.simulate import VIBRATION_ALARM, VIBRATION_FAILURE, VIBRATION_WARNING, Endpoints, Plant

FROM_DICT = {"modbus": modbus.from_dict, "opcua": opcua.from_dict, "mqtt": mqtt.from_dict}


def sources_from(text):
    config = tomllib.loads(text)
    return [
        FROM_DICT[kind](table, f"{kind}[{i}]") for kind in FROM_DICT for i, table in enumerate(config.get(kind, []))
    ]


def test_the_first_asset_wears_out_within_simulated_days():
    plant = Plant(assets=5, seed=1)
    first = plant.assets[0]
    cycle = first.cycle(0.0)
    assert cycle.onset <= 12
    assert first.expected(0)["vibration_velocity"] == pytest.approx(first.vibration)
    hours = [cycle.onset + h for h in range(0, int(cycle.failure - cycle.onset))]
    vibration = [first.expected(h)["vibration_velocity"] for h in hours]
    assert vibration == sorted(vibration)  # exponential growth, no dip before the failure
    warning = next(h for h, v in zip(hours, vibration, strict=True) if v >= VIBRATION_WARNING)
    alarm = next(h for h, v in zip(hours, vibration, strict=True) if v >= VIBRATION_ALARM)
    assert warning < alarm <= 12 + 150  # at 3600x: under three real minutes
    before = first.expected(cycle.onset + 50)
    late = first.expected(alarm)
    assert late["temperature"] > before["temperature"] + 10 and late["current"] > before["current"]
    assert late["temperature"] > first.limits("temperature")[0]
    # fails, is repaired, and starts a new cycle healthy
    assert cycle.failure - cycle.onset > alarm - cycle.onset
    assert first.expected(cycle.failure - 0.01)["vibration_velocity"] == pytest.approx(VIBRATION_FAILURE, rel=1e-3)
    assert first.expected(cycle.failure + 1)["vibration_velocity"] == first.vibration
    second = first.cycle(cycle.end + 1)
    assert second.start == cycle.end and second.onset > second.start + 100


def test_the_other_assets_are_healthy_at_first_and_the_seed_decides():
    plant = Plant(assets=6, seed=7)
    for asset in plant.assets[1:]:
        assert asset.cycle(0).onset >= 150
        assert asset.expected(100)["vibration_velocity"] == asset.vibration
    again = Plant(assets=6, seed=7)
    other = Plant(assets=6, seed=8)
    assert [a.cycle(5000) for a in plant.assets] == [a.cycle(5000) for a in again.assets]
    assert [a.cycle(0) for a in plant.assets] != [a.cycle(0) for a in other.assets]
    assert [a.kind for a in plant.assets] == ["pump", "motor", "fan", "compressor", "gearbox", "conveyor"]
    assert [a.name for a in plant.assets] == ["P-101", "M-102", "F-103", "C-104", "G-105", "CV-106"]


def test_time_runs_at_the_speedup_but_values_are_stamped_with_real_time():
    plant = Plant(assets=1, speedup=3600, start_hours=100)
    assert plant.hours(plant.started) == 100
    assert plant.hours(plant.started + 60) == pytest.approx(160)
    assert plant.hours(plant.started - 3600) == 99  # history before the start runs at the normal pace
    values = plant.sample(time.time())
    assert {"vibration_velocity", "temperature", "current"} <= set(values["P-101"])


def test_the_chosen_first_asset_fails_at_the_asked_time_with_its_wear_in_the_history():
    plant = Plant(assets=6, seed=3, speedup=60, first="CV-106")
    first, other = plant.assets[5], plant.assets[0]
    assert plant.first is first and first.first and not other.first
    assert first.cycle(0).onset <= 12 and other.cycle(0).onset >= 150  # only the chosen one wears at once
    plant.fail_in(48)
    assert first.cycle(0).failure - plant.hours(plant.started) == pytest.approx(48)
    # one day before the start (the backfilled history, at the normal pace) it was already wearing, and less
    day_before = first.expected(plant.hours(plant.started - 86400))["vibration_velocity"]
    at_start = first.expected(plant.hours(plant.started))["vibration_velocity"]
    assert first.vibration < day_before < at_start < simulate.VIBRATION_ALARM
    with pytest.raises(ValueError, match="names 0 of the plant's assets"):
        Plant(assets=2, first="X-1")
    named = Plant([("Pump P-1/SN1", "pump"), ("Fan F-2/SN2", "fan")], first="Fan F-2")  # Odoo's name/serial
    assert named.first.name == "Fan F-2/SN2"


def test_written_config_is_valid_and_feeds_every_sensor_once():
    plant = Plant(assets=5)
    specs = simulate.default_layout(plant, code_prefix="DEMO-")
    assert len(specs) == 45  # 5 assets x 3 measures x 3 protocols
    endpoints = Endpoints(opcua_secure=True, opcua_server_certificate="/pki/server.der", bridge_pki="/pki/bridge")
    read = simulate.chosen(specs, endpoints.protocols)
    listed = simulate.sensor_list(read)
    assert len(listed) == 15 and len({s["code"] for s in listed}) == 15
    assert {s["protocol"] for s in listed} == {"modbus", "opcua", "mqtt"}
    p101 = {s["code"]: s for s in listed}["DEMO-P-101-VIB"]
    assert (p101["measure_kind"], p101["unit"], p101["warning_limit"], p101["alarm_limit"]) == (
        "vibration_velocity",
        "mm/s",
        4.5,
        7.1,
    )
    srcs = sources_from(simulate.bridge_config(read, endpoints))
    codes = [t.code for s in srcs for t in s.tags]
    assert sorted(codes) == sorted(s["code"] for s in listed)
    secured = next(s for s in srcs if s.kind == "opcua")
    assert (secured.security_policy, secured.trusted_server_certificates) == ("Basic256Sha256", ["/pki/server.der"])
    only_modbus = sources_from(simulate.bridge_config(simulate.chosen(specs, ["modbus"]), endpoints))
    assert [s.kind for s in only_modbus] == ["modbus"] and len(only_modbus[0].tags) == 15
    assert len(only_modbus[0].groups[0].requests) == 1  # 5 assets x 10 registers: one coalesced read


# What Odoo's get_bridge_config() returns for a few sensors (as the demo writes it to plant.json).
PLANT = {
    "gateway": "LINE1",
    "sensors": [
        {"code": "PU1-VIB", "equipment": "Feed pump PU1", "measure_kind": "vibration_velocity", "protocol": "modbus",
         "device": "plc1", "address": "40", "modbus_unit_id": 2, "register_type": "holding", "address_base": 0,
         "data_type": "float32", "byte_order": "CDAB", "bit": -1, "scale": 1.0, "offset": 0.0},
        {"code": "PU1-TEMP", "equipment": "Feed pump PU1", "measure_kind": "temperature", "protocol": "modbus",
         "device": "plc1", "address": "43", "modbus_unit_id": 2, "register_type": "input", "address_base": 1,
         "data_type": "int16", "byte_order": "ABCD", "bit": -1, "scale": 0.1, "offset": 0.0},
        {"code": "CO1-PRES", "equipment": "Air compressor CO1", "measure_kind": "pressure", "protocol": "opcua",
         "device": "opc1", "address": "ns=2;s=CO1-PRES"},
        {"code": "FA1-CUR", "equipment": "Roof fan FA1", "measure_kind": "current", "protocol": "mqtt",
         "device": "broker", "address": "plant/FA1-CUR", "value_path": "value", "ts_path": "ts"},
        {"code": "FA1-VIB", "equipment": "Roof fan FA1", "measure_kind": "vibration_velocity", "protocol": "mqtt",
         "device": "broker", "address": "plant/FA1", "value_path": "v.rms", "ts_path": "t"},
        {"code": "MAN-1", "equipment": "Feed pump PU1", "measure_kind": "custom", "protocol": "manual"},
    ],
}  # fmt: skip


def test_plant_file_layout():
    plant, specs = simulate.plant_layout(PLANT)
    assert [(a.name, a.kind) for a in plant.assets] == [
        ("Feed pump PU1", "pump"),
        ("Air compressor CO1", "compressor"),
        ("Roof fan FA1", "fan"),
    ]
    assert [s.code for s in specs] == ["PU1-VIB", "PU1-TEMP", "CO1-PRES", "FA1-CUR", "FA1-VIB"]  # manual: not served
    temp = specs[1]
    assert (temp.unit_id, temp.register.table, temp.register.address, temp.register.scale) == (2, "input", 42, 0.1)
    # what the Modbus server stores decodes, through the tag's own settings, to the value shown
    assert temp.register.decode(simulate._registers(temp, 47.26)) == pytest.approx(47.3)
    assert specs[0].register.decode(simulate._registers(specs[0], 3.5)) == pytest.approx(3.5)
    publisher = simulate.MqttPublisher(specs[3:], "127.0.0.1", 1883)
    payloads = dict(publisher.payloads({"Roof fan FA1": {"current": 11.5, "vibration_velocity": 2.5}}, 1700000000))
    assert json.loads(payloads["plant/FA1-CUR"]) == {"value": 11.5, "ts": "2023-11-14T22:13:20.000Z"}
    assert json.loads(payloads["plant/FA1"]) == {"v": {"rms": 2.5}, "t": "2023-11-14T22:13:20.000Z"}
    srcs = sources_from(simulate.bridge_config(simulate.chosen(specs, list(simulate.PROTOCOLS)), Endpoints()))
    mb = next(s for s in srcs if s.kind == "modbus")
    assert (mb.name, mb.unit_id, [t.spec for t in mb.tags]) == ("plc1-unit2", 2, [s.register for s in specs[:2]])


def test_bad_arguments(monkeypatch, capsys):
    assert simulate.main(["--assets", "0"]) == 2
    assert simulate.main(["--modbus-port", "0", "--opcua-port", "0", "--mqtt-host", ""]) == 2
    monkeypatch.delenv("MRO_MQTT_PASSWORD", raising=False)
    assert simulate.main(["--mqtt-username", "simulator"]) == 2
    assert "MRO_MQTT_PASSWORD (its password) is not set" in capsys.readouterr().err


def broker_up():
    import socket

    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not broker_up(), reason="Mosquitto is not running on 127.0.0.1:1883")
def test_the_simulator_serves_all_three_protocols_and_the_sources_read_it(tmp_path):
    config, sensors_json = tmp_path / "bridge.toml", tmp_path / "sensors.json"
    topic_prefix = f"mrotest-sim/{uuid.uuid4().hex[:8]}"
    command = [
        sys.executable,
        "-m",
        "mro_bridge_sim",
        "--assets=3",
        "--speedup=36000",  # 10 simulated hours per second
        "--tick=0.2",
        f"--modbus-port={free_port()}",
        f"--opcua-port={free_port()}",
        "--opcua-secure",
        f"--pki={tmp_path / 'pki'}",
        f"--topic-prefix={topic_prefix}",
        f"--code-prefix=T{uuid.uuid4().hex[:4]}-",
        f"--write-config={config}",
        f"--sensors-json={sensors_json}",
        "--duration=120",
    ]
    started = time.time()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "simulator ready"
        srcs = sources_from(config.read_text())
        assert sorted(s.kind for s in srcs) == ["modbus", "mqtt", "opcua"]
        listed = json.loads(sensors_json.read_text())
        assert len(listed) == 9

        async def read_all():
            out = {}
            for src in srcs:
                wanted = {t.code for t in src.tags}
                readings = await collect(src, lambda r, w=wanted: {x.code for x in r} >= w, timeout=30)
                out[src.kind] = readings
            return out

        got = asyncio.run(read_all())
        for kind, readings in got.items():
            assert readings, kind
            for r in readings:
                assert started - 1 <= r.ts <= time.time() + 0.5, (kind, r)  # real time, never in the future
                assert r.value > 0
        by_code = {s["code"]: s for s in listed}
        for readings in got.values():
            for r in readings:
                assert by_code[r.code]["protocol"] in got

        # the first asset (Modbus in the written config) visibly wears: its vibration passes the warning limit
        mb = next(s for s in srcs if s.kind == "modbus")
        vib = next(t.code for t in mb.tags if t.code.endswith("P-101-VIB"))
        readings = asyncio.run(
            collect(mb, lambda r: any(x.code == vib and x.value > VIBRATION_WARNING for x in r), timeout=60)
        )
        assert min(r.value for r in readings if r.code == vib) < VIBRATION_WARNING
    finally:
        proc.terminate()
        assert proc.wait(30) == 0  # SIGTERM: a clean shutdown


@pytest.mark.skipif(not broker_up(), reason="Mosquitto is not running on 127.0.0.1:1883")
def test_the_simulator_serves_an_odoo_plant_file_with_backfill(tmp_path):
    tag = uuid.uuid4().hex[:8]
    plant = json.loads(json.dumps(PLANT))
    for sensor in plant["sensors"]:
        sensor["code"] = f"{tag}-{sensor['code']}"
        if sensor["protocol"] == "mqtt":
            sensor["address"] = f"mrotest-sim/{tag}/{sensor['address']}"
        if sensor["protocol"] == "opcua":
            sensor["address"] = f"ns=2;s={sensor['code']}"
    (tmp_path / "plant.json").write_text(json.dumps(plant))
    config = tmp_path / "bridge.toml"
    command = [
        sys.executable,
        "-m",
        "mro_bridge_sim",
        f"--plant={tmp_path / 'plant.json'}",
        "--tick=0.2",
        f"--modbus-port={free_port()}",
        f"--opcua-port={free_port()}",
        f"--write-config={config}",
        "--backfill-days=0.05",  # 72 minutes of history ...
        "--backfill-step=600",  # ... one value every 10 minutes
        "--backfill-delay=3",
        "--duration=120",
    ]
    started = time.time()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "simulator ready"
        srcs = {s.kind: s for s in sources_from(config.read_text())}
        assert sorted(srcs) == ["modbus", "mqtt", "opcua"]

        async def read_all():
            # the MQTT source first: it must be subscribed when the backfill is published
            history = asyncio.create_task(
                collect(srcs["mqtt"], lambda r: sum(x.ts < started - 60 for x in r) >= 16, timeout=60)
            )
            out = {}
            for kind in ("modbus", "opcua"):
                wanted = {t.code for t in srcs[kind].tags}
                out[kind] = await collect(srcs[kind], lambda r, w=wanted: {x.code for x in r} >= w, timeout=30)
            out["mqtt"] = await history
            return out

        got = asyncio.run(read_all())
        values = {r.code.split("-", 1)[1]: r.value for readings in got.values() for r in readings}
        assert 1.5 < values["PU1-VIB"] < 11  # float32 CDAB, unit 2
        assert 35 < values["PU1-TEMP"] < 80  # int16 x 0.1, input register, 1-based address
        assert 4 < values["CO1-PRES"] < 7  # OPC-UA, bar
        assert 8 < values["FA1-CUR"] < 20 and 1 < values["FA1-VIB"] < 11  # MQTT, two payload layouts
        past = sorted({r.ts for r in got["mqtt"] if r.ts < started - 60})
        assert len(past) == 8  # 0.05 days = 72 minutes, one value per 10 minutes and topic ...
        assert started - 0.05 * 86400 - 5 <= past[0] < started - 0.05 * 86400 + 600
        assert {round(b - a, 3) for a, b in itertools.pairwise(past)} == {600}  # ... at the normal pace
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def test_speeds_are_in_the_units_odoo_shows():
    """A conveyor's belt speed is in m/s (the asset model's unit), a motor's shaft speed in rpm."""
    plant = Plant(assets=[("Infeed conveyor CV-501", "conveyor"), ("Mixer motor M-202", "motor")], seed=2)
    belt, shaft = (asset.expected(10.0)["speed"] for asset in plant.assets)
    assert 0.5 < belt < 5.0
    assert 1000.0 < shaft < 3600.0


@pytest.mark.skipif(not shutil.which("mosquitto") or not shutil.which("mosquitto_passwd"), reason="no mosquitto")
def test_the_simulator_logs_in_to_a_broker_that_refuses_anonymous_clients(tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("simulator:sim-s3cret\nreader:read-s3cret\n")
    passwd.chmod(0o600)
    subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True)  # plain text -> hashes
    port = free_port()
    (tmp_path / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\npersistence false\n"
        f"user {getpass.getuser()}\nlog_dest stderr\n"
    )
    broker = subprocess.Popen(["mosquitto", "-c", str(tmp_path / "mosquitto.conf")], stderr=subprocess.DEVNULL)
    received: list[str] = []
    reader = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"reader-{uuid.uuid4().hex[:8]}")
    reader.username_pw_set("reader", "read-s3cret")
    reader.on_connect = lambda c, _u, _f, rc, _p: c.subscribe("mrotest-auth/#", qos=1) if not rc.is_failure else None
    reader.on_message = lambda _c, _u, message: received.append(message.topic)

    def simulator(*args: str, password: str | None = None) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k != "MRO_MQTT_PASSWORD"}
        if password is not None:
            env["MRO_MQTT_PASSWORD"] = password
        command = [sys.executable, "-m", "mro_bridge_sim", "--assets=1", "--modbus-port=0", "--opcua-port=0",
                   "--mqtt-host=127.0.0.1", f"--mqtt-port={port}", "--topic-prefix=mrotest-auth/sim", "--tick=0.2",
                   "--duration=20", *args]  # fmt: skip
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    try:
        for _ in range(100):
            try:
                reader.connect("127.0.0.1", port)
                break
            except OSError:
                time.sleep(0.1)
        reader.loop_start()
        time.sleep(1)  # subscribed
        for args, password in (((), None), (("--mqtt-username=simulator",), "wrong")):
            refused = simulator(*args, password=password)
            assert refused.stdout.readline().strip() == "simulator ready"
            time.sleep(3)
            refused.terminate()
            assert refused.wait(30) == 0
            assert "refused the connection: Not authorized" in refused.stderr.read()
            assert received == []  # an anonymous client or a wrong password publishes nothing
        accepted = simulator("--mqtt-username=simulator", password="sim-s3cret")
        try:
            assert accepted.stdout.readline().strip() == "simulator ready"
            deadline = time.time() + 15
            while not received and time.time() < deadline:
                time.sleep(0.1)
            assert received and received[0].startswith("mrotest-auth/sim/")
        finally:
            accepted.terminate()
            assert accepted.wait(30) == 0
            assert "refused" not in accepted.stderr.read()
    finally:
        reader.loop_stop()
        broker.terminate()
        broker.wait(10)
