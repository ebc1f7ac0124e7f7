"""MQTT source against the real Mosquitto broker (127.0.0.1:1883), and a private TLS Mosquitto for TLS."""

import asyncio
import datetime as dt
import getpass
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import paho.mqtt.client as paho
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from source_helpers import Restarter, collect, free_port, latest, wait_for

from mro_bridge.model import ConfigError
from mro_bridge.sources import mqtt
from mro_bridge.sources.mqtt import PayloadError, parse_timestamp

BROKER = ("127.0.0.1", 1883)


def broker_up() -> bool:
    import socket

    try:
        socket.create_connection(BROKER, timeout=2).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not broker_up(), reason="Mosquitto is not running on 127.0.0.1:1883")


class Publisher:
    """A plain paho client that publishes with QoS 1 and waits for the broker's PUBACK."""

    def __init__(self, port=BROKER[1]):
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
        self.client.connect(BROKER[0], port)
        self.client.loop_start()

    def send(self, topic, payload, qos=1):
        if not isinstance(payload, (str, bytes)):
            payload = json.dumps(payload)
        self.client.publish(topic, payload, qos=qos).wait_for_publish(10)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def forget_session(client_id, port=BROKER[1]):
    """Make the broker drop a persistent session (clean start, expiry 0)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    client.connect(BROKER[0], port, clean_start=True, properties=properties)
    client.loop_start()
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def prefix():
    return f"mrotest/{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client_id():
    cid = f"mrotest-{uuid.uuid4().hex[:10]}"
    yield cid
    forget_session(cid)


@pytest.fixture
def publisher():
    pub = Publisher()
    yield pub
    pub.close()


def make_source(prefix, client_id, tags, **device):
    for tag in tags:
        tag["topic"] = f"{prefix}/{tag['topic']}"
    return mqtt.from_dict(
        {"host": BROKER[0], "port": BROKER[1], "client_id": client_id, "timeout": 5, **device, "tags": tags},
        "mqtt[0]",
    )


async def run_until(src, until, timeout=10.0, publish=None):
    """collect() with ``publish()`` called once the source is subscribed."""

    async def publisher_task():
        await wait_for(lambda: src.stats.extra["subscribed"] > 0, what="subscription")
        await asyncio.to_thread(publish)

    task = asyncio.create_task(publisher_task()) if publish else None
    try:
        return await collect(src, until, timeout)
    finally:
        if task:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def test_topic_filters_map_to_codes(prefix, client_id, publisher):
    src = make_source(
        prefix,
        client_id,
        [
            {"code": "P101-VIB", "topic": "plant/+/P101/vibration"},
            {"code": "ALL-TEMP", "topic": "line2/#", "value_path": "temp"},
            {"code": "M7-RPM", "topic": "motors/M7", "value_path": "data.rpm"},
            {"code": "M7-AMP", "topic": "motors/M7", "value_path": "data.phases.1"},
        ],
    )

    def publish():
        publisher.send(f"{prefix}/plant/hall1/P101/vibration", 4.25)
        publisher.send(f"{prefix}/plant/hall1/P102/vibration", 99)  # matches no filter: not a reading
        publisher.send(f"{prefix}/plant/hall1/extra/P101/vibration", 98)  # '+' is one level only
        publisher.send(f"{prefix}/line2/zone/fan3", {"temp": 41.5})
        publisher.send(f"{prefix}/line2", {"temp": 40.5})  # '#' also matches the parent level
        publisher.send(f"{prefix}/motors/M7", {"data": {"rpm": 1480, "phases": [10.1, 10.4, 10.2]}})

    readings = asyncio.run(run_until(src, lambda r: len(r) >= 5, publish=publish))
    assert sorted((r.code, r.value) for r in readings) == [
        ("ALL-TEMP", 40.5),
        ("ALL-TEMP", 41.5),
        ("M7-AMP", 10.4),
        ("M7-RPM", 1480.0),
        ("P101-VIB", 4.25),
    ]
    assert src.stats.reads == 5


def test_timestamps_from_the_payload(prefix, client_id, publisher):
    src = make_source(prefix, client_id, [{"code": "T", "topic": "t", "value_path": "v", "timestamp_path": "meta.ts"}])
    payloads = [
        {"v": 1, "meta": {"ts": 1700000000}},
        {"v": 2, "meta": {"ts": 1700000000500}},
        {"v": 3, "meta": {"ts": "2024-03-01T10:00:00Z"}},
        {"v": 4, "meta": {"ts": "2024-03-01T12:00:00+02:00"}},
        {"v": 5, "meta": {"ts": "2024-03-01T10:00:00.250"}},
        {"v": 6},
    ]
    before = time.time()
    readings = asyncio.run(
        run_until(src, lambda r: len(r) >= 6, publish=lambda: [publisher.send(f"{prefix}/t", p) for p in payloads])
    )
    ts = {r.value: r.ts for r in readings}
    iso = dt.datetime(2024, 3, 1, 10, tzinfo=dt.timezone.utc).timestamp()
    assert ts[1] == 1700000000
    assert ts[2] == 1700000000.5
    assert ts[3] == ts[4] == iso
    assert ts[5] == iso + 0.25
    assert before <= ts[6] <= time.time()  # no timestamp: the time of arrival


def test_malformed_payloads_are_dead_lettered_and_the_rest_flows(prefix, client_id, publisher):
    src = make_source(
        prefix,
        client_id,
        [{"code": "V", "topic": "v", "value_path": "data.v", "timestamp_path": "ts"}],
        max_payload=200,
    )
    dead = []

    async def dead_letter(key, ts, raw, reason):
        dead.append((key, raw, reason))

    src.dead_letter = dead_letter
    bad = [
        "not json at all",
        {"data": {"v": "12.5"}},
        {"data": {"v": None}},
        {"data": {"v": [1, 2]}},
        {"data": {"w": 1}},
        '{"data": {"v": NaN}}',
        '{"data": {"v": Infinity}}',
        {"data": {"v": 1}, "ts": "yesterday"},
        {"data": {"v": 1, "pad": "x" * 300}},
        b"\xff\xfe\x00",
    ]

    def publish():
        for i, payload in enumerate(bad):
            publisher.send(f"{prefix}/v", {"data": {"v": float(i)}})  # a good one before each bad one
            publisher.send(f"{prefix}/v", payload)
        publisher.send(f"{prefix}/v", {"data": {"v": 100.0}})

    readings = asyncio.run(run_until(src, lambda r: any(x.value == 100.0 for x in r), publish=publish))
    assert [r.value for r in readings] == [float(i) for i in range(len(bad))] + [100.0]
    reasons = [reason for _key, _raw, reason in dead]
    assert len(dead) == len(bad)
    assert reasons[0].startswith("payload is not JSON")
    assert reasons[1] == "value at 'data.v' is str '12.5', not a number"
    assert reasons[2] == "value at 'data.v' is NoneType null, not a number"
    assert reasons[3] == "value at 'data.v' is list [1, 2], not a number"
    assert reasons[4] == "no value at 'data.v'"
    assert reasons[5] == "value at 'data.v' is nan, not a finite number"
    assert reasons[6] == "value at 'data.v' is inf, not a finite number"
    assert reasons[7] == "timestamp 'yesterday' is neither epoch time nor ISO 8601"
    assert reasons[8].startswith("payload of 3") and reasons[8].endswith("bytes exceeds max_payload")
    assert reasons[9] == "payload is not UTF-8 text"
    # value problems name the sensor, payload problems the topic
    assert [key for key, _raw, _reason in dead] == [
        f"{prefix}/v",
        "V",
        "V",
        "V",
        "V",
        "V",
        "V",
        "V",
        f"{prefix}/v",
        f"{prefix}/v",
    ]
    assert dead[0][1] == "not json at all"
    assert src.stats.extra["dead_letters"] == len(bad)
    # all of them were acknowledged: a new connection of the same session gets only what comes next
    readings = asyncio.run(
        run_until(src, lambda r: len(r) >= 1, publish=lambda: publisher.send(f"{prefix}/v", {"data": {"v": 7}}))
    )
    assert [r.value for r in readings] == [7.0]
    assert len(dead) == len(bad)


def test_a_failing_emit_means_redelivery(prefix, client_id, publisher):
    src = make_source(prefix, client_id, [{"code": "A", "topic": "a"}])
    calls = []

    async def failing_emit(batch):
        calls.append(batch)
        raise OSError("spool disk full")

    async def main():
        task = asyncio.create_task(src.run(failing_emit))
        await wait_for(lambda: src.stats.extra["subscribed"] > 0)
        await asyncio.to_thread(publisher.send, f"{prefix}/a", 5.5)
        with pytest.raises(OSError, match="spool disk full"):
            await asyncio.wait_for(task, 10)

    asyncio.run(main())
    assert [r.value for r in calls[0]] == [5.5]
    readings = asyncio.run(collect(src, lambda r: len(r) >= 1))  # no new publication: the broker resends
    assert [r.value for r in readings] == [5.5]


CHILD = """
import asyncio, json, sys
from mro_bridge.sources import mqtt

