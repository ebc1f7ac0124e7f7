"""The bridge on a hostile day: secrets on disk, plain http, a batch Odoo fails as a whole, a flood of dead
letters, and clients of /healthz and /metrics that misbehave.

In-process doubles of Odoo (the ingest contract) and a real XML-RPC server for the transport; the real-Odoo
versions of these attacks are in the repository's tests/security/."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
import threading
import time
import urllib.request
import xmlrpc.client
import xmlrpc.server

import pytest

from mro_bridge import cli
from mro_bridge.config import load, parse, to_toml, write_private
from mro_bridge.http import Status, serve
from mro_bridge.model import ConfigError, Reading
from mro_bridge.odoo import BatchError, PermanentError, TransientError, XmlRpcOdoo
from mro_bridge.pipeline import LONE_FAILURES_BEFORE_SUCCESS, Pipeline
from mro_bridge.spool import Spool
from mro_bridge.supervise import DeviceState

ODOO = {"url": "http://127.0.0.1:8069", "database": "db", "user": "bridge", "api_key": "k"}
MQTT = [{"name": "broker", "host": "127.0.0.1", "tags": [{"code": "A-1", "topic": "plant/a"}]}]


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------------- plain http
@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://odoo:8069", False),
        ("http://10.0.0.5:8069", False),
        ("http://erp.example.com", False),
        ("http://localhost:8069", True),
        ("http://127.0.0.1:8069", True),
        ("http://127.8.9.1", True),
        ("http://[::1]:8069", True),
        ("https://erp.example.com", True),
    ],
)
def test_plain_http_is_refused_except_to_this_machine(url, allowed):
    data = {"odoo": dict(ODOO, url=url), "mqtt": MQTT}
    if allowed:
        assert parse(data).odoo.url == url
    else:
        with pytest.raises(ConfigError, match="plain http") as info:
            parse(data)
        assert info.value.path == "odoo.url" and "allow_insecure_http = true" in str(info.value)
    # ... unless the site says the network is trusted
    data["odoo"]["allow_insecure_http"] = True
    assert parse(data).odoo.allow_insecure_http is True


# ---------------------------------------------------------------------- secrets on disk
@pytest.mark.parametrize("file_mode", [0o644, 0o640, 0o604])
def test_a_file_holding_a_key_must_be_private(tmp_path, file_mode):
    path = tmp_path / "bridge.toml"
    path.write_text(to_toml({"odoo": ODOO, "mqtt": MQTT}))
    path.chmod(file_mode)
    with pytest.raises(ConfigError, match=r"holds a secret and is readable by") as info:
        load(path)
    assert info.value.path == "odoo.api_key" and "chmod 600" in str(info.value)
    path.chmod(0o600)
    assert load(path).odoo.api_key == "k"


def test_an_mqtt_password_counts_as_a_secret_and_env_names_do_not(tmp_path, monkeypatch):
    monkeypatch.setenv("MRO_SEC_KEY", "from-env")
    path = tmp_path / "bridge.toml"
    odoo = {k: v for k, v in ODOO.items() if k != "api_key"} | {"api_key_env": "MRO_SEC_KEY"}
    path.write_text(to_toml({"odoo": odoo, "mqtt": [dict(MQTT[0], username="u", password="p")]}))
    path.chmod(0o644)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.path == "mqtt[0].password"
    path.write_text(to_toml({"odoo": odoo, "mqtt": MQTT}))  # no secret in the file: any mode
    assert load(path).odoo.api_key == "from-env"


def test_secrets_are_written_0600_whatever_the_umask(tmp_path):
    path = tmp_path / "bridge.toml"
    path.write_text("old")
    path.chmod(0o644)
    old = os.umask(0o000)
    try:
        write_private(path, to_toml({"odoo": ODOO, "mqtt": MQTT}))
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert load(path).odoo.user == "bridge"
    assert [p.name for p in tmp_path.iterdir()] == ["bridge.toml"]  # no temporary file left


def test_pull_config_writes_the_file_0600(tmp_path, monkeypatch):
    class FakeOdoo:
        async def get_bridge_config(self):
            return {"gateway": {"code": "LINE1"}, "sensors": [{"code": "A-1", "protocol": "mqtt",
                                                              "device": "broker", "address": "plant/a"}]}  # fmt: skip

        def close(self):
            pass

    monkeypatch.setattr(cli, "_transport", lambda config: FakeOdoo())
    source = tmp_path / "bridge.toml"
    write_private(source, to_toml({"odoo": ODOO, "mqtt": [{"name": "broker", "host": "127.0.0.1"}]}))
    output = tmp_path / "bridge-run.toml"
    old = os.umask(0o022)
    try:
        assert cli.main(["pull-config", "--config", str(source), "--output", str(output)]) == 0
    finally:
        os.umask(old)
    assert mode(output) == 0o600
    assert [t.code for s in load(output).sources for t in s.tags] == ["A-1"]


# ---------------------------------------------------------------------- dead letters
def test_dead_letters_are_capped_and_the_dropped_ones_counted(tmp_path):
    spool = Spool(tmp_path / "s.db", max_dead_letters=5)
    for i in range(8):
        spool.add_dead_letter(f"plant/{i}", 1.0, "{", "payload is not JSON")
    spool.put([Reading("A", float(i), float(i)) for i in range(3)])
    spool.dead_letter([(row, "unknown sensor code") for row in spool.peek(3)])
    assert spool.dead_letters() == 5 and spool.dead_letters_dropped() == 6
    assert [d["code"] for d in spool.list_dead_letters()][::-1] == ["plant/6", "plant/7", "A", "A", "A"]
    spool.close()
    again = Spool(tmp_path / "s.db", max_dead_letters=5)
    assert (again.dead_letters(), again.dead_letters_dropped()) == (5, 6)  # persistent


def test_a_dead_letter_carrying_a_lone_surrogate_is_stored(tmp_path):
    """JSON may carry "\\ud800"; SQLite cannot store it as it is, and a failing dead letter would stall MQTT."""
    spool = Spool(tmp_path / "s.db")
    spool.add_dead_letter("plant/x", 1.0, '"\ud800"', "value at 'v' is str '\ud800', not a number" + "x" * 5000)
    [letter] = spool.list_dead_letters()
    assert letter["value"] == '"\\ud800"' and len(letter["reason"]) <= 1000


# ---------------------------------------------------------------------- a batch Odoo fails as a whole
class PickyOdoo:
    """The ingest contract, failing a whole call when it carries a poisoned value (as PostgreSQL failed on
    an overflowing sum), or more than ``max_items`` (as a body over 16 MiB); ``broken``: fails every call."""

    def __init__(self, poison=(), max_items=None):
        self.poison = set(poison)
        self.max_items = max_items
        self.broken = False
        self.stored: dict[tuple[str, float], float] = {}
        self.calls: list[int] = []

    async def ingest(self, items):
        self.calls.append(len(items))
        if self.broken:
            raise BatchError("Odoo failed: KeyError: 'mro.sensor.reading'")
        if self.max_items is not None and len(items) > self.max_items:
            raise BatchError("Odoo answered HTTP 413 REQUEST ENTITY TOO LARGE: the call is too large")
        if any(value in self.poison for _code, _ts, value in items):
            raise BatchError("Odoo failed: psycopg2.errors.NumericValueOutOfRange: value out of range: overflow")
        accepted = 0
        for code, ts, value in items:
            if (code, ts) not in self.stored:
                self.stored[(code, ts)] = value
                accepted += 1
        return {"accepted": accepted, "duplicates": len(items) - accepted, "rejected": []}


def readings(n, start=1_700_000_000.0):
    return [Reading("A-1", start + i, float(i)) for i in range(n)]


def test_one_poisoned_reading_goes_to_the_dead_letters_and_the_rest_flows(tmp_path):
    async def scenario():
        odoo = PickyOdoo(poison={1.6e308})
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=64)
        batch = readings(100)
        batch[37] = Reading("A-1", batch[37].ts, 1.6e308)
        batch[38] = Reading("A-1", batch[38].ts, 1.6e308)
        await pipe.emit(batch)
        assert await pipe.flush(timeout=10)
        assert len(odoo.stored) == 98 and 1.6e308 not in odoo.stored.values()
        letters = pipe.spool.list_dead_letters()
        assert sorted(d["ts"] for d in letters) == [batch[37].ts, batch[38].ts]
        assert all("Odoo failed on this reading alone" in d["reason"] and "overflow" in d["reason"] for d in letters)
        assert pipe.metrics.bisections > 0 and pipe.metrics.rejected == 2
        # a bisection, not one call per reading
        assert len(odoo.calls) < 40
        pipe.close()

    asyncio.run(scenario())


def test_a_call_too_large_is_split_and_nothing_is_dead_lettered(tmp_path):
    async def scenario():
        odoo = PickyOdoo(max_items=30)
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=100)
        await pipe.emit(readings(100))
        assert await pipe.flush(timeout=10)
        assert len(odoo.stored) == 100 and pipe.spool.dead_letters() == 0
        pipe.close()

    asyncio.run(scenario())


def test_when_odoo_fails_every_call_nothing_is_dead_lettered(tmp_path):
    """A broken Odoo (a module missing, a bug) is not bad data: the spool keeps everything until it is fixed."""

    async def scenario():
        odoo = PickyOdoo()
        odoo.broken = True
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=1000)
        await pipe.emit(readings(1000))
        for _ in range(3):
            with pytest.raises(PermanentError, match="Odoo failed every part of a batch of 1000"):
                await pipe.send_once()
        assert pipe.spool.depth() == 1000 and pipe.spool.dead_letters() == 0
        # bounded work per attempt: a descent to single readings, then a few of them
        assert len(odoo.calls) <= 3 * (10 + 2 * LONE_FAILURES_BEFORE_SUCCESS)
        odoo.broken = False
        assert await pipe.flush(timeout=10)
        assert len(odoo.stored) == 1000 and pipe.spool.dead_letters() == 0
        pipe.close()

    asyncio.run(scenario())


def test_many_poisoned_readings_at_the_head_do_not_stall_the_spool(tmp_path):
    async def scenario():
        odoo = PickyOdoo(poison={-1.0})
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=200)
        head = [Reading("A-1", 1_600_000_000.0 + i, -1.0) for i in range(LONE_FAILURES_BEFORE_SUCCESS + 4)]
        await pipe.emit(head + readings(100))
        for _ in range(4):
            # the first attempt explores from the head, and gives up; the next one from the other end
            with contextlib.suppress(PermanentError):
                await pipe.send_once()
            if not pipe.spool.depth():
                break
        assert pipe.spool.depth() == 0
        assert len(odoo.stored) == 100 and pipe.spool.dead_letters() == len(head)
        pipe.close()

    asyncio.run(scenario())


# ---------------------------------------------------------------------- the transport
@pytest.fixture
def xmlrpc_odoo():
    """A real XML-RPC server speaking as Odoo would: login ok, then faults chosen by the test."""

    class AnyPath(xmlrpc.server.SimpleXMLRPCRequestHandler):
        rpc_paths = ()  # /xmlrpc/2/common and /xmlrpc/2/object alike

    server = xmlrpc.server.SimpleXMLRPCServer(
        ("127.0.0.1", 0), requestHandler=AnyPath, logRequests=False, allow_none=True
    )
    answers: list = []

    def authenticate(db, login, key, context):
        return 7

    def execute_kw(db, uid, key, model, method, args, kwargs=None):
        answer = answers.pop(0)
        if isinstance(answer, xmlrpc.client.Fault):
            raise answer
        return answer

    server.register_function(authenticate)
    server.register_function(execute_kw)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address
    yield f"http://{host}:{port}", answers
    server.shutdown()
    server.server_close()


def test_faults_are_sorted_access_busy_and_batch(xmlrpc_odoo):
    url, answers = xmlrpc_odoo
    odoo = XmlRpcOdoo(url, "db", "bridge", "k")
    cases = [
        (xmlrpc.client.Fault(4, "You are not allowed to create 'Sensor Reading' (mro.sensor.reading) records."),
         PermanentError),
        (xmlrpc.client.Fault(3, "Access Denied"), PermanentError),
        (xmlrpc.client.Fault(1, "Traceback ...\npsycopg2.errors.SerializationFailure: could not serialize"),
         TransientError),
        (xmlrpc.client.Fault(1, "Traceback ...\npsycopg2.errors.NumericValueOutOfRange: value out of range"),
         BatchError),
        (xmlrpc.client.Fault(2, "ingest() takes at most 100000 readings per call, got more; split the batch."),
         BatchError),
    ]  # fmt: skip
    for fault, kind in cases:
        answers.append(fault)
        with pytest.raises(kind) as info:
            asyncio.run(odoo.ingest([["A-1", 1.0, 1.0]]))
        assert type(info.value) is kind, (fault.faultString, type(info.value))
    odoo.close()


def test_the_transport_never_sends_a_body_over_the_limit(xmlrpc_odoo):
    url, answers = xmlrpc_odoo
    odoo = XmlRpcOdoo(url, "db", "bridge", "k", max_request_bytes=20_000)
    answers.append({"accepted": 1, "duplicates": 0, "rejected": []})
    assert asyncio.run(odoo.ingest([["A-1", 1.0, 1.0]]))["accepted"] == 1
    with pytest.raises(BatchError, match="more than the 20000 Odoo takes"):
        asyncio.run(odoo.ingest([["A-1", float(i), 1.0] for i in range(1000)]))
    assert answers == []  # the large call never reached the server
    odoo.close()


# ---------------------------------------------------------------------- /healthz and /metrics
def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def status_with_errors(tmp_path, **kwargs):
    pipe = Pipeline(Spool(tmp_path / "s.db"), PickyOdoo())
    pipe.metrics.odoo_last_error = "Odoo at http://10.1.2.3:8069 is not reachable: [Errno 111] Connection refused"
    devices = [DeviceState("plc1", "modbus", state="down", last_error="ConnectionError: 10.1.2.4:502 refused")]
    return pipe, Status(pipe, devices, **kwargs)


def test_healthz_shows_no_error_text_unless_asked(tmp_path):
    async def scenario(show_errors):
        pipe, status = status_with_errors(tmp_path, show_errors=show_errors)
        server = await serve(status, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _code, body = await asyncio.to_thread(get, port, "/healthz")
        server.close()
        pipe.close()
        return body

    hidden = asyncio.run(scenario(False))
    assert "10.1.2" not in hidden and "last_error" not in hidden
    assert json.loads(hidden)["devices"]["plc1"]["state"] == "down"
    shown = asyncio.run(scenario(True))
    assert json.loads(shown)["odoo"]["last_error"].startswith("Odoo at http://10.1.2.3:8069")
    assert "10.1.2.4:502" in shown


def test_connections_beyond_the_limit_are_refused_and_counted(tmp_path):
    async def scenario():
        pipe, status = status_with_errors(tmp_path)
        server = await serve(status, "127.0.0.1", 0, max_connections=3, request_timeout=30)
        port = server.sockets[0].getsockname()[1]
        idle = []
        for _ in range(3):  # three clients that never send their request
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            idle.append(writer)
        await asyncio.sleep(0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /metrics HTTP/1.0\r\n\r\n")
        try:
            answer = await asyncio.wait_for(reader.read(), 5)
        except ConnectionResetError:
            answer = b""
        assert answer == b""  # closed without an answer
        for w in idle:
            w.close()
        await asyncio.sleep(0.2)
        code, text = await asyncio.to_thread(get, port, "/metrics")  # served again once they are gone
        assert code == 200 and "mro_bridge_http_refused_total 1" in text
        server.close()
        pipe.close()

    asyncio.run(scenario())


def test_a_client_that_drips_its_request_is_cut_off(tmp_path):
    """One header byte every 0.2 s kept a connection open forever (each line had its own 10 s timeout)."""

    async def scenario():
        pipe, status = status_with_errors(tmp_path)
        server = await serve(status, "127.0.0.1", 0, request_timeout=1.0)
        port = server.sockets[0].getsockname()[1]

        def drip():
            sock = socket.create_connection(("127.0.0.1", port))
            sent = 0
            try:
                sock.sendall(b"GET /metrics HTTP/1.1\r\n")
                for _ in range(50):  # 10 s of headers, if the server waited
                    sock.sendall(b"X")
                    sent += 1
                    time.sleep(0.2)
            except OSError:
                pass
            finally:
                sock.close()
            return sent

        sent = await asyncio.to_thread(drip)
        assert sent < 50  # the server hung up before the request was complete
        server.close()
        pipe.close()

    asyncio.run(scenario())


def test_a_huge_request_head_is_refused(tmp_path):
    async def scenario():
        pipe, status = status_with_errors(tmp_path)
        server = await serve(status, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 100_000 + b"\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        assert answer.startswith(b"HTTP/1.1 431")
        writer.close()
        server.close()
        pipe.close()

    asyncio.run(scenario())


def test_an_odoo_without_packed_ingest_gets_lists_and_nothing_is_lost():
    """An Odoo whose addon predates ``ingest_packed`` answers that the method does not exist (having stored
    nothing): the bridge sends the same call as a list at once, and lists from then on. An Odoo that knows
    it gets packed calls; any other fault of a packed call is sorted as before."""

    class AnyPath(xmlrpc.server.SimpleXMLRPCRequestHandler):
        rpc_paths = ()

    server = xmlrpc.server.SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=AnyPath, logRequests=False)
    calls: list[tuple[str, int]] = []
    knows_packed = [False]

    def execute_kw(db, uid, key, model, method, args, kwargs=None):
        calls.append((method, len(args[0]) if method == "ingest" else len(args[0]["codes"])))
        if method == "ingest_packed" and not knows_packed[0]:
            raise xmlrpc.client.Fault(1, f"AttributeError: The method '{model}.{method}' does not exist")
        if method == "ingest_packed" and len(args[0]["codes"]) > 2:
            raise xmlrpc.client.Fault(1, "psycopg2.errors.NumericValueOutOfRange: value out of range")
        count = len(args[0]) if method == "ingest" else len(args[0]["sensor"].data) // 4
        return {"accepted": count, "duplicates": 0, "rejected": []}

    server.register_function(lambda db, login, key, context: 7, "authenticate")
    server.register_function(execute_kw)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address
    url = f"http://{host}:{port}"
    items = [["A", 1_790_000_000.0, 1.0], ["B", 1_790_000_000.0, 2.0]]
    try:
        old = XmlRpcOdoo(url, "db", "bridge", "k")
        assert asyncio.run(old.ingest(items))["accepted"] == 2
        assert asyncio.run(old.ingest(items))["accepted"] == 2
        assert calls == [("ingest_packed", 2), ("ingest", 2), ("ingest", 2)] and not old.packed
        calls.clear()
        knows_packed[0] = True
        new = XmlRpcOdoo(url, "db", "bridge", "k")
        assert asyncio.run(new.ingest(items))["accepted"] == 2
        with pytest.raises(BatchError, match="value out of range"):  # not taken for an old addon
            asyncio.run(new.ingest([*items, ["C", 1_790_000_000.0, 3.0]]))
        # An item that is not [text, number, number] goes as a list: Odoo names it in its answer.
        assert asyncio.run(new.ingest([["A", 1_790_000_001.0, "1.5"]]))["accepted"] == 1
        assert calls == [("ingest_packed", 2), ("ingest_packed", 3), ("ingest", 1)] and new.packed
        old.close()
        new.close()
    finally:
        server.shutdown()
        server.server_close()
