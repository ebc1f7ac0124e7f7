"""The bridge's core: configuration, spool, pipeline, supervisor, HTTP endpoints, CLI.

Sources here are in-process test doubles of a PLC (the protocol sources have their own tests against real
servers); Odoo is a small in-process stand-in with the ingest contract (the real-Odoo tests are in the
repository's tests/test_bridge_odoo.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request

import pytest

from mro_bridge import cli
from mro_bridge.config import SupervisorConfig, load, parse, to_toml, write_private
from mro_bridge.http import Status, serve
from mro_bridge.model import ConfigError, Reading, Source, TagCommon
from mro_bridge.odoo import PermanentError, TransientError
from mro_bridge.pipeline import Deadband, Pipeline
from mro_bridge.spool import Spool
from mro_bridge.supervise import DeviceState, backoff_delay, supervise

BASE = {
    "odoo": {"url": "http://127.0.0.1:8069", "database": "db", "user": "bridge", "api_key": "k"},
    "mqtt": [{"name": "broker", "host": "127.0.0.1", "tags": [{"code": "A-1", "topic": "plant/a"}]}],
}


def write(tmp_path, text, mode=0o600):
    """The bridge's file, readable by its owner only (as the bridge requires of a file holding a key)."""
    path = tmp_path / "bridge.toml"
    path.write_text(textwrap.dedent(text))
    path.chmod(mode)
    return path


# ---------------------------------------------------------------------- configuration
def test_a_valid_file_loads_with_defaults(tmp_path):
    path = write(
        tmp_path,
        """
        [odoo]
        url = "http://odoo:8069/"
        allow_insecure_http = true
        database = "mro"
        user = "bridge-line1"
        api_key_env = "MRO_TEST_KEY"
        [spool]
        path = "spool.db"
        [[mqtt]]
        name = "broker"
        host = "127.0.0.1"
        [[mqtt.tags]]
        code = "P1-VIB"
        topic = "plant/p1"
        deadband = 0.1
        """,
    )
    os.environ["MRO_TEST_KEY"] = "secret"
    config = load(path)
    assert config.odoo.url == "http://odoo:8069" and config.odoo.api_key == "secret"
    assert config.spool.path == str(tmp_path / "spool.db")  # relative to the file
    assert config.batch.size == 5000 and config.spool.overflow == "drop_oldest"
    assert config.spool.max_dead_letters == 100_000
    assert (config.http.show_errors, config.http.max_connections, config.http.request_timeout) == (False, 16, 10.0)
    assert [t.code for s in config.sources for t in s.tags] == ["P1-VIB"]


@pytest.mark.parametrize(
    ("change", "where", "what"),
    [
        (lambda d: d["odoo"].pop("api_key"), "odoo.api_key", "required"),
        (lambda d: d["odoo"].update(url="odoo:8069"), "odoo.url", "http://"),
        (lambda d: d.update(batch={"flush_intervall": 2}), "batch.flush_intervall", "did you mean 'flush_interval'"),
        (lambda d: d.update(spool={"overflow": "drop_newest"}), "spool.overflow", "drop_oldest"),
        (lambda d: d.update(batch={"size": 0}), "batch.size", "at least 1"),
        (lambda d: d.update(http={"listen": "localhost"}), "http.listen", "host:port"),
        (
            lambda d: d.update(supervisor={"backoff_initial": 10, "backoff_max": 1}),
            "supervisor.backoff_max",
            "at least",
        ),
        (lambda d: d["mqtt"].append(dict(d["mqtt"][0], name="other")), "mqtt 'other'", "already read by"),
        (
            lambda d: d["odoo"].update(api_key_env="MRO_UNSET_VAR", api_key=None) or d["odoo"].pop("api_key"),
            "odoo.api_key_env",
            "MRO_UNSET_VAR is not set",
        ),  # fmt: skip
        (lambda d: d.update(modbus={"name": "x"}), "modbus", "[[modbus]]"),
    ],
)
def test_configuration_errors_name_the_key(change, where, what):
    data = json.loads(json.dumps(BASE))
    change(data)
    with pytest.raises(ConfigError) as info:
        parse(data)
    assert info.value.path.startswith(where) or where in str(info.value), str(info.value)
    assert what in str(info.value)