async def main():
    src = mqtt.from_dict(json.loads(sys.argv[1]), "mqtt[0]")

    async def emit(batch):
        for r in batch:
            print("got", r.code, r.value, flush=True)
        await asyncio.Event().wait()  # never durable: the bridge is about to die

    async def announce():
        while not src.stats.extra["subscribed"]:
            await asyncio.sleep(0.05)
        print("ready", flush=True)

    asyncio.get_running_loop().create_task(announce())
    await src.run(emit)

asyncio.run(main())
"""


def test_qos1_redelivery_after_a_bridge_crash(prefix, client_id, publisher):
    tags = [{"code": "P1", "topic": f"{prefix}/p1", "value_path": "v"}]
    config = {"host": BROKER[0], "port": BROKER[1], "client_id": client_id, "tags": tags}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(config)], stdout=subprocess.PIPE, text=True, bufsize=1
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        publisher.send(f"{prefix}/p1", {"v": 1.5})
        assert child.stdout.readline().strip() == "got P1 1.5"  # received, handed to emit, not yet durable
        os.kill(child.pid, signal.SIGKILL)  # the crash
        child.wait(10)
    finally:
        child.kill()
        child.wait()
    # while the bridge is down, the persistent session queues what is published
    publisher.send(f"{prefix}/p1", {"v": 2.5})
    src = mqtt.from_dict(config, "mqtt[0]")
    readings = asyncio.run(collect(src, lambda r: len(r) >= 2))
    assert [r.value for r in readings] == [1.5, 2.5]
    # acknowledged this time: the next connection gets only new messages
    readings = asyncio.run(
        run_until(src, lambda r: len(r) >= 1, publish=lambda: publisher.send(f"{prefix}/p1", {"v": 3.5}))
    )
    assert [r.value for r in readings] == [3.5]


def test_check_uses_its_own_session(prefix, client_id, publisher):
    publisher.client.publish(f"{prefix}/r", json.dumps({"v": 8}), qos=1, retain=True).wait_for_publish(10)
    publisher.client.publish(f"{prefix}/bad", "oops", qos=1, retain=True).wait_for_publish(10)
    src = make_source(prefix, client_id, [{"code": "R", "topic": "r", "value_path": "v"}, {"code": "S", "topic": "s"}])

    async def main():
        readings = []

        async def emit(batch):
            readings.extend(batch)

        task = asyncio.create_task(src.run(emit))
        try:
            await wait_for(lambda: src.stats.extra["subscribed"] > 0)
            summary = await src.check()  # while the bridge runs with its persistent client id
            assert "R=8" in summary and "1 tag(s) sent nothing" in summary
            await asyncio.to_thread(publisher.send, f"{prefix}/s", 4)
            await wait_for(lambda: any(r.code == "S" for r in readings), what="the running source still reading")
            assert not task.done()  # check() did not take the running session over
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        asyncio.run(main())
        bad = make_source(prefix, client_id, [{"code": "B", "topic": "bad"}])
        with pytest.raises(PayloadError, match="payload is not JSON"):
            asyncio.run(bad.check())
    finally:
        for topic in ("r", "bad"):
            publisher.client.publish(f"{prefix}/{topic}", b"", qos=1, retain=True).wait_for_publish(10)


def test_broker_gone_raises(prefix, client_id):
    src = make_source(prefix, client_id, [{"code": "A", "topic": "a"}], port=free_port())
    with pytest.raises(ConnectionError, match="cannot connect to MQTT broker"):
        asyncio.run(src.check())


def test_parse_timestamp():
    assert parse_timestamp(1700000000) == 1700000000
    assert parse_timestamp("1700000000.5") == 1700000000.5
    assert parse_timestamp(1700000000123456) == pytest.approx(1700000000.123456)
    with pytest.raises(PayloadError):
        parse_timestamp(True)
    with pytest.raises(PayloadError):
        parse_timestamp("2024-13-01")


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2024-01-01T00:00:00", 1_704_067_200.0),  # no offset: UTC, as Odoo's ingest reads it
        ("2024-01-01 01:00:00.5", 1_704_070_800.5),
        ("2024-01-01T00:00:00Z", 1_704_067_200.0),
        ("2024-01-01T01:00:00+01:00", 1_704_067_200.0),
    ],
)
def test_an_iso_time_without_offset_is_utc_as_in_ingest(text, epoch):
    """The suite's one timestamp rule (tests/unit/test_ingest_validate.py checks the same cases on Odoo's
    side): a device time without an offset is UTC, never the bridge machine's local time."""
    assert parse_timestamp(text) == epoch


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"tags": [{"code": "A", "topic": "a/#/b"}]}, r"mqtt\[0\].tags\[0\].topic: 'a/#/b' is not a valid filter"),
        ({"tags": [{"code": "A", "topic": "a/b+"}]}, r"tags\[0\].topic: 'a/b\+' is not a valid filter"),
        ({"tags": [{"code": "A", "topic": "a", "value_path": "data..v"}]}, r"tags\[0\].value_path: must be a dot path"),
        (
            {"tags": [{"code": "A", "topic": "a", "valuepath": "v"}]},
            r"tags\[0\].valuepath: unknown key; did you mean 'value_path'",
        ),
        ({"tags": [{"code": "A", "topic": "a"}], "qos": 1}, r"mqtt\[0\].qos: unknown key"),
        ({"tags": [{"code": "A", "topic": "a"}], "protocol": "3"}, r"mqtt\[0\].protocol: must be one of 5, 3.1.1"),
        (
            {"tags": [{"code": "A", "topic": "a"}], "tls_cert": "c.pem"},
            r"mqtt\[0\].tls_key: tls_cert and tls_key go together",
        ),
        ({"tags": [{"code": "A", "topic": "a"}], "password": "x"}, r"mqtt\[0\].username: is required"),
        ({"tags": [{"code": "A", "topic": "a"}], "max_payload": 0}, r"mqtt\[0\].max_payload: must be at least 16"),
        ({"tags": [{"code": "A", "topic": "a"}, {"code": "A", "topic": "b"}]}, r"tags\[1\].code: 'A' is already fed"),
        ({"tags": [{"code": "A"}]}, r"tags\[0\].topic: is required"),
    ],
)
def test_config_errors_name_the_key(table, message):
    with pytest.raises(ConfigError, match=message):
        mqtt.from_dict({"host": "broker", **table}, "mqtt[0]")


def test_config_defaults():
    src = mqtt.from_dict({"host": "broker", "tags": [{"code": "A", "topic": "a"}]}, "mqtt[0]")
    assert (src.port, src.protocol, src.kind, src.tls, src.dead_letter, src.period) == (
        1883,
        "5",
        "mqtt",
        False,
        None,
        0,
    )
    assert src.client_id.startswith("mro-bridge-") and src.client_id.endswith("broker:1883")
    tls = mqtt.from_dict({"host": "broker", "tls_ca": "ca.pem", "tags": [{"code": "A", "topic": "a"}]}, "mqtt[0]")
    assert (tls.port, tls.tls) == (8883, True)


# -- TLS and passwords, against a private Mosquitto ------------------------------------------------------


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(subject_cn, key, issuer=None, issuer_key=None, ca=False, san=None):
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _write(path, cert=None, key=None):
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return str(path)


@pytest.mark.skipif(not shutil.which("mosquitto") or not shutil.which("mosquitto_passwd"), reason="no mosquitto")
def test_tls_client_certificate_and_password(tmp_path, prefix):
    ca_key, other_key, server_key, client_key = _key(), _key(), _key(), _key()
    ca = _cert("test CA", ca_key, ca=True)
    other_ca = _cert("other CA", other_key, ca=True)
    server = _cert("broker", server_key, ca, ca_key, san=[x509.DNSName("localhost")])
    client = _cert("bridge", client_key, ca, ca_key)
    files = {
        "ca": _write(tmp_path / "ca.pem", ca),
        "other_ca": _write(tmp_path / "other-ca.pem", other_ca),
        "server": _write(tmp_path / "server.pem", server),
        "server_key": _write(tmp_path / "server-key.pem", key=server_key),
        "client": _write(tmp_path / "client.pem", client),
        "client_key": _write(tmp_path / "client-key.pem", key=client_key),
    }
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(tmp_path / "passwd"), "bridge", "s3cret"], check=True)
    port = free_port()
    (tmp_path / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\n"
        f"cafile {files['ca']}\ncertfile {files['server']}\nkeyfile {files['server_key']}\n"
        "require_certificate true\nallow_anonymous false\n"
        f"password_file {tmp_path / 'passwd'}\npersistence false\nuser {getpass.getuser()}\nlog_dest stderr\n"
    )
    os.chmod(tmp_path / "passwd", 0o600)
    broker = subprocess.Popen(["mosquitto", "-c", str(tmp_path / "mosquitto.conf")], stderr=subprocess.PIPE)
    try:

        def source(host="localhost", **settings):
            base = {
                "host": host,
                "port": port,
                "client_id": f"mrotest-tls-{uuid.uuid4().hex[:8]}",
                "timeout": 3,
                "tls_ca": files["ca"],
                "tls_cert": files["client"],
                "tls_key": files["client_key"],
                "username": "bridge",
                "password": "s3cret",
                "tags": [{"code": "S", "topic": f"{prefix}/s", "value_path": "v"}],
            }
            return mqtt.from_dict({**base, **settings}, "mqtt[0]")

        async def wait_listening():
            async def up():
                try:
                    _r, w = await asyncio.open_connection("127.0.0.1", port)
                    w.close()
                    return True
                except OSError:
                    return False

            for _ in range(100):
                if await up():
                    return
                await asyncio.sleep(0.1)

        asyncio.run(wait_listening())
        good = source()
        assert "subscribed to 1 tag(s)" in asyncio.run(good.check())

        def publish():
            pub = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
            pub.tls_set(ca_certs=files["ca"], certfile=files["client"], keyfile=files["client_key"])
            pub.username_pw_set("bridge", "s3cret")
            pub.connect("localhost", port)
            pub.loop_start()
            pub.publish(f"{prefix}/s", json.dumps({"v": 3.25}), qos=1).wait_for_publish(10)
            pub.disconnect()
            pub.loop_stop()

        readings = asyncio.run(run_until(good, lambda r: len(r) >= 1, publish=publish))
        assert latest(readings) == {"S": 3.25}
        with pytest.raises(ConnectionError, match="refused the connection"):
            asyncio.run(source(password="wrong").check())
        with pytest.raises(ConnectionError, match="certificate verify failed"):
            asyncio.run(source(tls_ca=files["other_ca"]).check())
        # the broker's certificate names "localhost", not 127.0.0.1: refused unless tls_insecure
        with pytest.raises(ConnectionError, match="IP address mismatch"):
            asyncio.run(source(host="127.0.0.1").check())
        assert "subscribed" in asyncio.run(source(host="127.0.0.1", tls_insecure=True).check())
        # no client certificate: the broker requires one
        no_cert = source()
        no_cert.tls_cert = no_cert.tls_key = None
        with pytest.raises(ConnectionError, match="closed the connection before accepting it"):
            asyncio.run(no_cert.check())
    finally:
        broker.terminate()
        broker.wait(10)