def test_a_file_that_is_not_toml_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(write(tmp_path, "[odoo\nurl = 1"))


# ---------------------------------------------------------------------- spool
def readings(n, code="A-1", start=1_700_000_000.0):
    return [Reading(code, start + i, float(i)) for i in range(n)]


def test_spool_keeps_readings_across_restarts_until_acknowledged(tmp_path):
    spool = Spool(tmp_path / "s.db", max_rows=100)
    spool.put(readings(10))
    rows = spool.peek(4)
    assert [r.value for r in rows] == [0.0, 1.0, 2.0, 3.0]
    spool.ack([r.id for r in rows])
    spool.close()
    again = Spool(tmp_path / "s.db", max_rows=100)
    assert again.depth() == 6
    assert again.peek(1)[0].value == 4.0


def test_spool_cap_drops_the_oldest_and_counts_them(tmp_path):
    spool = Spool(tmp_path / "s.db", max_rows=25)
    for k in range(4):
        spool.put(readings(10, start=1_700_000_000.0 + 100 * k))
    assert spool.depth() == 25
    assert spool.dropped() == 15
    assert spool.peek(1)[0].ts == 1_700_000_000.0 + 100 + 5  # the 15 oldest went
    spool.close()
    assert Spool(tmp_path / "s.db", max_rows=25).dropped() == 15  # the counter persists


def test_dead_letters_leave_the_queue_with_their_reason(tmp_path):
    spool = Spool(tmp_path / "s.db")
    spool.put(readings(3))
    rows = spool.peek(3)
    spool.dead_letter([(rows[1], "unknown sensor code")])
    spool.add_dead_letter("plant/x", 1.0, "{not json", "payload is not JSON")
    assert spool.depth() == 2 and spool.dead_letters() == 2
    reasons = {d["reason"] for d in spool.list_dead_letters()}
    assert reasons == {"unknown sensor code", "payload is not JSON"}