def test_poison_payloads_through_the_broker_are_dead_lettered_and_acknowledged(prefix, client_id, publisher):
    """Deep nesting, a 5,000-digit integer and 1e400 crashed the source without acknowledging the message:
    the broker sent it again at every reconnection and the connection stayed down."""
    src = make_source(prefix, client_id, [{"code": "V", "topic": "v", "value_path": "v", "timestamp_path": "ts"}])
    dead = []

    async def dead_letter(key, ts, raw, reason):
        dead.append(reason)

    src.dead_letter = dead_letter
    poison = [
        b"[" * 30_000 + b"]" * 30_000,
        b'{"v": ' + b"9" * 5000 + b"}",
        b'{"v": 1e400}',
        b'{"v": 1' + b"0" * 400 + b"}",
        b'{"v": 1, "ts": 1' + b"0" * 400 + b"}",
    ]

    def publish():
        for i, payload in enumerate(poison):
            publisher.send(f"{prefix}/v", payload)
            publisher.send(f"{prefix}/v", {"v": float(i)})  # a good one after each

    readings = asyncio.run(run_until(src, lambda r: len(r) >= len(poison), publish=publish))
    assert [r.value for r in readings] == [float(i) for i in range(len(poison))]
    assert len(dead) == len(poison)
    assert "nested too deep" in dead[0] and "digits" in dead[1] and "not a finite number" in dead[2]
    assert "too large for a float" in dead[3] and "timestamp is an integer too large" in dead[4]
    # acknowledged: the same session's next connection gets only what comes next
    readings = asyncio.run(
        run_until(src, lambda r: len(r) >= 1, publish=lambda: publisher.send(f"{prefix}/v", {"v": 7}))
    )
    assert [r.value for r in readings] == [7.0] and len(dead) == len(poison)