def test_spool_survives_sigkill_mid_write(tmp_path):
    """A writer killed at a random moment leaves a spool holding exactly the committed batches."""
    path = tmp_path / "s.db"
    code = textwrap.dedent(
        f"""
        import sys
        from mro_bridge.spool import Spool
        from mro_bridge.model import Reading
        spool = Spool({str(path)!r})
        k = 0
        while True:
            spool.put([Reading("A", k * 100 + i, float(k)) for i in range(100)])
            print(k, flush=True)
            k += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    committed = -1
    deadline = time.time() + 30
    while committed < 50 and time.time() < deadline:
        committed = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    spool = Spool(path)
    assert spool.depth() % 100 == 0  # whole batches only
    assert spool.depth() >= (committed + 1) * 100  # nothing acknowledged was lost
    values = [r.value for r in spool.peek(10**6)]
    assert values == sorted(values)


# ---------------------------------------------------------------------- pipeline
class FakeOdoo:
    """The ingest contract in-process: accepts everything, rejects codes in ``unknown``, remembers
    (code, ts) so replays count as duplicates; ``down`` raises TransientError."""

    def __init__(self, unknown=()):
        self.unknown = set(unknown)
        self.stored: dict[tuple[str, float], float] = {}
        self.down = False
        self.calls = 0

    async def ingest(self, items):
        self.calls += 1
        if self.down:
            raise TransientError("connection refused")
        accepted = duplicates = 0
        rejected = []
        for i, (code, ts, value) in enumerate(items):
            if code in self.unknown:
                rejected.append({"index": i, "reason": f"unknown sensor code {code!r}"})
            elif (code, ts) in self.stored:
                duplicates += 1
            else:
                self.stored[(code, ts)] = value
                accepted += 1
        return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}


def test_readings_leave_the_spool_only_after_odoo_answers(tmp_path):
    async def scenario():
        odoo = FakeOdoo(unknown={"GHOST"})
        spool = Spool(tmp_path / "s.db")
        pipe = Pipeline(spool, odoo, batch_size=7)
        await pipe.emit([*readings(10), Reading("GHOST", 1.0, 1.0)])
        odoo.down = True
        with pytest.raises(TransientError):
            await pipe.send_once()
        assert spool.depth() == 11  # nothing removed while Odoo is down
        odoo.down = False
        assert await pipe.flush(timeout=5)
        assert len(odoo.stored) == 10
        assert spool.dead_letters() == 1
        assert spool.list_dead_letters()[0]["reason"] == "unknown sensor code 'GHOST'"
        # A replay (e.g. after a crash before the ack) is harmless: duplicates.
        await pipe.emit(readings(3))
        assert await pipe.flush(timeout=5)
        assert len(odoo.stored) == 10 and pipe.metrics.duplicates == 3
        pipe.close()

    asyncio.run(scenario())


def test_sender_retries_until_odoo_is_back(tmp_path):
    async def scenario():
        odoo = FakeOdoo()
        odoo.down = True
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=50, flush_interval=0.05, retry_initial=0.05)
        sender = asyncio.create_task(pipe.sender())
        await pipe.emit(readings(120))
        await asyncio.sleep(0.5)
        assert odoo.calls >= 2 and not odoo.stored
        odoo.down = False
        for _ in range(100):
            if len(odoo.stored) == 120:
                break
            await asyncio.sleep(0.05)
        sender.cancel()
        assert len(odoo.stored) == 120 and pipe.spool.depth() == 0
        pipe.close()

    asyncio.run(scenario())


def test_large_rounds_are_prepared_and_settled_off_the_event_loop(tmp_path, monkeypatch):
    """Rounds of thousands of readings (their per-row work in a worker thread): every reading reaches Odoo once,
    the rejected ones reach the dead letters with Odoo's reason, an outage keeps what was answered, a replay
    is harmless; and the event loop keeps its turns while the rounds are split and settled."""
    from mro_bridge import pipeline

    threads = set()
    for name in ("_items", "_settlement"):
        real = getattr(pipeline, name)

        def spy(*args, _real=real, _name=name):
            threads.add((_name, threading.current_thread() is threading.main_thread()))
            return _real(*args)

        monkeypatch.setattr(pipeline, name, spy)

    async def scenario():
        odoo = FakeOdoo(unknown={"GHOST"})
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=2000, in_flight=2)
        codes = [f"S-{k:03d}" for k in range(200)]
        sent = [Reading(codes[i % 200], 1_700_000_000.0 + i // 200, float(i)) for i in range(30_000)]
        sent[123] = Reading("GHOST", 1.0, 1.0)
        await pipe.emit(sent)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        beat = asyncio.create_task(ticker())
        # A backlog: two calls of up to 8,000 (four batches each), split by sensor.
        assert await pipe.send_round() == 16_000
        odoo.down = True
        with pytest.raises(TransientError):
            await pipe.send_round()
        assert pipe.spool.depth() == 14_000
        odoo.down = False
        assert await pipe.flush(timeout=30)
        beat.cancel()
        assert len(odoo.stored) == 29_999 and pipe.spool.depth() == 0
        assert pipe.spool.dead_letters() == 1 and pipe.metrics.rejected == 1
        assert pipe.metrics.accepted == 29_999 and pipe.metrics.sent == 29_999
        assert ticks > 10  # the loop ran other tasks while the rounds were prepared and settled
        await pipe.emit(sent[:2000])  # a replay after a crash before the acknowledgement
        assert await pipe.flush(timeout=30)
        assert pipe.metrics.duplicates == 1999 and len(odoo.stored) == 29_999
        pipe.close()

    asyncio.run(scenario())
    assert threads == {("_items", False), ("_settlement", False)}  # always in a worker thread at this size


@pytest.mark.parametrize(
    "answer",
    ["OK", ["accepted", 3], {"accepted": "3"}, {"accepted": 3, "rejected": "none"}, {"rejected": [5]}, None],
)
def test_an_answer_that_is_not_an_ingest_answer_keeps_the_readings(tmp_path, answer):
    """A server that answers nonsense (a proxy, a wrong URL, a hostile one): nothing acknowledged, nothing
    dead-lettered, the sender keeps running; the readings go once a real Odoo answers."""

    class Odd(FakeOdoo):
        async def ingest(self, items):
            return answer if self.odd else await super().ingest(items)

    async def scenario():
        odoo = Odd()
        odoo.odd = True
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=10)
        await pipe.emit(readings(5))
        with pytest.raises(PermanentError, match="not an ingest answer"):
            await pipe.send_round()
        assert pipe.spool.depth() == 5 and pipe.spool.dead_letters() == 0 and pipe.metrics.sent == 0
        odoo.odd = False
        assert await pipe.flush(timeout=5)
        assert len(odoo.stored) == 5 and pipe.spool.dead_letters() == 0
        pipe.close()

    asyncio.run(scenario())


def test_a_backlog_is_sent_in_larger_calls(tmp_path):
    async def scenario():
        odoo = FakeOdoo()
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=100)
        await pipe.emit(readings(950))
        sizes = []
        while pipe.spool.depth():
            sizes.append(await pipe.send_once())
        assert sizes == [400, 400, 100, 50]  # four batches a call while two or more wait, then one
        assert len(odoo.stored) == 950
        pipe.close()

    asyncio.run(scenario())


def test_deadband_absolute_percent_and_heartbeat():
    tags = {
        "ABS": TagCommon("ABS", deadband=0.5, max_silence=60),
        "PCT": TagCommon("PCT", deadband=10, deadband_mode="percent"),
        "ALL": TagCommon("ALL"),
    }
    band = Deadband(tags)
    kept = [band.keep(Reading("ABS", t, v)) for t, v in [(0, 1.0), (1, 1.4), (2, 1.6), (3, 2.0), (70, 2.0)]]
    assert kept == [True, False, True, False, True]  # moved > 0.5 from 1.0; then the 60 s heartbeat
    kept = [band.keep(Reading("PCT", t, v)) for t, v in [(0, 100.0), (1, 109.0), (2, 111.0), (3, 121.0)]]
    assert kept == [True, False, True, False]  # 10% of the last kept value (100, then 111)
    assert all(band.keep(Reading("ALL", t, 5.0)) for t in range(5))
    mixed = [Reading("ABS", 100.0, 2.6), Reading("ALL", 6.0, 5.0), Reading("ABS", 101.0, 2.7)]
    assert band.filter(mixed) == mixed[:2]  # one tag with a deadband: every reading looked at


def test_readings_of_tags_without_a_deadband_are_all_kept_as_a_whole():
    band = Deadband({"A": TagCommon("A"), "B": TagCommon("B", max_silence=60)})
    readings = [Reading(code, float(t), 5.0) for t in range(3) for code in ("A", "B", "unknown")]
    assert band.filter(readings) is readings


# ---------------------------------------------------------------------- supervisor
class FakeDevice(Source):
    """A device whose behaviour the test scripts: fail N times, or go silent, or produce steadily."""

    kind = "fake"

    def __init__(self, name, fail_times=0, silent=False, period=0.05):
        super().__init__(name)
        self.fail_times, self.silent, self._period = fail_times, silent, period
        self.connects = 0

    @property
    def period(self):
        return self._period

    @property
    def tags(self):
        return [TagCommon(f"{self.name}-T")]

    async def run(self, emit):
        self.connects += 1
        if self.connects <= self.fail_times:
            raise ConnectionRefusedError("device refused the connection")
        while True:
            if not self.silent:
                await emit([Reading(f"{self.name}-T", time.time(), 1.0)])
            await asyncio.sleep(self._period)

    async def check(self):
        return "ok"


def test_backoff_has_full_jitter_within_bounds():
    rng = random.Random(1)
    delays = [backoff_delay(k, 1.0, 8.0, rng) for k in range(10) for _ in range(50)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert max(backoff_delay(0, 1.0, 8.0, rng) for _ in range(50)) <= 1.0
    assert max(delays) > 6.0  # grows to the cap


def test_a_failing_device_is_demoted_and_never_stalls_another():
    async def scenario():
        got = []

        async def emit(batch):
            got.extend(batch)

        config = SupervisorConfig(
            backoff_initial=0.01, backoff_max=0.02, silent_periods=3, demote_after=3, demote_for=60
        )
        bad, good = FakeDevice("bad", fail_times=10**6), FakeDevice("good")
        states = [DeviceState("bad", "fake"), DeviceState("good", "fake")]
        tasks = [asyncio.create_task(supervise(d, emit, config, s)) for d, s in zip((bad, good), states, strict=False)]
        await asyncio.sleep(1.0)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert states[0].state == "demoted" and bad.connects == 3
        assert "refused the connection" in states[0].last_error
        assert states[1].state == "up" and sum(r.code == "good-T" for r in got) > 5

    asyncio.run(scenario())


def test_connected_but_silent_counts_as_down_and_reconnects():
    async def scenario():
        async def emit(batch):
            pass

        config = SupervisorConfig(backoff_initial=0.01, backoff_max=0.02, silent_periods=3, demote_after=100)
        device, state = FakeDevice("mute", silent=True), DeviceState("mute", "fake")
        task = asyncio.create_task(supervise(device, emit, config, state))
        await asyncio.sleep(1.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert device.connects >= 2
        assert "SilentDevice" in state.last_error

    asyncio.run(scenario())


# ---------------------------------------------------------------------- HTTP
def test_healthz_and_metrics(tmp_path):
    async def scenario():
        spool = Spool(tmp_path / "s.db", max_rows=5)
        pipe = Pipeline(spool, FakeOdoo())
        await pipe.emit(readings(8))
        devices = [DeviceState("plc1", "modbus", state="up", reads=8), DeviceState("opc1", "opcua", state="down")]
        server = await serve(Status(pipe, devices), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        def get(path):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        code, body = await asyncio.to_thread(get, "/healthz")
        health = json.loads(body)
        assert code == 200 and health["status"] == "degraded"
        assert health["devices"]["opc1"]["state"] == "down" and health["spool"]["dropped"] == 3
        code, text = await asyncio.to_thread(get, "/metrics")
        assert 'mro_bridge_device_up{device="plc1",kind="modbus"} 1' in text
        assert 'mro_bridge_device_up{device="opc1",kind="opcua"} 0' in text
        assert "mro_bridge_spool_depth 5" in text and "mro_bridge_spool_dropped_total 3" in text
        assert "# TYPE mro_bridge_odoo_write_seconds summary" in text
        assert (await asyncio.to_thread(get, "/nope"))[0] == 404
        server.close()
        pipe.close()

    asyncio.run(scenario())


# ---------------------------------------------------------------------- CLI
def test_check_reports_a_configuration_error_with_exit_code_2(tmp_path, capsys):
    path = write(tmp_path, '[odoo]\nurl = "http://x"\ndatabase = "d"\nuser = "u"\n')
    assert cli.main(["check", "--config", str(path)]) == 2
    assert "odoo.api_key: is required" in capsys.readouterr().err


#: A configuration whose Odoo and device nothing answers (port 9).
UNREACHABLE = """
[odoo]
url = "http://127.0.0.1:9"
database = "d"
user = "u"
api_key = "k"
[[modbus]]
name = "plc9"
host = "127.0.0.1"
port = 9
timeout = 1
[[modbus.tags]]
code = "X"
address = 0
"""


def test_check_says_what_it_could_not_reach(tmp_path, capsys):
    path = write(tmp_path, UNREACHABLE)
    assert cli.main(["check", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  odoo: Odoo at http://127.0.0.1:9 is not reachable" in out
    assert "FAIL  modbus plc9" in out


def test_pull_config_maps_odoo_sensors_onto_the_files_devices(tmp_path):
    raw = {
        "odoo": dict(BASE["odoo"]),
        "modbus": [{"name": "plc1", "host": "10.0.0.5", "tags": [{"code": "OLD", "address": 9}]}],
        "mqtt": [{"name": "broker", "host": "mqtt"}],
        "opcua": [{"name": "unused", "url": "opc.tcp://x:4840"}],
    }
    sensors = [
        {"code": "P1-VIB", "protocol": "modbus", "device": "plc1", "address": "100", "register_type": "holding",
         "address_base": 0, "data_type": "float32", "byte_order": "CDAB", "bit": -1, "scale": 1.0, "offset": 0.0,
         "poll_interval": 2.0, "deadband": 0.05, "deadband_mode": "absolute", "max_silence": 60.0},
        {"code": "F1-TEMP", "protocol": "mqtt", "device": "broker", "address": "plant/f1", "value_path": "data.t",
         "ts_path": "ts", "deadband": 0.0, "deadband_mode": "absolute", "max_silence": 0.0},
        {"code": "MAN", "protocol": "manual", "device": "", "address": ""},
    ]  # fmt: skip
    merged, warnings = cli.merge_tags(raw, sensors)
    assert [t["code"] for t in merged["modbus"][0]["tags"]] == ["P1-VIB"]
    assert merged["modbus"][0]["tags"][0]["byte_order"] == "CDAB" and merged["modbus"][0]["host"] == "10.0.0.5"
    assert merged["mqtt"][0]["tags"][0] == {
        "code": "F1-TEMP", "topic": "plant/f1", "value_path": "data.t", "timestamp_path": "ts", "deadband": 0.0,
        "deadband_mode": "absolute", "max_silence": 0.0,
    }  # fmt: skip
    assert "opcua" not in merged and any("'unused'" in w for w in warnings)
    path = tmp_path / "full.toml"
    write_private(path, to_toml(merged))
    config = load(path)  # what pull-config writes loads
    assert sorted(t.code for s in config.sources for t in s.tags) == ["F1-TEMP", "P1-VIB"]
    with pytest.raises(ConfigError, match="modbus 'plc2'"):
        cli.merge_tags(raw, [dict(sensors[0], device="plc2")])


def test_a_file_for_pull_config_may_list_devices_without_tags(tmp_path):
    path = tmp_path / "bridge.toml"
    raw = {"odoo": dict(BASE["odoo"]), "modbus": [{"name": "plc1", "host": "10.0.0.5"}]}
    write_private(path, to_toml(raw))
    assert load(path, require_sources=False).sources == []  # the tags come from Odoo
    with pytest.raises(ConfigError, match=r"modbus\[0\]\.tags: needs at least one"):
        load(path)  # but the bridge cannot run from it


def test_run_stops_cleanly_on_sigterm_and_flushes(tmp_path):
    """`mro-bridge run` as a process: SIGTERM stops it with exit code 0 and the spool closed."""
    path = write(
        tmp_path,
        """
        [odoo]
        url = "http://127.0.0.1:9"
        database = "d"
        user = "u"
        api_key = "k"
        [http]
        listen = ""
        [[mqtt]]
        name = "broker"
        host = "127.0.0.1"
        [[mqtt.tags]]
        code = "X"
        topic = "mro-test/never"
        """,
    )
    proc = subprocess.Popen([sys.executable, "-m", "mro_bridge.cli", "run", "--config", str(path)],
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    log = [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]
    events = [e.get("event") for e in log]
    assert "start" in events and events[-1] == "stopped"
    assert not math.isnan(log[-1]["spool_depth"])


def test_logs_carry_the_extra_fields_in_both_formats():
    record = logging.LogRecord("mro_bridge.supervise", logging.WARNING, __file__, 1, "device down", (), None)
    record.device, record.event = "plc1", "device_down"
    as_json = json.loads(cli.JsonFormatter().format(record))
    assert (as_json["msg"], as_json["device"], as_json["event"], as_json["level"]) == (
        "device down",
        "plc1",
        "device_down",
        "WARNING",
    )
    assert (
        cli.TextFormatter()
        .format(record)
        .endswith("WARNING mro_bridge.supervise: device down device=plc1 event=device_down")
    )


def test_run_makes_full_garbage_collections_rare_and_only_for_the_bridge(tmp_path, monkeypatch):
    """``mro-bridge run`` raises the full collection threshold (collections held the loop and skipped polls),
    keeps the young ones as they are, and ``check`` leaves the interpreter's settings alone."""
    path = write(tmp_path, UNREACHABLE)
    import gc

    before = gc.get_threshold()
    seen = {}

    async def fake(config, *args):
        seen[config.sources[0].name] = gc.get_threshold()
        return 0

    monkeypatch.setattr(cli, "run", fake)
    monkeypatch.setattr(cli, "check", fake)
    try:
        gc.set_threshold(700, 10, 10)
        assert cli.main(["check", "--config", str(path)]) == 0
        assert seen.pop("plc9") == (700, 10, 10)
        assert cli.main(["run", "--config", str(path)]) == 0
        assert seen.pop("plc9") == (700, 10, cli.FULL_COLLECTION_EVERY)
        assert cli.FULL_COLLECTION_EVERY >= 50
    finally:
        gc.set_threshold(*before)