def slow_emit(readings, delay=0.3):
    async def emit(batch):
        readings.extend(batch)
        await asyncio.sleep(delay)  # a slow disk: the queue fills

    return emit


def test_a_qos0_flood_is_bounded_and_counted(prefix, client_id):
    src = make_source(prefix, client_id, [{"code": "F", "topic": "f"}], max_queue=5)
    readings = []
    pub = Publisher()

    async def main():
        task = asyncio.create_task(src.run(slow_emit(readings)))
        await wait_for(lambda: src.stats.extra["subscribed"] > 0)
        await asyncio.to_thread(lambda: [pub.client.publish(f"{prefix}/f", str(i), qos=0) for i in range(300)])
        await wait_for(lambda: src.stats.extra["queue_dropped"] > 0, what="drops")
        await asyncio.sleep(1.0)
        assert not task.done()  # still running
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    try:
        asyncio.run(main())
    finally:
        pub.close()
    assert src.stats.extra["queue_dropped"] + len(readings) <= 300
    assert len(readings) < 300


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_qos1_messages_are_never_lost_to_a_full_queue(prefix, client_id, protocol):
    """MQTT 5: the broker is asked to keep fewer messages in flight than the queue holds (Receive Maximum).
    Whatever overflows anyway (MQTT 3.1.1 has no such limit; brokers overshoot) is left unacknowledged and
    the source reconnects, so that the broker sends it again: all 60 arrive."""
    src = make_source(prefix, client_id, [{"code": "Q", "topic": "q"}], max_queue=3, protocol=protocol)
    pub = Publisher()
    restarts = []

    class SlowRestarter(Restarter):
        async def _emit(self, batch):
            self.readings.extend(batch)
            await asyncio.sleep(0.05)  # a slow disk: the queue fills

    async def main():
        async with SlowRestarter(src) as loop:
            await wait_for(lambda: src.stats.extra["subscribed"] > 0)
            await asyncio.to_thread(lambda: [pub.send(f"{prefix}/q", str(i)) for i in range(60)])
            await wait_for(lambda: {r.value for r in loop.readings} >= set(map(float, range(60))), 30, "all 60")
            restarts.extend(loop.failures)

    try:
        asyncio.run(main())
    finally:
        pub.close()
    if protocol == "3.1.1":  # no Receive Maximum: the broker overfills the queue, the source reconnects
        assert src.stats.extra["queue_dropped"] > 0
        assert any("queue was full" in str(e) for e in restarts)
